-- baton.llm.ollama: a local Ollama server through its OpenAI-compatible
-- endpoint (<OLLAMA_HOST>/v1/chat/completions, default 127.0.0.1:11434). No key.
-- Model "ollama:qwen2.5-coder:7b" asks for "qwen2.5-coder:7b" (split on the
-- first colon only). Ollama's quirks (object arguments, missing tool-call ids,
-- finish_reason "stop" with tool calls) are absorbed by baton.llm.openai.
local openai = require "baton.llm.openai"
local wire = require "baton.llm.wire"

local M = {}

-- OLLAMA_HOST as Ollama itself reads it: "host:port", "host", or a URL.
function M.base()
  local host = wire.env("OLLAMA_HOST") or "127.0.0.1:11434"
  if not host:find("^https?://") then
    if not host:find(":%d+$") then host = host .. ":11434" end
    host = "http://" .. host
  end
  return host:gsub("/+$", "") .. "/v1"
end

function M.chat(req, spec, opts)
  return openai.call(req, spec, opts, { provider = "ollama", base = M.base() })
end

return M
