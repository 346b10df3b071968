-- tests/lua/test_canon.lua: baton.canon, the C canonical JSON encoder behind
-- json.encode, against a reference encoder written in Lua from the rules
-- (sorted keys, integers as integers, %.17g floats, minimal escapes) on
-- hand-picked and random values; request keys that skip the aliases in
-- tool schemas; and ssot's update_run statement cache (both speed fixes of
-- bench/RESULTS.md).
local T = ...
local canon = require "baton.canon"
local json = require "baton.json"
local llm = require "baton.llm"
local reqkey = require "baton.reqkey"

-- The reference: the rules of baton.json spelled out in plain Lua.
local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t" }
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESC[c] or (c:byte() < 32 and string.format("\\u%04x", c:byte())) or c
  end) .. '"'
end
local function num(n)
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return string.format("%d", math.tointeger(n)) end
  return string.format("%.17g", n)
end
local function ref(v)
  local tv = type(v)
  if tv == "string" then return quote(v) end
  if tv == "number" then return num(v) end
  if tv == "boolean" then return tostring(v) end
  if v == nil or v == json.null then return "null" end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  local is_array = n > 0 or getmetatable(v) == json.array_mt
  for i = 1, n do if v[i] == nil then is_array = false end end
  local out = {}
  if is_array then
    for i = 1, n do out[i] = ref(v[i]) end
    return "[" .. table.concat(out, ",") .. "]"
  end
  local keys, by = {}, {}
  for k, x in pairs(v) do
    local s = type(k) == "number" and num(k) or k
    keys[#keys + 1], by[s] = s, x
  end
  table.sort(keys)
  for i, k in ipairs(keys) do out[i] = quote(k) .. ":" .. ref(by[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end

-- A random value of bounded depth: every kind the encoder distinguishes.
local function random_string(rng)
  local b = {}
  for i = 1, rng(0, 12) do b[i] = string.char(rng(0, 1) == 0 and rng(0, 255) or rng(97, 122)) end
  return table.concat(b)
end
local function random_value(rng, depth)
  local k = rng(1, depth > 3 and 6 or 9)
  if k == 1 then return random_string(rng) end
  if k == 2 then return rng(-1000000, 1000000) end
  if k == 3 then return (rng(-1e6, 1e6) / rng(1, 97)) * 10.0 ^ rng(-30, 30) end
  if k == 4 then return rng(0, 1) == 1 end
  if k == 5 then return json.null end
  if k == 6 then return rng(0, 3) * 1.0 end
  local t = k == 9 and setmetatable({}, json.array_mt) or {}
  for i = 1, rng(0, 6) do
    if k == 7 then t[i] = random_value(rng, depth + 1)
    elseif k == 8 then t[random_string(rng)] = random_value(rng, depth + 1)
    else t[rng(1, 8)] = random_value(rng, depth + 1) end
  end
  return t
end

T.test("canon-1.1 the C encoder equals the reference on 3000 random values", function()
  math.randomseed(20261126)
  for i = 1, 3000 do
    local v = random_value(math.random, 0)
    local got, want = canon.encode(v, json.array_mt), ref(v)
    if got ~= want then error(string.format("value %d: got %s, want %s", i, got, want), 0) end
  end
end)

T.test("canon-1.2 edge values: -0.0, 2^53, huge integers, DEL, long strings", function()
  T.eq(json.encode { -0.0, 2.0 ^ 53, 2.0 ^ 53 - 1, math.maxinteger, 1e-300 },
    "[0,9007199254740992,9007199254740991,9223372036854775807,1e-300]")
  T.eq(json.encode "\127\0x", '"\127\\u0000x"')
  local long = string.rep('ab"\n', 5000)
  T.eq(json.encode { [long] = long }, ref { [long] = long })
  T.eq(json.encode { [1.5] = 1, [2] = 2, b = 3 }, '{"1.5":1,"2":2,"b":3}')
  local big = {} -- more keys than the small-object sort handles, numbers among them
  for i = 1, 40 do big[i % 3 == 0 and ("k" .. i) or (i % 3 == 1 and i * 1.5 or -i)] = i end
  T.eq(json.encode(big), ref(big))
  T.eq(json.encode { math.mininteger, -1, 0, 10, -2.0 ^ 53 + 1, { [-7] = 0 } },
    '[-9223372036854775808,-1,0,10,-9007199254740991,{"-7":0}]')
end)

T.test("canon-1.3 errors name what JSON cannot say", function()
  T.raises(function() json.encode { a = { coroutine.create(print) } } end,
    "json: cannot encode a value of type thread")
  T.raises(function() json.encode { [{}] = 1 } end, "json: cannot encode a key of type table")
  T.raises(function() json.encode { x = -math.huge } end, "json: cannot encode -inf")
  T.raises(function() json.encode(io.stdout) end, "json: cannot encode a value of type userdata")
  local deep = {}
  local cur = deep
  for _ = 1, 100 do cur[1] = {} cur = cur[1] end
  T.eq(#json.encode(deep), 202) -- 101 nested tables are fine; one more is not
  cur[1] = {}
  T.raises(function() json.encode(deep) end, "json: nesting deeper than 100 (a cycle?)")
end)

T.test("canon-2.1 request keys hash the canonical whole request", function()
  local tools = { { name = "write_file", description = "writes rab123", parameters = { type = "object" } } }
  local req = { model = "m", system = "s rab123", messages = { { role = "user", content = "do rab123" } },
    tools = tools }
  local whole = json.encode { model = "m", system = "s rab123", messages = req.messages, tools = tools }
  T.eq(llm.request_key(req), json.fnv1a64(whole))
  -- aliases rename run ids in the conversation, not inside tool schemas
  req.key_aliases = { rab123 = "T1" }
  T.eq(llm.request_key(req), json.fnv1a64((whole:gsub('"do rab123"', '"do T1"'):gsub('"s rab123"', '"s T1"'))))
  T.eq(llm.request_key { tools = {} }, json.fnv1a64 '{"tools":{}}')
  T.eq(llm.request_key {}, json.fnv1a64 "{}")
end)

T.test("canon-2.2 raw fragments are copied; cached tool schemas give the same key and body", function()
  T.eq(json.encode { b = json.raw '{"x":[1,2]}', a = 1 }, '{"a":1,"b":{"x":[1,2]}}')
  T.eq(json.encode { json.raw "" }, "[]")
  T.raises(function() json.encode(setmetatable({}, json.raw_mt)) end,
    "json: a raw fragment needs its text at [1]")
  local params = { type = "object", properties = { path = { type = "string" } }, required = { "path" } }
  local e = json.encoded(params)
  T.eq(json.encoded(params), e) -- once per table
  T.eq(json.encode(e), json.encode(params))
  -- the key of a request with tools equals the key of the whole request, encoded plainly,
  -- also on the second call (the cached parameters)
  local tools = { { name = "w", description = "d", parameters = params }, { name = "x" } }
  local req = { model = "m", messages = { { role = "user", content = "hi" } }, tools = tools }
  local whole = json.fnv1a64(json.encode { model = "m", messages = req.messages, tools = tools })
  T.eq(llm.request_key(req), whole)
  T.eq(llm.request_key(req), whole)
  T.eq(tools[1].parameters, params) -- the caller's tools are not changed
  local openai = require "baton.llm.openai"
  local body = json.encode(openai.body(req, { name = "m" }, {}))
  T.eq(body:find('"parameters":' .. json.encode(params), 1, true) ~= nil, true)
end)

T.test("canon-1.4 strings with escapes at every offset (the encoder copies 8 bytes at a time)", function()
  math.randomseed(7)
  local specials = { '"', "\\", "\n", "\0", "\31", "\127", "\200", "a", " " }
  for len = 0, 40 do
    for _ = 1, 20 do
      local b = {}
      for i = 1, len do
        b[i] = math.random(1, 4) == 1 and specials[math.random(#specials)] or string.char(math.random(32, 126))
      end
      local s = table.concat(b)
      T.eq(json.encode(s), quote(s))
    end
  end
end)

-- llm.request_key as it was written in Lua (string.gsub over the text): the
-- C path must give the same keys, or a resumed run would miss its ledger.
local function ref_key(req, aliases)
  local text = ref { model = req.model, system = req.system, messages = req.messages, schema = req.schema }
  if aliases then text = text:gsub("%w+", aliases) end
  if req.tools ~= nil then
    text = (text == "{}" and "{" or text:sub(1, -2) .. ",") .. '"tools":' .. ref(req.tools) .. "}"
  end
  return json.fnv1a64(text)
end

T.test("canon-2.3 request keys with aliases (a table or json.aliases) equal string.gsub's", function()
  math.randomseed(11)
  local aliases = { rab123 = "T1", run9x = "RUN", r00001 = "T2", ["not a word"] = "X", no = false, n7 = 7 }
  local set = json.aliases(aliases)
  local words = { "rab123", "run9x", "r00001", "no", "n7", "nrab123", "rab1234", "x", "\n", "\t", " ", "-", "é",
    '"', "_", "rab123_", "RAB123" }
  local params = { type = "object", properties = { rab123 = { type = "string" } } }
  local function text()
    local b = {}
    for i = 1, math.random(0, 12) do b[i] = words[math.random(#words)] end
    return table.concat(b)
  end
  for _ = 1, 300 do
    local req = { model = "m", system = math.random(1, 3) > 1 and text() or nil,
      messages = { { role = "user", content = text() }, { role = "assistant", content = text(),
        tool_calls = { { id = text(), name = "w", arguments = { path = text() } } } } } }
    if math.random(1, 2) == 1 then
      req.tools = { { name = "w", description = text(), parameters = params }, { name = "x", parameters = params },
        { name = "y", description = "rab123", extra = text() } }
    end
    if math.random(1, 3) == 1 then req.schema = params end -- one table, encoded once: the same keys
    T.eq(llm.request_key(req), ref_key(req))
    req.key_aliases = aliases
    local want = ref_key(req, aliases)
    T.eq(llm.request_key(req), want)
    T.eq(llm.request_key(req, set), want)
  end
  T.eq(llm.request_key({}, set), json.fnv1a64 "{}")
  T.eq(llm.request_key({ tools = {} }, set), json.fnv1a64 '{"tools":{}}')
  T.raises(function() json.aliases { x = {} } end,
    "json.aliases: the name for 'x' is a table (a string or number is needed)")
  T.raises(function() llm.request_key { system = "a x b", key_aliases = { x = {} } } end,
    "invalid replacement value (a table)")
  local reqkey = require "baton.reqkey"
  local ok, err = pcall(reqkey.hash, "[]")
  T.eq(ok, false) T.match(err, "^bad argument #1 to '.-' %(a JSON object expected%)$")
  ok, err = pcall(reqkey.hash, "{}", 5)
  T.eq(ok, false) T.match(err, "^bad argument #2 to '.-' %(nil, table or reqkey.aliases expected, got number%)$")
  T.eq(reqkey.hash("{}", nil, "[]"), json.fnv1a64 '{"tools":[]}')
end)

T.test("canon-2.4 a tool encoded once gives the key of what it is now", function()
  local params = { type = "object" }
  local tools = { { name = "a", description = "one", parameters = params } }
  local req = { model = "m", tools = tools }
  T.eq(llm.request_key(req), ref_key(req))
  tools[1] = { name = "a", description = "two", parameters = params } -- same parameters and name
  T.eq(llm.request_key(req), ref_key(req))
  tools[2] = { name = "b", description = "two", parameters = params } -- parameters shared by two tools
  T.eq(llm.request_key(req), ref_key(req))
  tools[1].strict = true -- a field baton.tools never sets: encoded as it is
  T.eq(llm.request_key(req), ref_key(req))
  tools[3] = setmetatable({ name = "c" }, { __index = { description = "inherited" } })
  T.eq(llm.request_key(req), ref_key(req))
end)

T.test("canon-1.5 the kept buffer: after errors, inside a metamethod, after a large value", function()
  local big = string.rep("x", 300 * 1024) -- past what the buffer keeps between calls
  T.eq(#json.encode({ big }), #big + 4)
  T.raises(function() json.encode({ a = { 1, print } }) end, "json: cannot encode a value of type function")
  T.raises(function() json.encode({ b = 0 / 0 }) end, "json: cannot encode " .. tostring(0 / 0))
  T.eq(json.encode({ z = 1, a = { 2, "y" } }), '{"a":[2,"y"],"z":1}')
  -- lua_geti runs __index, which encodes meanwhile: each output stays whole
  local inner = setmetatable({ [2] = "b" }, { __index = function(_, i)
    return i == 1 and json.encode({ k = { 1, 2 } }) or nil end })
  T.eq(json.encode({ x = inner, y = "after" }), '{"x":["{\\"k\\":[1,2]}"],"y":"after"}') -- one key: [1]
  T.eq(json.encode({ big, 1 }), '["' .. big .. '",1]')
  T.eq(json.encode({}), "{}")
end)

T.test("canon-2.6 json.tool_list: the cached tools' text in C, or nil (then Lua does it)", function()
  local wire = require "baton.llm.wire"
  local p1, p2 = { type = "object" }, { type = "object", required = setmetatable({}, json.array_mt) }
  local tools = { { name = "a", description = "one", parameters = p1 }, { name = "b", parameters = p2 } }
  local cache = wire.tool_cache()
  T.eq(json.tool_list(tools, cache), nil) -- nothing cached yet
  local raws = {}
  for i, t in ipairs(tools) do raws[i] = wire.tool_raw(cache, t, function(x) return x end) end
  local want = json.encode(raws)
  T.eq(want, json.encode(tools))
  T.eq(json.tool_list(tools, cache), want)
  tools[1].description = "changed"
  T.eq(json.tool_list(tools, cache), nil)
  tools[1].description = "one"
  tools[2].strict = true
  T.eq(json.tool_list(tools, cache), nil)
  tools[2].strict = nil
  tools.extra = 1
  T.eq(json.tool_list(tools, cache), nil)
  tools.extra = nil
  T.eq(json.tool_list(tools, cache), want)
  T.eq(json.tool_list({}, cache), nil)
  T.eq(json.tool_list({ tools[1], nil, tools[2] }, cache), nil)
  T.eq(json.tool_list(setmetatable({ tools[1] }, {}), cache), nil)
  T.eq(json.tool_list({ setmetatable({ name = "a", description = "one", parameters = p1 }, {}) }, cache), nil)
  T.eq(json.tool_list({ { name = "a", description = "one", parameters = p1, [1] = 2 } }, cache), nil)
  T.eq(json.tool_list({ { name = "a", description = "one", parameters = {} } }, cache), nil)
  T.eq(json.tool_list({ { name = "a", description = "one", parameters = p1 } }, cache), "[" .. raws[1][1] .. "]")
  T.eq(json.tool_list({ "a" }, cache), nil)
  -- request keys: the Lua way (first call) and the C way (second) agree with the plain encoding
  local req = { model = "m", tools = { { name = "t", description = "d", parameters = p2 }, tools[1] } }
  local whole = json.fnv1a64(json.encode { model = "m", tools = req.tools })
  T.eq(llm.request_key(req), whole)
  T.eq(llm.request_key(req), whole)
  req.tools[1].parameters = p1
  T.eq(llm.request_key(req), json.fnv1a64(json.encode { model = "m", tools = req.tools }))
end)

T.test("canon-2.5 decode: integers and nulls in C; strip on request", function()
  local t = json.decode '{"a":null,"b":[1,2.0,null,{"c":null,"d":4.5}],"e":{"f":3e2}}'
  T.eq(t.a, json.null)
  T.eq(math.type(t.b[2]), "integer")
  T.eq(t.b[4].c, json.null)
  T.eq(math.type(t.e.f), "integer")
  local s = json.decode('{"a":null,"b":[1,2.0,null,{"c":null,"d":4.5}],"e":{"f":3e2}}', true)
  T.eq(next(s) ~= nil and s.a, nil)
  T.eq(s.b[3], nil)
  T.eq(s.b[4].c, nil)
  T.eq(s.b[4].d, 4.5)
  T.eq(math.type(s.b[2]), "integer")
  T.eq(json.decode("null", true), nil)
  T.eq(json.decode("null"), json.null)
  T.eq(math.type(json.decode "2.0"), "integer")
  T.eq(json.strip_nulls(false), nil) -- as before: a non-table non-null comes back, except false
  T.eq(json.strip_nulls("x"), "x")
  local raw = { 1.0, { json.null, x = json.null, y = 2.0 } }
  T.eq(json.strip_nulls(raw), raw)
  T.eq(raw[2].x, nil)
  T.eq(math.type(raw[2].y), "float") -- strip_nulls leaves numbers alone
  local deep = {}
  local cur = deep
  for _ = 1, 1001 do cur[1] = {} cur = cur[1] end
  T.raises(function() json.strip_nulls(deep) end, "json: nesting deeper than 1000 (a cycle?)")
end)

T.test("canon-3.1 update_run: more field sets than its statement cache, each right", function()
  local ssot = require "baton.ssot"
  local db = assert(ssot.open(T.tmpdir() .. "/.baton/baton.db"))
  T.defer(function() db:close() end)
  local run = db:create_run { requirement = "r" }
  local sets = { { iteration = 1 }, { retry_used = 2 }, { retry_max = 5 }, { controller_pid = 7 },
    { policy = "p" }, { team = "t" }, { workspace = "/w" }, { meta = { a = 1 } }, { spent = { tokens = 3 } },
    { budgets = { tokens = 9 } }, { models = { m = "x" } }, { iteration = 2, status = "STOPPED" },
    { iteration = 3 } } -- 12 sets: 8 cached, 4 prepared each time; then a cached one again
  for _, f in ipairs(sets) do T.eq(db:update_run(run.id, f), true) end
  local r = db:run(run.id)
  T.eq(r.iteration, 3)
  T.eq(r.status, "STOPPED")
  T.eq(r.retry_used, 2)
  T.eq(r.models.m, "x")
  T.eq(r.spent.tokens, 3)
  local evs = db:events(run.id, { kind = "run" })
  T.eq(evs[#evs].payload.updated[1], "iteration")
  T.raises(function() db:update_run(run.id, { colour = 1 }) end, "unknown run field 'colour'")
end)

-- FNV-1a 64 in plain Lua (integer multiplication wraps modulo 2^64): the C
-- hash, eight bytes a round, must give the same keys as ever on every length.
local function lua_fnv(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
  return string.format("%016x", h)
end

T.test("canon-3.1 fnv1a64 and aliased keys match a plain Lua FNV-1a on every length", function()
  math.randomseed(31)
  local set = json.aliases { rab123 = "T1", RUN9 = "RUN" }
  for n = 0, 70 do
    local b = {}
    for i = 1, n do b[i] = string.char(math.random(0, 255)) end
    local s = table.concat(b)
    T.eq(json.fnv1a64(s), lua_fnv(s), "length " .. n)
    local words = {}
    for i = 1, n do words[i] = ({ "rab123", "x", "RUN9", " ", "prose", ",", "rab1234" })[math.random(7)] end
    local text = table.concat(words)
    T.eq(reqkey.hash("{" .. text .. "}", set), lua_fnv("{" .. text:gsub("%w+", { rab123 = "T1", RUN9 = "RUN" }) .. "}"))
  end
end)

T.test("canon-3.2 a long tool list (joined past the C stack buffer) gives the same key", function()
  local p = { type = "object", properties = { x = { type = "string" } } }
  for _, count in ipairs { 1, 8, 40 } do
    local tools = {}
    for i = 1, count do tools[i] = { name = "t" .. i, description = ("d" .. i):rep(120), parameters = p } end
    local req = { model = "m", tools = tools }
    local want = json.fnv1a64(json.encode { model = "m", tools = tools })
    T.eq(llm.request_key(req), want) -- fills the cache (the Lua way)
    T.eq(llm.request_key(req), want) -- from the cache (canon.tool_list)
  end
end)
