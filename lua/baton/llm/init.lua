-- baton.llm: one call shape for every model. llm.chat(req) parses req.model
-- ("provider:model"), sends one provider-neutral request through the provider
-- module (openai, anthropic, ollama, offline, replay), validates structured
-- replies (re-asking a bounded number of times), prices every billed attempt
-- and records cassettes. Returns resp, or nil, message, code, {attempts=}.
local json = require "baton.json"
local prices = require "baton.llm.prices"
local replay = require "baton.llm.replay"
local schema_mod = require "baton.llm.schema"
local wire = require "baton.llm.wire"

local has_loop, loop = pcall(require, "baton.loop")
local function now() return has_loop and loop.now() or os.time() end

local M = {}

M.providers = {
  openai = "baton.llm.openai", anthropic = "baton.llm.anthropic", ollama = "baton.llm.ollama",
  offline = "baton.llm.offline", replay = "baton.llm.replay",
}

local parsed = {} -- model string -> its split (M.parse_model: every request parses the same few)

-- Adds a provider: module is a table with chat(req, spec, key) or a module name.
function M.register(name, module)
  assert(type(name) == "string" and name:match("^[%w_%-]+$"), "llm.register: bad provider name")
  M.providers[name] = module
  parsed = {} -- a new name may change how "name/..." model strings split
end

local function known_list()
  local names = {}
  for n in pairs(M.providers) do names[#names + 1] = n end
  table.sort(names)
  return table.concat(names, ", ")
end

-- Splits a model string: "provider:model" on the first colon, LiteLLM-style
-- "provider/model" for known providers, or a bare provider ("offline").
-- Returns {provider=, name=, model=<as given>} or nil, message, "unknown_provider".
function M.parse_model(model)
  local spec = parsed[model]
  if spec and M.providers[spec.provider] then return { provider = spec.provider, name = spec.name, model = model } end
  if type(model) ~= "string" or model == "" then
    return nil, "llm: req.model must be a model string like openai:gpt-4o-mini", "unknown_provider"
  end
  local colon, slash = model:find(":", 1, true), model:find("/", 1, true)
  local provider, name
  if slash and (not colon or slash < colon) and M.providers[model:sub(1, slash - 1)] then
    provider, name = model:sub(1, slash - 1), model:sub(slash + 1)
  elseif colon then
    provider, name = model:sub(1, colon - 1), model:sub(colon + 1)
  else
    provider, name = model, ""
  end
  if not M.providers[provider] then
    return nil, string.format("unknown provider in model '%s' (expected provider:model, e.g. openai:gpt-4o-mini; known: %s)",
      model, known_list()), "unknown_provider"
  end
  if name == "" and provider ~= "offline" and provider ~= "replay" then
    return nil, string.format("model '%s' names no model (e.g. %s:<model>)", model, provider), "unknown_provider"
  end
  parsed[model] = { provider = provider, name = name }
  return { provider = provider, name = name, model = model }
end

-- A stable key of what the model is asked: model, system, messages, tools and
-- schema, canonically encoded and hashed (FNV-1a 64, 16 hex digits).
-- req.key_aliases (optional) maps words of the request to stable names
-- before hashing: the engine maps a run's random requirement ids to their
-- creation order, so a replayed run (with new ids) asks the same keys.
-- The tool schemas, usually the bulk of a request, are fixed text that names
-- no run id: they are left out of the alias substitution. Their key sorts
-- last, so the text is the canonical encoding of the whole request.
-- Each tool's parameters table (the same one on every request: baton.tools)
-- is encoded once (json.encoded), and so is each tool. The encoding,
-- renaming and hashing of the rest run in C (json.request_hash), in one pass.
local key_tools = wire.tool_cache()
local function same(t) return t end

-- A tool with only a name, a description and parameters (as baton.tools
-- makes them) is encoded once (wire.tool_raw); any other is encoded each
-- time, its parameters table once (json.encoded, asked only then: on every
-- tool of every request it cost as much as the rest of this).
local function key_tool(t)
  if type(t) ~= "table" or getmetatable(t) ~= nil then return t end
  for k in next, t do
    if k ~= "name" and k ~= "description" and k ~= "parameters" then
      if type(t.parameters) == "table" then json.encoded(t.parameters) end
      return t
    end
  end
  return wire.tool_raw(key_tools, t, same)
end

local function tools_value(tools)
  if type(tools) ~= "table" or getmetatable(tools) ~= nil then return tools end
  local out = {}
  for k, t in pairs(tools) do out[k] = key_tool(t) end
  return out
end

-- alias_set (optional): json.aliases(req.key_aliases), made once by a
-- caller that asks many keys with the same names (baton.llmcall).
-- A list of plain tools seen before is encoded in C from the cache
-- (json.tool_list: the same text, without a Lua loop over every field of
-- every tool); else here, which fills the cache.
-- A reply schema is encoded anew each time: a caller may change its table
-- between requests (json.encoded would also pin the table's text for every
-- later json.encode of it), and a schema comes with few requests (a review).
function M.request_key(req, alias_set)
  local tools = req.tools
  local text = type(tools) == "table" and json.tool_list(tools, key_tools) or nil
  return json.request_hash({ model = req.model, system = req.system, messages = req.messages,
                             schema = req.schema }, alias_set or req.key_aliases,
                           not text and tools_value(tools) or nil, text)
end

-- Process-wide options, set by the engine from CLI flags.
function M.configure(opts)
  for k in pairs(opts) do
    if not (k == "offline" or k == "record" or k == "replay" or k == "prices" or k == "max_attempts"
            or k == "retry_base") then
      error("llm.configure: unknown option '" .. tostring(k) .. "'", 2)
    end
  end
  if opts.offline ~= nil then require("baton.llm.offline").set_script(opts.offline) end
  if opts.record ~= nil then replay.record_to(opts.record or nil) end
  if opts.replay ~= nil then replay.load(opts.replay or nil, M.request_key) end
  if opts.prices ~= nil then prices.set(opts.prices) end
  if opts.max_attempts ~= nil then M.max_attempts = opts.max_attempts end
  if opts.retry_base ~= nil then M.retry_base = opts.retry_base end
end

M.max_attempts, M.retry_base = 4, 0.5

local function module_of(spec)
  local m = M.providers[spec.provider]
  if type(m) == "string" then m = require(m) end
  return m
end

local function check_req(req)
  if type(req) ~= "table" then error("llm.chat: expected a request table, got " .. type(req), 3) end
  if req.messages ~= nil and type(req.messages) ~= "table" then error("llm.chat: req.messages must be a list", 3) end
  for i, m in ipairs(req.messages or {}) do
    if type(m) ~= "table" or not (m.role == "user" or m.role == "assistant" or m.role == "tool") then
      error(string.format("llm.chat: message %d needs role user, assistant or tool", i), 3)
    end
  end
  if req.on_delta ~= nil and type(req.on_delta) ~= "function" then error("llm.chat: req.on_delta must be a function", 3) end
  if req.headers ~= nil and type(req.headers) ~= "table" then error("llm.chat: req.headers must be a table", 3) end
end

-- One billed call: replay, or the provider (recorded when recording).
local function call_once(req, spec)
  local raw, err, code
  -- the key is needed only by cassettes: computing it costs a full encoding
  local key = (replay.active() or spec.provider == "replay" or replay.recording()) and M.request_key(req)
  if replay.active() or spec.provider == "replay" then
    raw, err, code = replay.chat(req, spec, key)
    if raw and req.on_delta and raw.text ~= "" then req.on_delta(raw.text) end
    return raw, err, code
  end
  local t0 = now()
  raw, err, code = module_of(spec).chat(req, spec, { max_attempts = req.max_attempts or M.max_attempts,
                                                       retry_base = M.retry_base })
  if not raw then return nil, err, code end
  if raw.cost == nil then raw.cost = prices.cost(spec.model, raw.usage) end
  raw.model = spec.model
  raw.latency = raw.latency or (now() - t0)
  if not raw.streamed and req.on_delta and raw.text ~= "" then req.on_delta(raw.text) end
  if replay.recording() then
    local ok, rerr, rcode = replay.record(key, req, raw)
    if not ok then return nil, rerr, rcode end
  end
  return raw
end

local function attempt_entry(raw, status)
  return { usage = raw.usage, cost = raw.cost, status = status, latency = raw.latency or 0 }
end

local function reask(req, text, why)
  local msgs = table.move(req.messages or {}, 1, #(req.messages or {}), 1, {})
  msgs[#msgs + 1] = { role = "assistant", content = text }
  msgs[#msgs + 1] = { role = "user", content = "Your reply did not match the required JSON schema: " .. why ..
                      ". Reply again with only the corrected JSON." }
  local r = setmetatable({ messages = msgs }, { __index = req })
  return r
end

local function finish(raw, attempts, data)
  local resp = { text = raw.text or "", tool_calls = raw.tool_calls or {}, usage = raw.usage,
                 finish_reason = raw.finish_reason, model = raw.model, attempts = attempts, data = data }
  local cost, tokens_in, tokens_out = 0, 0, 0
  for _, a in ipairs(attempts) do
    if cost and a.cost then cost = cost + a.cost else cost = nil end
    tokens_in = tokens_in + (a.usage and a.usage.input_tokens or 0)
    tokens_out = tokens_out + (a.usage and a.usage.output_tokens or 0)
  end
  resp.cost = cost
  resp.total_usage = { input_tokens = tokens_in, output_tokens = tokens_out }
  return resp
end

-- The one entry point. See the header for the shape of req and resp.
function M.chat(req)
  check_req(req)
  local spec, err, code = M.parse_model(req.model)
  if not spec then return nil, err, code end
  local attempts = {}
  local retries = req.schema and (req.schema_retries or 2) or 0
  local cur = req
  for try = 1, retries + 1 do
    local raw
    raw, err, code = call_once(cur, spec)
    if not raw then return nil, err, code, { attempts = attempts } end
    if not req.schema or #(raw.tool_calls or {}) > 0 then
      attempts[#attempts + 1] = attempt_entry(raw, "ok")
      return finish(raw, attempts)
    end
    local data, why = schema_mod.check_reply(req.schema, raw.text)
    attempts[#attempts + 1] = attempt_entry(raw, data and "ok" or "invalid")
    if data then return finish(raw, attempts, data) end
    if try == retries + 1 then
      return nil, string.format("%s gave an invalid reply after %d attempt%s: %s", spec.model, try,
        try == 1 and "" or "s", why), "invalid_reply", { attempts = attempts }
    end
    cur = reask(req, raw.text or "", why)
  end
end

return M
