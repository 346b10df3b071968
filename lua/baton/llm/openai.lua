-- baton.llm.openai: the chat-completions API, spoken by OpenAI and by every
-- OpenAI-compatible server (OPENAI_BASE_URL / OPENAI_API_BASE; ollama.lua reuses
-- it). Builds the request body from a provider-neutral request, parses replies
-- and assembles streamed deltas (tool calls by index). Tolerates servers that
-- send tool arguments as an object or tool calls without ids.
local json = require "baton.json"
local wire = require "baton.llm.wire"

local M = {}

local EMPTY_PARAMS = { type = "object", properties = {} }

M.DEFAULT_BASE = "https://api.openai.com/v1"

local tool_cache, tool_lists = wire.tool_cache(), wire.tool_cache()
local function wire_tool(t)
  return { type = "function", ["function"] = { name = t.name, description = t.description,
    parameters = json.encoded(t.parameters and wire.schema_copy_cached(t.parameters) or EMPTY_PARAMS) } }
end

-- The request body for req. opts.official: talking to api.openai.com, which
-- wants max_completion_tokens (newer models reject max_tokens).
function M.body(req, spec, opts)
  -- the messages in the wire form (the system prompt first), written by the
  -- encoder itself (json.chat_messages; tool calls with JSON-string arguments)
  local system = req.system ~= "" and req.system or nil
  local b = { model = spec.name, messages = json.chat_messages(system, req.messages or {}), temperature = req.temperature }
  if req.max_tokens then b[opts.official and "max_completion_tokens" or "max_tokens"] = req.max_tokens end
  if req.tools and #req.tools > 0 then
    b.tools = wire.tool_list_raw(tool_lists, req.tools, tool_cache, wire_tool)
  end
  if req.schema then
    b.response_format = { type = "json_schema",
      json_schema = { name = "reply", strict = false, -- copied per request: it may change in place
                      schema = wire.schema_copy(req.schema) } }
  end
  if opts.stream then
    b.stream = true
    b.stream_options = { include_usage = true }
  end
  return b
end

local function usage_of(u)
  u = u or {}
  return { input_tokens = u.prompt_tokens or 0, output_tokens = u.completion_tokens or 0 }
end

local function finish_reason(fr, calls)
  if #calls > 0 and (fr == nil or fr == "stop") then return "tool_calls" end
  return fr or "stop"
end

local function tool_call(c, i)
  local fn = c["function"] or {}
  local args, err = wire.arguments(fn.arguments)
  return { id = c.id or ("call_" .. i), name = fn.name, arguments = args, error = err }
end

-- A decoded non-streamed reply -> {text, tool_calls, usage, finish_reason}.
function M.parse(t, provider)
  local choice = type(t.choices) == "table" and t.choices[1]
  if type(choice) ~= "table" or type(choice.message) ~= "table" then
    return nil, provider .. ": malformed reply (no choices[1].message)", "server"
  end
  local msg, calls = choice.message, {}
  for i, c in ipairs(msg.tool_calls or {}) do calls[i] = tool_call(c, i) end
  return { text = type(msg.content) == "string" and msg.content or "", tool_calls = calls,
           usage = usage_of(t.usage), finish_reason = finish_reason(choice.finish_reason, calls) }
end

-- A stream assembler: feed(ev) for each SSE event, then result().
function M.assembler(provider, on_delta)
  local text, slots, order = {}, {}, {}
  local st = {}
  local function slot(tc, pos)
    local idx = math.tointeger(tc.index) or pos
    local s = slots[idx]
    if not s then
      s = { args = {} }
      slots[idx] = s
      order[#order + 1] = idx
    end
    return s
  end
  function st.feed(ev)
    st.seen = true
    if st.err or ev.data == nil or ev.data == "" or ev.data == "[DONE]" then return end
    local chunk, err = json.decode(ev.data, true)
    if type(chunk) ~= "table" then
      st.err = { provider .. ": malformed stream event (" .. (err or "not an object") .. ")", "server" }
      return
    end
    if chunk.error then st.err = { provider .. ": " .. wire.error_message(ev.data), "server" } return end
    if chunk.usage then st.usage = usage_of(chunk.usage) end
    local choice = chunk.choices and chunk.choices[1]
    if type(choice) ~= "table" then return end
    st.finish = choice.finish_reason or st.finish
    local d = choice.delta or {}
    if type(d.content) == "string" and d.content ~= "" then
      text[#text + 1] = d.content
      if on_delta then on_delta(d.content) end
    end
    for pos, tc in ipairs(d.tool_calls or {}) do
      local s = slot(tc, pos)
      local fn = tc["function"] or {}
      s.id = s.id or tc.id
      s.name = s.name or fn.name
      if type(fn.arguments) == "table" then s.object = fn.arguments
      elseif type(fn.arguments) == "string" then s.args[#s.args + 1] = fn.arguments end
    end
  end
  function st.result()
    if st.err then return nil, st.err[1], st.err[2] end
    table.sort(order)
    local calls = {}
    for i, idx in ipairs(order) do
      local s = slots[idx]
      calls[i] = tool_call({ id = s.id, ["function"] = { name = s.name,
        arguments = s.object or table.concat(s.args) } }, i)
    end
    return { text = table.concat(text), tool_calls = calls, usage = st.usage or usage_of(nil),
             finish_reason = finish_reason(st.finish, calls), streamed = true }
  end
  return st
end

-- The chat endpoint under a base URL (a few bases per process; every request asks).
local endpoints = {}
local function endpoint(base)
  local url = endpoints[base]
  if not url then
    url = base:gsub("/+$", "") .. "/chat/completions"
    endpoints[base] = url
  end
  return url
end

-- One call against an OpenAI-compatible endpoint. c = {provider=, base=,
-- key=(or nil for keyless servers), official=}.
function M.call(req, spec, opts, c)
  local stream = req.stream
  if stream == nil then stream = req.on_delta ~= nil end
  local headers = { ["content-type"] = "application/json" }
  if c.key then headers["authorization"] = "Bearer " .. c.key end
  headers = wire.headers(headers, req.headers)
  local asm = stream and M.assembler(c.provider, req.on_delta)
  local res, err, code = wire.post { provider = c.provider, url = endpoint(c.base),
    headers = headers, body = M.body(req, spec, { official = c.official, stream = stream }), secret = c.key,
    timeout = req.timeout, on_event = asm and asm.feed, max_attempts = opts.max_attempts,
    retry_base = opts.retry_base }
  if not res then return nil, err, code end
  local raw
  if asm and (asm.seen or not (res.body or ""):find("%S")) then
    raw, err, code = asm.result()
  else
    local t
    t, err, code = wire.decode_body(c.provider, res)
    if t then raw, err, code = M.parse(t, c.provider) end
  end
  if not raw then return nil, wire.redact(err, c.key), code end
  raw.latency, raw.http_attempts = res.latency, res.http_attempts
  return raw
end

function M.chat(req, spec, opts)
  local key, err, code = wire.key("OPENAI_API_KEY", spec)
  if not key then return nil, err, code end
  local base = wire.env("OPENAI_BASE_URL") or wire.env("OPENAI_API_BASE") or M.DEFAULT_BASE
  return M.call(req, spec, opts, { provider = "openai", base = base, key = key,
                                   official = base:find("^https://api%.openai%.com") ~= nil })
end

return M
