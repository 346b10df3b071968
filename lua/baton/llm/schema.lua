-- baton.llm.schema: validates a decoded JSON value against the JSON-schema
-- subset baton emits for structured output: type (object, array, string,
-- number, integer, boolean, null, or a list of these), enum, properties,
-- required, additionalProperties (false or a schema), items. Other keywords
-- are ignored. Error texts are fed back to the model on a re-ask, so they name
-- the JSON path ($.a.b[0]) and what was expected in plain words.
local cjson = require "cjson"
local json = require "baton.json"

local M = {}

local MAX_ERRORS = 5

local function kind(v)
  if v == cjson.null then return "null" end
  local t = type(v)
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  if t == "table" then
    if next(v) == nil then return "empty" end -- {} or [] after cjson: both fit
    local n = #v
    local count = 0
    for _ in pairs(v) do count = count + 1 end
    return (n > 0 and count == n) and "array" or "object"
  end
  return t
end

local function fits(k, want, v)
  if want == k then return true end
  if k == "empty" then return want == "object" or want == "array" end
  if want == "number" then return k == "integer" end
  -- 3.0 decodes as a float but is an integer in JSON's eyes
  if want == "integer" and k == "number" then return v == math.floor(v) end
  return false
end

local function show(v)
  if type(v) == "string" then
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    return json.encode(v)
  end
  local k = kind(v)
  if k == "object" or k == "array" or k == "empty" then return "an " .. (k == "array" and "array" or "object") end
  return json.encode(v)
end

local function type_ok(schema, v, path, errs)
  local want = schema.type
  if want == nil then return true end
  local k = kind(v)
  local list = type(want) == "table" and want or { want }
  for _, w in ipairs(list) do if fits(k, w, v) then return true end end
  local got = k == "empty" and "object" or k
  errs[#errs + 1] = string.format("%s: expected %s, got %s", path, table.concat(list, " or "), got)
  return false
end

local function enum_ok(schema, v, path, errs)
  if schema.enum == nil then return end
  for _, e in ipairs(schema.enum) do if e == v then return end end
  local names = {}
  for i, e in ipairs(schema.enum) do names[i] = json.encode(e) end
  errs[#errs + 1] = string.format("%s: expected one of %s, got %s", path, table.concat(names, ", "), show(v))
end

local check

local function check_object(schema, v, path, errs)
  local props = schema.properties or {}
  for _, name in ipairs(schema.required or {}) do
    if v[name] == nil then errs[#errs + 1] = string.format("%s: missing required property %q", path, name) end
  end
  local names = {}
  for name in pairs(v) do names[#names + 1] = tostring(name) end
  table.sort(names)
  local extra = schema.additionalProperties
  for _, name in ipairs(names) do
    local sub = props[name]
    if sub then check(sub, v[name], path .. "." .. name, errs)
    elseif extra == false then
      errs[#errs + 1] = string.format("%s: unexpected property %q", path, name)
    elseif type(extra) == "table" then check(extra, v[name], path .. "." .. name, errs) end
  end
end

function check(schema, v, path, errs)
  if #errs >= MAX_ERRORS then return end
  if not type_ok(schema, v, path, errs) then return end
  enum_ok(schema, v, path, errs)
  local k = kind(v)
  if k == "object" or (k == "empty" and (schema.properties or schema.required)) then
    check_object(schema, v, path, errs)
  elseif k == "array" and schema.items then
    for i, item in ipairs(v) do check(schema.items, item, string.format("%s[%d]", path, i - 1), errs) end
  end
end

-- Returns true, or false and the errors joined by "; " (at most 5).
function M.validate(schema, value)
  local errs = {}
  check(schema, value, "$", errs)
  if #errs == 0 then return true end
  return false, table.concat(errs, "; ")
end

-- Models like to wrap JSON in a ```json fence; take what is inside.
local function unfence(text)
  local inner = text:match("^%s*```[%w]*%s*\n(.-)\n?%s*```%s*$")
  return inner or text
end

-- Decodes a reply's text and validates it. Returns the decoded table, or
-- nil and an error for the model ("reply is not valid JSON: ..." or paths).
function M.check_reply(schema, text)
  local v, err = json.decode(unfence(text or ""))
  if err then return nil, "reply is not valid JSON (" .. err:gsub("^json: ", "") .. ")" end
  local ok, why = M.validate(schema, v)
  if not ok then return nil, why end
  return json.strip_nulls(v)
end

return M
