-- baton.json: canonical JSON encoding and a 64-bit FNV-1a hash, written in Lua
-- so request keys (ledger reuse on resume, cassettes) are stable across runs,
-- machines and cjson versions. Decoding is cjson's job (json.decode wraps it).
-- Canonical means: object keys sorted bytewise, no whitespace, integers as
-- integers, floats with 17 significant digits, only the escapes JSON requires.
local cjson = require "cjson"

local M = {}

-- Arrays vs objects: a table whose keys are exactly 1..n (n >= 1) is an array;
-- every other table, including the empty one, is an object. Mark an empty
-- table with json.array_mt (setmetatable({}, json.array_mt)) to encode [].
M.array_mt = { __name = "baton.json.array" }
M.null = cjson.null

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or (c:byte() < 32 and string.format("\\u%04x", c:byte())) or c
  end) .. '"'
end

local function number(n)
  if n ~= n or n == math.huge or n == -math.huge then
    error("json: cannot encode " .. tostring(n), 0)
  end
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return string.format("%d", math.tointeger(n)) end
  return string.format("%.17g", n)
end

-- Returns n when t's keys are exactly 1..n with n >= 1, else nil.
local function array_length(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  if n == 0 then return getmetatable(t) == M.array_mt and 0 or nil end
  for i = 1, n do if t[i] == nil then return nil end end
  return n
end

local encode_value

local function encode_table(t, out, depth)
  if depth > 100 then error("json: nesting deeper than 100 (a cycle?)", 0) end
  local n = array_length(t)
  if n then
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  local keys, byname = {}, {}
  for k, v in pairs(t) do
    local tk = type(k)
    if tk == "number" then k = number(k)
    elseif tk ~= "string" then error("json: cannot encode a key of type " .. tk, 0) end
    keys[#keys + 1], byname[k] = k, v
  end
  table.sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = quote(k)
    out[#out + 1] = ":"
    encode_value(byname[k], out, depth + 1)
  end
  out[#out + 1] = "}"
end

function encode_value(v, out, depth)
  local tv = type(v)
  if tv == "string" then out[#out + 1] = quote(v)
  elseif tv == "number" then out[#out + 1] = number(v)
  elseif tv == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == cjson.null then out[#out + 1] = "null"
  elseif tv == "table" then encode_table(v, out, depth)
  else error("json: cannot encode a value of type " .. tv, 0) end
end

-- The canonical encoding of v. Raises on functions, cycles, NaN and infinity.
function M.encode(v)
  local out = {}
  encode_value(v, out, 0)
  return table.concat(out)
end

-- cjson decodes every number as a float; Lua 5.4 code wants 3, not 3.0,
-- for token counts, line numbers and ids. Integral floats below 2^53 become
-- integers (in place).
local function integers(v)
  if type(v) == "number" then
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then return math.tointeger(v) end
    return v
  end
  if type(v) == "table" then
    for k, x in pairs(v) do
      local y = integers(x)
      if y ~= x or math.type(y) ~= math.type(x) then v[k] = y end
    end
  end
  return v
end

-- Decodes text; returns value, or nil, "json: <reason>". Integral numbers
-- come back as Lua integers, null as json.null (see strip_nulls).
function M.decode(text)
  if type(text) ~= "string" then return nil, "json: expected a string, got " .. type(text) end
  local ok, v = pcall(cjson.decode, text)
  if not ok then return nil, "json: " .. tostring(v):gsub("^.-:%d+: ", "") end
  return integers(v)
end

-- Replaces every cjson.null in a decoded value by nil (in place) and returns it.
function M.strip_nulls(v)
  if type(v) ~= "table" then return v ~= cjson.null and v or nil end
  for k, x in pairs(v) do
    if x == cjson.null then v[k] = nil else M.strip_nulls(x) end
  end
  return v
end

local FNV_OFFSET, FNV_PRIME = 0xcbf29ce484222325, 0x100000001b3

-- 64-bit FNV-1a over the bytes of s, as 16 lowercase hex digits. Lua 5.4
-- integers are 64-bit and multiplication wraps, which is exactly mod 2^64.
function M.fnv1a64(s)
  local h, byte = FNV_OFFSET, string.byte
  for i = 1, #s, 64 do
    local chunk = { byte(s, i, math.min(i + 63, #s)) }
    for j = 1, #chunk do h = (h ~ chunk[j]) * FNV_PRIME end
  end
  return string.format("%016x", h)
end

return M
