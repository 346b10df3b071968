-- baton.llm.offline: the deterministic test model. Model "offline" answers from
-- a script of expected turns (llm.configure{offline=<table or path>}); model
-- "offline:rules" (or "offline" with no script) answers from baton.llm.rules.
-- Any other "offline:LABEL" answers from the script too: labels let a team
-- give each role its own offline "model", accounted for separately.
-- The demo and most tests run on it: no network, no key, same replies each run.
--
-- Script format (a Lua file returning this table, or the table itself):
--   return {
--     turns = {
--       { when = { agent = "coder-1",          -- exact req.agent
--                  role = "coder",             -- exact req.role
--                  contains = "add()",         -- plain substring of the last
--                                              -- user/tool message or the system
--                                              -- (or a list: all must be there)
--                  tool_result_contains = "ok", -- the last message is a tool
--                                              -- result containing this
--                  schema = true },            -- req has (true) / lacks (false) a schema
--         reply = { text = "...",              -- or a function(req) -> reply
--                   tool_calls = { { name = "write", arguments = { path = "a.c" } } },
--                   usage = { input_tokens = 10, output_tokens = 5 },  -- else ceil(chars/4)
--                   finish_reason = "stop",    -- default: "tool_calls" or "stop"
--                   error = "message", code = "server" },  -- fail this call instead
--         once = true,                         -- default true: consumed when used
--         delay = 0.2 },                       -- seconds, via baton.loop.sleep
--     },
--     fallback = function(req) return reply_or_nil end,  -- or "rules"
--   }
-- A request takes the first unconsumed turn whose `when` fields all match
-- (an absent field matches anything); then fallback; else offline_no_match.
-- Offline replies cost 0 (priced, not unknown).
local loop_ok, loop = pcall(require, "baton.loop")
local json = require "baton.json"
local rules = require "baton.llm.rules"

local M = {}

local script, consumed = nil, {}

local function load_script(src)
  if type(src) == "table" then return src end
  local chunk, err = loadfile(src, "t")
  if not chunk then error("offline: cannot load script: " .. err, 0) end
  local ok, t = pcall(chunk)
  if not ok then error("offline: script " .. src .. " failed: " .. tostring(t), 0) end
  if type(t) ~= "table" then error("offline: script " .. src .. " must return a table", 0) end
  return t
end

local WHEN_FIELDS = { agent = true, role = true, contains = true, tool_result_contains = true, schema = true }

local function check_script(t)
  if t.turns ~= nil and type(t.turns) ~= "table" then error("offline: script.turns must be a list", 0) end
  for i, turn in ipairs(t.turns or {}) do
    if type(turn) ~= "table" or (turn.reply == nil) then
      error(string.format("offline: turn %d needs a reply", i), 0)
    end
    if type(turn.reply) ~= "table" and type(turn.reply) ~= "function" then
      error(string.format("offline: turn %d: reply must be a table or a function", i), 0)
    end
    if turn.when ~= nil and type(turn.when) ~= "table" then
      error(string.format("offline: turn %d: when must be a table", i), 0)
    end
    for k in pairs(turn.when or {}) do -- a typo would otherwise match everything
      if not WHEN_FIELDS[k] then error(string.format("offline: turn %d: unknown when field '%s'", i, tostring(k)), 0) end
    end
  end
  local fb = t.fallback
  if fb ~= nil and fb ~= "rules" and type(fb) ~= "function" then
    error('offline: fallback must be a function or "rules"', 0)
  end
end

-- Sets the process's script (a table or a path); nil clears it.
function M.set_script(src)
  consumed = {}
  if src == nil or src == false then script = nil return end
  local t = load_script(src)
  check_script(t)
  script = t
end

-- The content of the last user or tool message ("" when none).
function M.last_message(req)
  local msgs = req.messages or {}
  for i = #msgs, 1, -1 do
    local m = msgs[i]
    if m.role == "user" or m.role == "tool" then return m.content or "", m.role end
  end
  return "", nil
end

local function has(hay, needle) return hay ~= nil and hay:find(needle, 1, true) ~= nil end

local function matches(when, req)
  if when.agent ~= nil and when.agent ~= req.agent then return false end
  if when.role ~= nil and when.role ~= req.role then return false end
  if when.schema ~= nil and when.schema ~= (req.schema ~= nil) then return false end
  local last, last_role = M.last_message(req)
  -- contains: one substring, or a list that must all be there
  local wanted = type(when.contains) == "table" and when.contains or { when.contains }
  for _, w in ipairs(wanted) do
    if not (has(last, w) or has(req.system, w)) then return false end
  end
  if when.tool_result_contains ~= nil then
    local msgs = req.messages or {}
    local m = msgs[#msgs]
    if not (m and m.role == "tool" and last_role == "tool" and has(m.content, when.tool_result_contains)) then
      return false
    end
  end
  return true
end

local function estimate(n) return math.ceil(n / 4) end

-- Fills ids, arguments, usage and finish_reason of a scripted reply.
function M.complete(reply, req)
  local calls = {}
  for i, c in ipairs(reply.tool_calls or {}) do
    calls[i] = { id = c.id or ("call_" .. i), name = c.name, arguments = c.arguments or {} }
  end
  local usage = reply.usage
  if not usage then
    local chars = #(req.system or "")
    for _, m in ipairs(req.messages or {}) do chars = chars + #(m.content or "") end
    local out = #(reply.text or "")
    for _, c in ipairs(calls) do out = out + #c.name + #json.encode(c.arguments) end
    usage = { input_tokens = estimate(chars), output_tokens = estimate(out) }
  end
  return { text = reply.text or "", tool_calls = calls, usage = usage, cost = 0,
           finish_reason = reply.finish_reason or (#calls > 0 and "tool_calls" or "stop") }
end

local function no_match(req)
  local last = M.last_message(req):gsub("%s+", " ")
  if #last > 80 then last = last:sub(1, 77) .. "..." end
  return nil, string.format("offline script has no turn for agent %s (role %s): last message '%s'",
    tostring(req.agent or "?"), tostring(req.role or "?"), last), "offline_no_match"
end

local function pick(req)
  for i, turn in ipairs(script.turns or {}) do
    if not consumed[i] and matches(turn.when or {}, req) then
      if turn.once ~= false then consumed[i] = true end
      return turn.reply, turn.delay
    end
  end
  local fb = script.fallback
  if fb == "rules" then return rules.reply(req) end
  if fb then return fb(req) end
end

-- The provider entry point: one attempt, never billed beyond 0 USD.
function M.chat(req, spec)
  if script == nil or spec.name == "rules" then return M.complete(rules.reply(req), req) end
  local reply, delay = pick(req)
  if type(reply) == "function" then reply = reply(req) end
  if reply == nil then return no_match(req) end
  if delay and delay > 0 then
    if not loop_ok then error("offline: delay needs baton.loop", 0) end
    loop.sleep(delay)
  end
  if reply.error then return nil, reply.error, reply.code or "server" end
  return M.complete(reply, req)
end

return M
