-- baton.llm.wire: what the HTTP providers share: keys and base URLs from the
-- environment, one POST with retries (baton.retry backoff, baton.loop sleeps,
-- an overall deadline), provider error messages, and redaction so an API key
-- never reaches an error message, a log or a cassette.
local json = require "baton.json"

local M = {}

-- Read through this field so tests can give a process its environment.
M.getenv = os.getenv

-- The process's environment does not change under it (nothing in baton sets
-- variables): every request reads the same few, so each is read once.
local real_getenv, seen = os.getenv, {}
function M.env(name)
  local v
  if M.getenv == real_getenv then
    v = seen[name]
    if v == nil then v = real_getenv(name) or false seen[name] = v end
    v = v or nil
  else
    v = M.getenv(name)
  end
  if v == "" then return nil end
  return v
end

-- The key in variable var, or nil, "<VAR> is not set (needed for model m)", "no_key".
function M.key(var, spec)
  local k = M.env(var)
  if not k then return nil, string.format("%s is not set (needed for model %s)", var, spec.model), "no_key" end
  return k
end

-- A URL fit for messages: no user info, no query string (keys hide there).
function M.show_url(url)
  return (url:gsub("//[^/@]*@", "//"):gsub("%?.*$", ""))
end

-- base plus the caller's extra headers (req.headers: proxies, OpenRouter's
-- HTTP-Referer, test servers); they never enter keys or cassettes.
function M.headers(base, extra)
  for k, v in pairs(extra or {}) do base[string.lower(k)] = v end
  return base
end

local function redact(s, secret)
  if secret and #secret >= 4 then
    local from = 1
    while true do
      local i, j = s:find(secret, from, true)
      if not i then break end
      s = s:sub(1, i - 1) .. "[redacted]" .. s:sub(j + 1)
      from = i + 10
    end
  end
  return s
end
M.redact = redact

-- The provider's own error message from an error body (OpenAI and Anthropic
-- both use {error={message=}}; some servers send {error="..."} or {message=}).
function M.error_message(body)
  local t = json.decode(body or "")
  if type(t) == "table" then
    local e = t.error
    if type(e) == "table" and type(e.message) == "string" then return e.message end
    if type(e) == "string" then return e end
    if type(t.message) == "string" then return t.message end
  end
  local s = (body or ""):gsub("%s+", " "):sub(1, 200)
  return s ~= "" and s or "(empty body)"
end

local function status_code(status)
  if status == 401 or status == 403 then return "auth" end
  if status == 429 then return "rate_limit" end
  if status == 408 then return "timeout" end
  if status >= 500 or status == 409 then return "server" end
  return "bad_request"
end

local function transport_code(code)
  if code == "timeout" or code == "idle_timeout" then return "timeout" end
  return "transport"
end

local function gave_up(n) return n > 1 and string.format(" (gave up after %d attempts)", n) or "" end

-- POSTs p.body (a table, encoded canonically) to p.url with p.headers.
-- p = {provider=, url=, headers=, body=, secret=, timeout=, on_event=,
--      max_attempts=, retry_base=}. Retries what baton.retry calls retryable
-- (408/409/429/5xx; connect, truncated, transport failures) with its backoff
-- (Retry-After, x-should-retry) until max_attempts or the deadline; never
-- retries a timeout or a stream whose events were already delivered. Returns res (status 200) with res.latency and
-- res.http_attempts, or nil, "provider: ...", code.
local http, loop, retry -- loaded on first use
function M.post(p)
  http, loop, retry = http or require "baton.http", loop or require "baton.loop", retry or require "baton.retry"
  local timeout = p.timeout or 300
  local deadline = loop.now() + timeout
  local body = json.encode(p.body)
  local max = p.max_attempts or 4
  local streamed = false
  local on_event
  if p.on_event then on_event = function(ev) streamed = true return p.on_event(ev) end end
  local attempt, msg, code, retry_after, should_retry = 0, nil, nil, nil, nil
  while true do
    attempt = attempt + 1
    local t0 = loop.now()
    local res, err, ecode = http.request { method = "POST", url = p.url, headers = p.headers, body = body,
      timeout = math.max(deadline - t0, 0.001), connect_timeout = math.min(10, timeout),
      idle_timeout = p.on_event and math.min(120, timeout) or nil, -- a stalled stream
      on_event = on_event }
    local again
    if res and res.status >= 200 and res.status < 300 and res.incomplete_event then
      msg, code, again = string.format("%s: the stream from %s ended inside an event", p.provider,
        M.show_url(p.url)), "transport", false
    elseif res and res.status >= 200 and res.status < 300 then
      res.latency, res.http_attempts = loop.now() - t0, attempt
      return res
    elseif res then
      msg = string.format("%s: %d %s", p.provider, res.status, M.error_message(res.body))
      code = status_code(res.status)
      again = retry.retryable(res.status)
      retry_after, should_retry = res.headers["retry-after"], res.headers["x-should-retry"]
    else
      code = transport_code(ecode)
      local what = code == "timeout" and "no reply in time from %s" or
        ecode == "connect" and "cannot reach %s" or "request to %s failed"
      msg = string.format("%s: " .. what .. ": %s", p.provider, M.show_url(p.url), tostring(err))
      -- the deadline is the whole call's: a timeout is not retried
      again = code ~= "timeout" and retry.retryable(ecode)
      retry_after, should_retry = nil, nil
    end
    if not again or streamed or attempt >= max then break end
    local delay = retry.backoff { attempt = attempt - 1, base = p.retry_base or 0.5, cap = 30,
                                  retry_after = retry_after, should_retry = should_retry }
    if not delay or loop.now() + delay >= deadline then break end
    loop.sleep(delay)
  end
  return nil, redact(msg .. gave_up(attempt), p.secret), code
end

-- Decodes a 2xx body or says clearly that the server sent something else.
function M.decode_body(provider, res)
  local t, err = json.decode(res.body or "", true)
  if type(t) ~= "table" then
    local snippet = (res.body or ""):gsub("%s+", " "):sub(1, 80)
    return nil, string.format("%s: malformed reply (%s): '%s'", provider,
      err and err:gsub("^json: ", "") or "not a JSON object", snippet), "server"
  end
  return t
end

-- Copies a JSON schema, marking the keywords whose values are arrays, so an
-- empty `required = {}` is sent as [] and not {}. Property names are data:
-- a property called "enum" stays a property.
local ARRAY_KEYWORDS = { required = true, enum = true, anyOf = true, oneOf = true, allOf = true, type = true }

function M.schema_copy(s)
  if type(s) ~= "table" then return s end
  local out = {}
  for k, v in pairs(s) do
    if k == "properties" and type(v) == "table" then
      out[k] = {}
      for name, sub in pairs(v) do out[k][name] = M.schema_copy(sub) end
    elseif ARRAY_KEYWORDS[k] and type(v) == "table" then
      out[k] = setmetatable({}, json.array_mt)
      for i, x in ipairs(v) do out[k][i] = M.schema_copy(x) end
    else
      out[k] = M.schema_copy(v)
    end
  end
  return out
end

-- schema_copy(s), made once per schema table: tool schemas are the same
-- tables on every request (baton.tools), and copying them each time cost
-- more than the rest of a request body. The copy is shared: never change it.
local copies = setmetatable({}, { __mode = "k" })
function M.schema_copy_cached(s)
  if type(s) ~= "table" then return s end
  local c = copies[s]
  if not c then c = M.schema_copy(s) copies[s] = c end
  return c
end

-- A provider's wire form of tool t, build(t), encoded once (json.raw) per
-- parameters table, name and description (build must read no other field):
-- every request carries the same tools (baton.tools), and building and
-- encoding them each time cost more than the rest of a body. cache: the
-- provider's own wire.tool_cache().
local NO_PARAMS = {}
function M.tool_cache() return setmetatable({}, { __mode = "k" }) end
function M.tool_raw(cache, t, build)
  local p, name = t.parameters, t.name
  if p == nil then p = NO_PARAMS end
  local d = t.description
  if type(p) ~= "table" or type(name) ~= "string" or (d ~= nil and type(d) ~= "string") then return build(t) end
  local by_name = cache[p]
  if not by_name then by_name = {} cache[p] = by_name end
  local c = by_name[name]
  if not c or c.description ~= d then
    c = { description = d, raw = json.raw(json.encode(build(t))) }
    by_name[name] = c
  end
  return c.raw
end

-- The wire form of a whole tools list: {[i] = M.tool_raw(cache, list[i],
-- build)}, kept per list table (lists: a weak-keyed table of the provider's)
-- and reused while json.same_tools finds the same tools in it with the same
-- parameters, names and descriptions: baton.tools hands every request of a
-- role the same list, and a tool_raw per tool per request in Lua cost ~25k
-- instructions a request. A list with a tool tool_raw cannot cache is not
-- kept. The result is shared: never change it.
function M.tool_list_raw(lists, list, cache, build)
  local e = lists[list]
  if e and json.same_tools(list, e.check, e.n) then return e.raws end
  local raws, check, plain = {}, {}, getmetatable(list) == nil
  for i, t in ipairs(list) do
    local r = M.tool_raw(cache, t, build)
    raws[i] = r
    plain = plain and type(t) == "table" and getmetatable(r) == json.raw_mt
    if plain then check[4 * i - 3], check[4 * i - 2], check[4 * i - 1], check[4 * i] = t, t.parameters, t.name, t.description end
  end
  if plain then lists[list] = { raws = raws, check = check, n = #raws } end
  return raws
end

-- Tool-call arguments as a table: the JSON string OpenAI sends, or an object
-- as Ollama sends. A broken string gives {} and an error note.
function M.arguments(a)
  if type(a) == "table" then return a end
  if a == nil or a == "" then return {} end
  local t, err = json.decode(a, true)
  if type(t) ~= "table" then return {}, "arguments are not a JSON object (" .. (err or "got " .. a) .. ")" end
  return t
end

return M
