-- tests/lua/test_llm_json.lua: baton.json's canonical encoder and hash, the
-- request keys built on them, model-string parsing and the price table.
local T = ...
local json = require "baton.json"
local llm = require "baton.llm"
local prices = require "baton.llm.prices"

T.test("json-1.1 objects sort their keys, arrays keep order", function()
  T.eq(json.encode { b = 1, a = { 3, 2, 1 }, c = { z = true, y = false } },
    '{"a":[3,2,1],"b":1,"c":{"y":false,"z":true}}')
end)

T.test("json-1.2 empty table is an object unless marked as an array", function()
  T.eq(json.encode {}, "{}")
  T.eq(json.encode(setmetatable({}, json.array_mt)), "[]")
  T.eq(json.encode { 1, nil, 3 }, '{"1":1,"3":3}')
end)

T.test("json-1.3 escaping: quotes, backslash, control bytes; UTF-8 passes through", function()
  T.eq(json.encode 'a"b\\c\n\t\r\b\f\1\31/é', '"a\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/é"')
  T.eq(json.decode(json.encode 'x"\1\n').."", 'x"\1\n')
end)

T.test("json-1.4 numbers: integers, integral floats, other floats", function()
  T.eq(json.encode { 1, -2, 3.0, 0.5, 1e300, math.mininteger },
    "[1,-2,3,0.5,1.0000000000000001e+300,-9223372036854775808]")
  T.raises(function() json.encode(0 / 0) end, "json: cannot encode " .. tostring(0 / 0))
  T.raises(function() json.encode(math.huge) end, "json: cannot encode inf")
end)

T.test("json-1.5 unsupported values and cycles raise", function()
  T.raises(function() json.encode { f = print } end, "json: cannot encode a value of type function")
  T.raises(function() json.encode { [true] = 1 } end, "json: cannot encode a key of type boolean")
  local t = {}
  t.self = t
  T.raises(function() json.encode(t) end, "json: nesting deeper than 100 (a cycle?)")
end)

T.test("json-1.6 decode: integral numbers become integers; errors are values", function()
  local t = json.decode '{"a":3,"b":[1.5,2.0,-7],"c":1e300}'
  T.eq(math.type(t.a), "integer")
  T.eq(math.type(t.b[1]), "float")
  T.eq(math.type(t.b[2]), "integer")
  T.eq(t.b[3], -7)
  T.eq(math.type(t.c), "float")
  local v, err = json.decode("{nope")
  T.eq(v, nil)
  T.match(err, "^json: Expected object key string")
  v, err = json.decode(nil)
  T.eq(err, "json: expected a string, got nil")
end)

T.test("json-2.1 FNV-1a 64 matches the published test vectors", function()
  T.eq(json.fnv1a64 "", "cbf29ce484222325")
  T.eq(json.fnv1a64 "a", "af63dc4c8601ec8c")
  T.eq(json.fnv1a64 "foobar", "85944171f73967e8")
  T.eq(#json.fnv1a64(string.rep("x", 1000)), 16)
end)

local req = {
  model = "openai:gpt-4o-mini", system = "be brief",
  messages = { { role = "user", content = "hi" },
               { role = "assistant", content = "", tool_calls = { { id = "c1", name = "f", arguments = { b = 2, a = 1 } } } } },
  tools = { { name = "f", parameters = { type = "object", properties = { a = { type = "integer" } } } } },
}

T.test("json-3.1 request keys are stable and ignore key order and extra fields", function()
  local k = llm.request_key(req)
  T.match(k, "^%x+$")
  T.eq(#k, 16)
  local same = { tools = req.tools, messages = { req.messages[1],
    { content = "", role = "assistant", tool_calls = { { arguments = { a = 1, b = 2 }, name = "f", id = "c1" } } } },
    system = "be brief", model = "openai:gpt-4o-mini", agent = "x", on_delta = print, timeout = 3 }
  T.eq(llm.request_key(same), k)
  T.eq(k, json.fnv1a64(json.encode { model = req.model, system = req.system, messages = req.messages, tools = req.tools }))
end)

T.test("json-3.2 request keys change with model, system, messages, tools, schema", function()
  local k = llm.request_key(req)
  local function with(field, value)
    local r = {}
    for f, v in pairs(req) do r[f] = v end
    r[field] = value
    return llm.request_key(r)
  end
  T.ok(with("model", "openai:gpt-4o") ~= k, "model")
  T.ok(with("system", "be long") ~= k, "system")
  T.ok(with("messages", { { role = "user", content = "hi!" } }) ~= k, "messages")
  T.ok(with("tools", nil) ~= k, "tools")
  T.ok(with("schema", { type = "object" }) ~= k, "schema")
end)

T.test("model-1.1 provider:model splits on the first colon", function()
  local s = assert(llm.parse_model "ollama:qwen2.5-coder:7b")
  T.eq(s.provider, "ollama")
  T.eq(s.name, "qwen2.5-coder:7b")
  T.eq(s.model, "ollama:qwen2.5-coder:7b")
  s = assert(llm.parse_model "anthropic:claude-sonnet-4-20250514")
  T.eq(s.provider .. "|" .. s.name, "anthropic|claude-sonnet-4-20250514")
  s = assert(llm.parse_model "offline")
  T.eq(s.provider .. "|" .. s.name, "offline|")
  s = assert(llm.parse_model "openai:meta-llama/Llama-3-8b")
  T.eq(s.provider .. "|" .. s.name, "openai|meta-llama/Llama-3-8b")
end)

T.test("model-1.2 LiteLLM-style provider/model for known providers", function()
  local s = assert(llm.parse_model "openai/gpt-4o-mini")
  T.eq(s.provider .. "|" .. s.name, "openai|gpt-4o-mini")
  s = assert(llm.parse_model "ollama/qwen2.5-coder:7b")
  T.eq(s.provider .. "|" .. s.name, "ollama|qwen2.5-coder:7b")
  -- parses are remembered per model string; a new provider name is seen at once
  T.eq(assert(llm.parse_model "openai/gpt-4o-mini").name, "gpt-4o-mini")
  T.eq(llm.parse_model "mllama/x:1", nil) -- provider "mllama/x": unknown
  llm.register("mllama", { chat = function() end })
  T.defer(function() llm.providers.mllama = nil end)
  s = assert(llm.parse_model "mllama/x:1")
  T.eq(s.provider .. "|" .. s.name .. "|" .. s.model, "mllama|x:1|mllama/x:1")
  llm.providers.mllama = nil
  T.eq(llm.parse_model "mllama/x:1", nil)
end)

T.test("model-1.3 unknown providers and empty model names are clear errors", function()
  local known = "known: anthropic, offline, ollama, openai, replay"
  local s, err, code = llm.parse_model "gpt-4o"
  T.eq(s, nil)
  T.eq(err, "unknown provider in model 'gpt-4o' (expected provider:model, e.g. openai:gpt-4o-mini; " .. known .. ")")
  T.eq(code, "unknown_provider")
  _, err = llm.parse_model "meta-llama/Llama:3"
  T.eq(err, "unknown provider in model 'meta-llama/Llama:3' (expected provider:model, e.g. openai:gpt-4o-mini; " .. known .. ")")
  _, err, code = llm.parse_model "openai:"
  T.eq(err, "model 'openai:' names no model (e.g. openai:<model>)")
  T.eq(code, "unknown_provider")
  _, err = llm.parse_model(nil)
  T.eq(err, "llm: req.model must be a model string like openai:gpt-4o-mini")
  local r
  r, err, code = llm.chat { model = "nosuch:x", messages = {} }
  T.eq(r, nil)
  T.eq(code, "unknown_provider")
end)

T.test("price-1.1 known models, dated names, wildcards, unknown is nil", function()
  T.eq(prices.cost("openai:gpt-4o-mini", { input_tokens = 1000000, output_tokens = 1000000 }), 0.75)
  T.eq(prices.cost("openai:gpt-4o-mini-2024-07-18", { input_tokens = 2000000, output_tokens = 0 }), 0.30)
  T.eq(prices.cost("anthropic:claude-sonnet-4-20250514", { input_tokens = 1000, output_tokens = 1000 }), 0.018)
  T.eq(prices.cost("ollama:qwen2.5-coder:7b", { input_tokens = 5000, output_tokens = 5000 }), 0)
  T.eq(prices.cost("openai:my-finetune", { input_tokens = 1, output_tokens = 1 }), nil)
end)

T.test("price-1.2 configure{prices=} overrides and adds; bad entries raise", function()
  llm.configure { prices = { ["openai:my-finetune"] = { input = 1, output = 2 } } }
  T.eq(prices.cost("openai:my-finetune", { input_tokens = 1000000, output_tokens = 500000 }), 2.0)
  T.raises(function() llm.configure { prices = { x = { input = 1 } } } end,
    "prices: entry x must be {input=<USD/1M>, output=<USD/1M>}")
  T.raises(function() llm.configure { bogus = 1 } end, "llm.configure: unknown option 'bogus'")
end)

T.test("price-1.3 a prices module on the search path overrides defaults", function()
  local dir = T.tmpdir()
  os.execute("mkdir -p " .. T.q(dir .. "/.baton"))
  T.write(dir .. "/.baton/prices.lua", 'return { ["gpt-4o-mini"] = { input = 100, output = 0 } }')
  T.write(dir .. "/p.lua", [[
    local p = require "baton.llm.prices"
    print(p.cost("openai:gpt-4o-mini", { input_tokens = 10000, output_tokens = 99 }))
    print(p.cost("openai:gpt-4o", { input_tokens = 1000000, output_tokens = 0 }))]])
  local r = T.baton({ "exec", dir .. "/p.lua" }, { cwd = dir })
  T.eq(r.err, "")
  T.eq(r.out, "1.0\n2.5\n")
end)
