-- tests/lua/test_canon_decode.lua: json.decode (canon.decode, C) against
-- what it replaced, cjson.decode plus canon.normalize, on hand-picked texts
-- and thousands of random documents and mutations of them (whatever the new
-- decoder accepts, cjson accepts with the same value); exact error texts,
-- escapes and surrogate pairs, nesting limits, huge numbers, big containers.
local T = ...
local canon = require "baton.canon"
local cjson = require "cjson"
local json = require "baton.json"

-- The old json.decode: cjson, then integers and nulls fixed in place.
local function old_decode(text, strip)
  local ok, v = pcall(cjson.decode, text)
  if not ok then return nil, "error" end
  if type(v) == "table" then return canon.normalize(v, true, strip) end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then return math.tointeger(v) end
  if strip and v == cjson.null then return nil end
  return v
end

-- Deep equality that tells integers from floats.
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    return math.type(a) == math.type(b) and (a == b or (a ~= a and b ~= b))
  end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function agree(text, strip)
  local got, err = json.decode(text, strip)
  local want, werr = old_decode(text, strip)
  if err then return false, err end
  T.ok(not werr, "cjson rejects what canon.decode accepts: " .. text)
  T.ok(same(got, want), "different values for " .. text)
  return true
end

T.test("decode-1.1 values, types and nulls as before", function()
  for _, text in ipairs {
    '{"a":3,"b":[1.5,2.0,-7],"c":1e300,"d":-0,"e":0.5e1,"f":1E2,"g":-1.25e-3}',
    '[]', '{}', '[[]]', '[{}]', 'true', 'false', '"x"', '0', '-12', ' \t\r\n[ 1 , 2 ]\n',
    '{"a":null,"b":[1,2.0,null,{"c":null,"d":4.5}],"e":{"f":3e2}}', 'null',
    '123456789012345', '1234567890123456', '9007199254740991', '9007199254740992',
    '9007199254740993', '12345678901234567890', '-12345678901234567890', '1e400', '-1e400',
    '0.1', '1e-400', '5e-324', '100000000000000000000000000000000000000000000000000000000000000000000000000',
    '{"a":1,"a":2}', '{"a":1,"a":null}', '{"":""}', '["\\u0000"]',
  } do
    T.ok(agree(text), text)
    T.ok(agree(text, true), text .. " (strip)")
  end
  local s = json.decode('[1,null,3,null]', true)
  T.eq(s[1], 1) T.eq(s[2], nil) T.eq(s[3], 3) T.eq(s[4], nil)
  T.eq(json.decode('{"a":1,"a":null}', true).a, nil) -- the later null clears it, as before
  T.eq(json.decode("null"), json.null)
  T.eq(json.decode("null", true), nil)
  T.eq(math.type(json.decode "-0"), "integer")
  T.eq(json.decode "1e400", math.huge)
  T.eq(math.type(json.decode "9007199254740991"), "integer")
  T.eq(math.type(json.decode "9007199254740993"), "float")
end)

T.test("decode-1.2 strings: escapes, \\u, surrogate pairs, UTF-8, raw bytes", function()
  T.eq(json.decode [["a\"b\\c\/d\b\f\n\r\t"]], 'a"b\\c/d\b\f\n\r\t')
  T.eq(json.decode [["\u00e9\u20ac\ud83d\ude00\u0041"]], "é€😀A")
  T.eq(json.decode [["\uD83D\uDE00"]], "😀")
  T.eq(json.decode '"é raw\1tab\t"', "é raw\1tab\t")
  T.eq(json.decode('"a\0b"'), "a\0b")
  T.eq(json.decode('"' .. ("x"):rep(5000) .. '\\n' .. ("y"):rep(3000) .. '"'), ("x"):rep(5000) .. "\n" .. ("y"):rep(3000))
  for _, text in ipairs { [["\u00e9"]], [["\ud83d\ude00 ok"]], [["a\u0000b"]], [["\"\\"]], [["1234567\"89"]] } do
    T.ok(agree(text), text)
  end
end)

T.test("decode-1.3 errors are values worded as cjson's", function()
  local cases = {
    { "{", "json: Expected object key string but found T_END at character 2" },
    { "[1 2]", "json: Expected comma or array end but found T_NUMBER at character 4" },
    { '{"a" 1}', "json: Expected colon but found T_NUMBER at character 6" },
    { '{"a":1 "b"}', "json: Expected comma or object end but found T_STRING at character 8" },
    { "[1,]", "json: Expected value but found T_ARR_END at character 4" },
    { [["\x"]], "json: Expected value but found invalid escape code at character 2" },
    { [["\ud800"]], "json: Expected value but found invalid unicode escape code at character 2" },
    { [["\udc00"]], "json: Expected value but found invalid unicode escape code at character 2" },
    { [["\ud800\u0041"]], "json: Expected value but found invalid unicode escape code at character 2" },
    { [["\u12g4"]], "json: Expected value but found invalid unicode escape code at character 2" },
    { "-", "json: Expected value but found invalid number at character 1" },
    { "1.", "json: Expected value but found invalid number at character 1" },
    { "1e+", "json: Expected value but found invalid number at character 1" },
    { "{nope", "json: Expected object key string but found invalid token at character 2" },
    { "nul", "json: Expected value but found invalid token at character 1" },
    { "[1]x", "json: Expected the end but found invalid token at character 4" },
    { "  ", "json: Expected value but found T_END at character 3" },
    { "", "json: Expected value but found T_END at character 1" },
    { '"abc', "json: Expected value but found unexpected end of string at character 1" },
    { '{"a\\', "json: Expected object key string but found unexpected end of string at character 2" },
    { "01", "json: Expected the end but found T_NUMBER at character 2" },
    { "NaN", "json: Expected value but found invalid token at character 1" },
    { "[Infinity]", "json: Expected value but found invalid token at character 2" },
    { "0x10", "json: Expected the end but found invalid token at character 2" },
    { "{1:2}", "json: Expected object key string but found T_NUMBER at character 2" },
    { "[1}", "json: Expected comma or array end but found T_OBJ_END at character 3" },
    { "[true false]", "json: Expected comma or array end but found T_BOOLEAN at character 7" },
    { "[null :]", "json: Expected comma or array end but found T_COLON at character 7" },
  }
  for _, c in ipairs(cases) do
    local v, err = json.decode(c[1])
    T.eq(v, nil, c[1])
    T.eq(err, c[2], c[1])
  end
  T.eq(select(2, json.decode(nil)), "json: expected a string, got nil")
end)

T.test("decode-1.4 nesting up to 1000; deeper is an error, not a crash", function()
  local ok = ("["):rep(1000) .. ("]"):rep(1000)
  local v = assert(json.decode(ok))
  for _ = 1, 999 do v = v[1] end
  T.eq(next(v), nil)
  local _, err = json.decode(("["):rep(1001) .. ("]"):rep(1001))
  T.eq(err, "json: Found too many nested data structures (1001) at character 1001")
  _, err = json.decode(('{"a":'):rep(5000))
  T.eq(err, "json: Found too many nested data structures (1001) at character 5001")
  -- inside a coroutine (a loop task) as well
  local co = coroutine.wrap(function() return json.decode(ok) end)
  T.eq(type(co()), "table")
end)

T.test("decode-1.5 containers past the stack chunk keep order and sizes", function()
  local parts, keys = {}, {}
  for i = 1, 1000 do
    parts[i] = tostring(i % 7 == 0 and "null" or i)
    keys[i] = string.format('"k%d":%d', i % 300, i) -- duplicates across chunks: the last wins
  end
  local arr = "[" .. table.concat(parts, ",") .. "]"
  T.ok(agree(arr)) T.ok(agree(arr, true))
  local a = json.decode(arr, true)
  T.eq(a[1000], 1000) T.eq(a[7], nil) T.eq(a[999], 999)
  local obj = "{" .. table.concat(keys, ",") .. "}"
  T.ok(agree(obj))
  T.eq(json.decode(obj).k0, 900)
  T.eq(json.decode(obj).k299, 899)
end)

-- Random documents: every JSON construct, random white space.
local function rand_string()
  local pieces = {}
  for i = 1, math.random(0, 6) do
    local r = math.random(12)
    if r == 1 then pieces[i] = "\\n"
    elseif r == 2 then pieces[i] = '\\"'
    elseif r == 3 then pieces[i] = string.format("\\u%04x", math.random(0, 0xD7FF))
    elseif r == 4 then pieces[i] = string.format("\\u%04X\\u%04x", math.random(0xD800, 0xDBFF), math.random(0xDC00, 0xDFFF))
    elseif r == 5 then pieces[i] = "\\\\"
    elseif r == 6 then pieces[i] = "é😀"
    elseif r == 7 then pieces[i] = ("abcdefgh"):rep(math.random(0, 4))
    elseif r == 8 then pieces[i] = "\\/\\t\\b\\f\\r"
    else pieces[i] = string.char(math.random(32, 126)):gsub('[\\"]', "x") end
  end
  return '"' .. table.concat(pieces) .. '"'
end
local function rand_number()
  local r = math.random(6)
  if r == 1 then return tostring(math.random(-1000, 1000)) end
  if r == 2 then return string.format("%.17g", (math.random() - 0.5) * 10 ^ math.random(-30, 30)) end
  if r == 3 then return tostring(math.random(0, 9)) .. "." .. tostring(math.random(0, 99999)) end
  if r == 4 then return string.format("%de%s%d", math.random(-9, 9), ({ "", "+", "-" })[math.random(3)], math.random(0, 20)) end
  if r == 5 then return ("9"):rep(math.random(14, 25)) end
  return "-0.0"
end
local function ws() return ({ "", "", " ", "\n\t", "  \r\n" })[math.random(5)] end
local function rand_value(depth)
  local r = math.random(depth > 3 and 6 or 9)
  if r == 8 and depth > 0 then r = 7 end -- one long array at most, at the top
  if r == 1 then return rand_string() end
  if r == 2 or r == 3 then return rand_number() end
  if r == 4 then return ({ "true", "false", "null" })[math.random(3)] end
  if r == 5 or r == 6 then return rand_string() end
  local out = {}
  if r <= 8 then
    for i = 1, math.random(0, r == 8 and 80 or 5) do out[i] = ws() .. rand_value(depth + 1) .. ws() end
    return "[" .. table.concat(out, ",") .. "]"
  end
  for i = 1, math.random(0, 6) do out[i] = ws() .. rand_string() .. ws() .. ":" .. rand_value(depth + 1) end
  return "{" .. table.concat(out, ",") .. "}"
end

T.test("decode-2.1 random documents decode as cjson + normalize did", function()
  math.randomseed(8)
  for _ = 1, 3000 do
    local text = ws() .. rand_value(0) .. ws()
    T.ok(agree(text, math.random(2) == 1), text)
  end
end)

T.test("decode-2.2 mutated documents: accepted only when cjson agrees", function()
  math.randomseed(88)
  local noise = { "", '"', "\\", "{", "}", "[", "]", ",", ":", "-", "0", "e", "\\u", "\\ud800", "x", " ", "n" }
  local accepted, rejected = 0, 0
  for _ = 1, 4000 do
    local text = rand_value(0)
    for _ = 1, math.random(1, 3) do
      local at = math.random(0, #text)
      local cut = math.random(0, 2)
      text = text:sub(1, at) .. noise[math.random(#noise)] .. text:sub(at + 1 + cut)
    end
    if math.random(5) == 1 then text = text:sub(1, math.random(0, #text)) end
    local ok, err = agree(text, math.random(2) == 1)
    if ok then accepted = accepted + 1 else
      rejected = rejected + 1
      T.match(err, "^json: ", text)
    end
  end
  T.ok(accepted > 100 and rejected > 1000, accepted .. " accepted, " .. rejected .. " rejected")
end)
