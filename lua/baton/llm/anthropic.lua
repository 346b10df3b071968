-- baton.llm.anthropic: the Messages API (ANTHROPIC_BASE_URL, default
-- https://api.anthropic.com; x-api-key and anthropic-version headers). Maps
-- provider-neutral messages to content blocks (tool_use / tool_result, with
-- consecutive same-role turns merged as the API requires), parses replies and
-- assembles streamed events (content_block_start/delta/stop, input_json_delta).
-- Structured output: the schema goes into the system prompt; baton validates.
local json = require "baton.json"
local wire = require "baton.llm.wire"

local M = {}

local EMPTY_PARAMS = { type = "object", properties = {} }

M.DEFAULT_BASE = "https://api.anthropic.com"
M.VERSION = "2023-06-01"
M.DEFAULT_MAX_TOKENS = 4096

local function blocks_of(m)
  if m.role == "tool" then
    return "user", { { type = "tool_result", tool_use_id = m.tool_call_id, content = m.content or "" } }
  end
  local blocks = {}
  if m.content and m.content ~= "" then blocks[1] = { type = "text", text = m.content } end
  for _, c in ipairs(m.role == "assistant" and m.tool_calls or {}) do
    blocks[#blocks + 1] = { type = "tool_use", id = c.id, name = c.name, input = c.arguments or {} }
  end
  return m.role, blocks
end

local function wire_messages(req)
  local out = {}
  for _, m in ipairs(req.messages or {}) do
    local role, blocks = blocks_of(m)
    local last = out[#out]
    if last and last.role == role then
      table.move(blocks, 1, #blocks, #last.content + 1, last.content)
    elseif #blocks > 0 then
      out[#out + 1] = { role = role, content = blocks }
    end
  end
  return setmetatable(out, json.array_mt)
end

local function system_of(req)
  local s = req.system or ""
  if req.schema then
    s = s .. (s ~= "" and "\n\n" or "") .. "Reply with only a JSON value (no prose, no code fence) " ..
        "that matches this JSON schema:\n" .. json.encode(wire.schema_copy(req.schema))
  end
  return s ~= "" and s or nil
end

function M.body(req, spec, opts)
  local b = { model = spec.name, system = system_of(req), messages = wire_messages(req),
              max_tokens = req.max_tokens or M.DEFAULT_MAX_TOKENS, temperature = req.temperature }
  if req.tools and #req.tools > 0 then
    b.tools = {}
    for i, t in ipairs(req.tools) do
      b.tools[i] = { name = t.name, description = t.description,
                     input_schema = json.encoded(t.parameters and wire.schema_copy_cached(t.parameters) or EMPTY_PARAMS) }
    end
  end
  if opts.stream then b.stream = true end
  return b
end

local STOP = { end_turn = "stop", stop_sequence = "stop", tool_use = "tool_calls", max_tokens = "length" }

local function usage_of(u)
  u = u or {}
  return { input_tokens = u.input_tokens or 0, output_tokens = u.output_tokens or 0 }
end

function M.parse(t)
  if type(t.content) ~= "table" then return nil, "anthropic: malformed reply (no content)", "server" end
  local text, calls = {}, {}
  for _, b in ipairs(t.content) do
    if b.type == "text" then text[#text + 1] = b.text or ""
    elseif b.type == "tool_use" then
      calls[#calls + 1] = { id = b.id or ("call_" .. (#calls + 1)), name = b.name, arguments = b.input or {} }
    end
  end
  return { text = table.concat(text), tool_calls = calls, usage = usage_of(t.usage),
           finish_reason = STOP[t.stop_reason] or t.stop_reason or "stop" }
end

-- A stream assembler: feed(ev) per SSE event, then result().
function M.assembler(on_delta)
  local st, blocks, usage = {}, {}, { input_tokens = 0, output_tokens = 0 }
  local handlers = {}
  function handlers.message_start(d)
    local u = d.message and d.message.usage or {}
    usage.input_tokens = u.input_tokens or usage.input_tokens
    usage.output_tokens = u.output_tokens or usage.output_tokens
  end
  function handlers.content_block_start(d)
    local cb = d.content_block or {}
    blocks[(d.index or #blocks) + 1] = { type = cb.type, id = cb.id, name = cb.name, text = { cb.text },
                                         json = {} }
  end
  function handlers.content_block_delta(d)
    local b, delta = blocks[(d.index or 0) + 1], d.delta or {}
    if not b then st.err = { "anthropic: malformed stream (delta before content_block_start)", "server" } return end
    if delta.type == "text_delta" and delta.text then
      b.text[#b.text + 1] = delta.text
      if on_delta then on_delta(delta.text) end
    elseif delta.type == "input_json_delta" then
      b.json[#b.json + 1] = delta.partial_json or ""
    end
  end
  function handlers.message_delta(d)
    if d.delta and d.delta.stop_reason then st.stop = d.delta.stop_reason end
    if d.usage and d.usage.output_tokens then usage.output_tokens = d.usage.output_tokens end
    if d.usage and d.usage.input_tokens then usage.input_tokens = d.usage.input_tokens end
  end
  function handlers.error(d)
    local e = d.error or {}
    st.err = { "anthropic: " .. tostring(e.type or "error") .. ": " .. tostring(e.message or ""),
               e.type == "rate_limit_error" and "rate_limit" or "server" }
  end
  function st.feed(ev)
    st.seen = true
    if st.err or not ev.data or ev.data == "" then return end
    local d, err = json.decode(ev.data, true)
    if type(d) ~= "table" then
      st.err = { "anthropic: malformed stream event (" .. (err or "not an object") .. ")", "server" }
      return
    end
    local h = handlers[d.type or ev.event]
    if h then h(d) end
  end
  function st.result()
    if st.err then return nil, st.err[1], st.err[2] end
    local text, calls = {}, {}
    for i = 1, #blocks do
      local b = blocks[i]
      if b.type == "text" then text[#text + 1] = table.concat(b.text)
      elseif b.type == "tool_use" then
        local args, err = wire.arguments(table.concat(b.json))
        calls[#calls + 1] = { id = b.id or ("call_" .. (#calls + 1)), name = b.name, arguments = args, error = err }
      end
    end
    return { text = table.concat(text), tool_calls = calls, usage = usage,
             finish_reason = STOP[st.stop] or st.stop or "stop", streamed = true }
  end
  return st
end

function M.url(base)
  base = base:gsub("/+$", "")
  if base:find("/v1$") then return base .. "/messages" end
  return base .. "/v1/messages"
end

function M.chat(req, spec, opts)
  local key, err, code = wire.key("ANTHROPIC_API_KEY", spec)
  if not key then return nil, err, code end
  local stream = req.stream
  if stream == nil then stream = req.on_delta ~= nil end
  local asm = stream and M.assembler(req.on_delta)
  local res
  res, err, code = wire.post { provider = "anthropic", url = M.url(wire.env("ANTHROPIC_BASE_URL") or M.DEFAULT_BASE),
    headers = wire.headers({ ["content-type"] = "application/json", ["x-api-key"] = key,
                             ["anthropic-version"] = M.VERSION }, req.headers),
    body = M.body(req, spec, { stream = stream }), secret = key, timeout = req.timeout,
    on_event = asm and asm.feed, max_attempts = opts.max_attempts, retry_base = opts.retry_base }
  if not res then return nil, err, code end
  local raw
  if asm and (asm.seen or not (res.body or ""):find("%S")) then
    raw, err, code = asm.result()
  else
    local t
    t, err, code = wire.decode_body("anthropic", res)
    if t then raw, err, code = M.parse(t) end
  end
  if not raw then return nil, wire.redact(err, key), code end
  raw.latency, raw.http_attempts = res.latency, res.http_attempts
  return raw
end

return M
