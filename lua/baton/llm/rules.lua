-- baton.llm.rules: the rule-based offline model ("offline:rules", or a script's
-- fallback = "rules"). It answers structured requests (controller and scheduler
-- decisions) by building a valid instance of the request's schema, choosing
-- enum values with a small FSM over the request's text; free-text requests get
-- a fixed answer. Deterministic: the same request always gets the same reply.
local cjson = require "cjson"
local json = require "baton.json"

local M = {}

-- Task states as the view prints them, counted by word.
local STATES = { "PENDING", "READY", "RUNNING", "IN_PROGRESS", "CLAIMED", "FAILED", "BLOCKED", "DONE" }

local function view_text(req)
  local parts = { req.system or "" }
  for _, m in ipairs(req.messages or {}) do parts[#parts + 1] = m.content or "" end
  return table.concat(parts, "\n")
end

local function count_states(text)
  local n = {}
  for _, s in ipairs(STATES) do
    local c = 0
    for _ in text:gmatch("%f[%w_]" .. s .. "%f[^%w_]") do c = c + 1 end
    n[s] = c
  end
  return n
end

-- The FSM: which kind of action the state calls for, most urgent first.
-- Each entry lists enum values that mean that action in common schemas.
local function preferences(n)
  local prefs = {}
  local function want(...) for _, v in ipairs { ... } do prefs[#prefs + 1] = v end end
  local total = 0
  for _, c in pairs(n) do total = total + c end
  if total == 0 then want("plan", "decompose") end -- nothing planned yet
  if n.FAILED > 0 then want("retry", "replan", "fix", "rollback") end
  if n.PENDING + n.READY > 0 then want("assign", "dispatch", "schedule", "run", "work", "start") end
  if n.RUNNING + n.IN_PROGRESS + n.CLAIMED > 0 then want("wait", "continue") end
  if total > 0 and total == n.DONE then
    want("finish", "done", "complete", "stop", "accept")
  end
  want("plan", "decompose", "continue", "wait")
  return prefs
end

local function choose(enum, prefs)
  local set = {}
  for _, v in ipairs(enum) do set[v] = true end
  for _, p in ipairs(prefs) do if set[p] then return p end end
  return enum[1]
end

local instance

local function object_instance(schema, ctx)
  local out = {}
  local wanted = {}
  for _, name in ipairs(schema.required or {}) do wanted[name] = true end
  -- a reasoning/explanation field is filled even when optional: it is shown
  for name in pairs(schema.properties or {}) do
    if name == "reasoning" or name == "reason" then wanted[name] = true end
  end
  local names = {}
  for name in pairs(wanted) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    out[name] = instance((schema.properties or {})[name] or {}, ctx, name)
  end
  return out
end

function instance(schema, ctx, name)
  local t = schema.type
  if type(t) == "table" then t = t[1] end
  if schema.enum then return choose(schema.enum, ctx.prefs) end
  if t == "object" then return object_instance(schema, ctx) end
  if t == "array" then return setmetatable({}, json.array_mt) end
  if t == "integer" or t == "number" then return 0 end
  if t == "boolean" then return false end
  if t == "null" then return cjson.null end
  if name == "reasoning" or name == "reason" then return ctx.summary end
  return ""
end

local function summary(n)
  local parts = {}
  for _, s in ipairs(STATES) do
    if n[s] > 0 then parts[#parts + 1] = string.format("%d %s", n[s], s) end
  end
  return "offline rules: " .. (#parts > 0 and table.concat(parts, ", ") or "no tasks seen")
end

-- A reply table ({text=}) for req, in the shape offline.complete expects.
function M.reply(req)
  local text = view_text(req)
  local n = count_states(text)
  if req.schema then
    local ctx = { prefs = preferences(n), summary = summary(n) }
    return { text = json.encode(instance(req.schema, ctx)) }
  end
  return { text = summary(n) .. ". Nothing to do without a script." }
end

return M
