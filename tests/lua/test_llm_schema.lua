-- tests/lua/test_llm_schema.lua: the structured-output validator (exact error
-- texts, since they are sent back to the model) and the re-ask loop of
-- llm.chat, driven by the offline provider.
local T = ...
local schema = require "baton.llm.schema"
local llm = require "baton.llm"

local decision = {
  type = "object",
  properties = {
    action = { type = "string", enum = { "assign", "retry", "finish" } },
    target = { type = "string" },
    priority = { type = "integer" },
    weight = { type = "number" },
    urgent = { type = "boolean" },
    tags = { type = "array", items = { type = "string" } },
  },
  required = { "action", "target" },
  additionalProperties = false,
}

local function check(value) return select(2, schema.validate(decision, value)) end

T.test("schema-1.1 a valid object passes", function()
  T.eq(schema.validate(decision, { action = "assign", target = "r1", priority = 2, weight = 0.5,
                                   urgent = true, tags = { "a", "b" } }), true)
  T.eq(schema.validate(decision, { action = "finish", target = "", tags = {} }), true)
  T.eq(schema.validate(decision, { action = "retry", target = "x", weight = 3 }), true)
end)

T.test("schema-1.2 missing required properties", function()
  T.eq(check { action = "assign" }, '$: missing required property "target"')
  T.eq(check {}, '$: missing required property "action"; $: missing required property "target"')
end)

T.test("schema-1.3 wrong types name the path and both types", function()
  T.eq(check { action = "assign", target = 3 }, "$.target: expected string, got integer")
  T.eq(check { action = "assign", target = "x", priority = 1.5 }, "$.priority: expected integer, got number")
  T.eq(check { action = "assign", target = "x", urgent = "yes" }, "$.urgent: expected boolean, got string")
  T.eq(check { action = "assign", target = "x", tags = { "a", 2 } }, "$.tags[1]: expected string, got integer")
  T.eq(check { action = "assign", target = "x", tags = "a" }, "$.tags: expected array, got string")
  T.eq(select(2, schema.validate(decision, { 1, 2 })), "$: expected object, got array")
  T.eq(select(2, schema.validate(decision, "x")), "$: expected object, got string")
end)

T.test("schema-1.4 enum and additionalProperties", function()
  T.eq(check { action = "explode", target = "x" }, '$.action: expected one of "assign", "retry", "finish", got "explode"')
  T.eq(check { action = "assign", target = "x", colour = "red" }, '$: unexpected property "colour"')
  local open = { type = "object", additionalProperties = { type = "integer" } }
  T.eq(schema.validate(open, { a = 1 }), true)
  T.eq(select(2, schema.validate(open, { a = "1" })), "$.a: expected integer, got string")
end)

T.test("schema-1.5 type lists, null, and at most five errors", function()
  local s = { type = "object", properties = { a = { type = { "string", "null" } } } }
  T.eq(schema.validate(s, require("cjson").decode('{"a":null}')), true)
  T.eq(select(2, schema.validate(s, { a = 1 })), "$.a: expected string or null, got integer")
  local many = { type = "array", items = { type = "string" } }
  T.eq(select(2, schema.validate(many, { 1, 2, 3, 4, 5, 6, 7 })),
    "$[0]: expected string, got integer; $[1]: expected string, got integer; $[2]: expected string, got integer; " ..
    "$[3]: expected string, got integer; $[4]: expected string, got integer")
end)

T.test("schema-2.1 check_reply decodes, unfences and validates", function()
  local data = schema.check_reply(decision, '```json\n{"action":"retry","target":"r2"}\n```')
  T.eq(data.action, "retry")
  local d, err = schema.check_reply(decision, "I think we should retry")
  T.eq(d, nil)
  T.match(err, "^reply is not valid JSON %(Expected value but found invalid token at character 1%)$")
  d, err = schema.check_reply(decision, '{"action":"retry"}')
  T.eq(err, '$: missing required property "target"')
end)

local function script(replies)
  local turns = {}
  for i, text in ipairs(replies) do turns[i] = { reply = { text = text, usage = { input_tokens = 10, output_tokens = 5 } } } end
  return { turns = turns }
end

T.test("schema-3.1 an invalid reply is re-asked with the error, then accepted", function()
  local seen = {}
  llm.configure { offline = { turns = {
    { reply = function(req) seen[1] = req.messages[#req.messages].content
        return { text = '{"action":"explode","target":"x"}', usage = { input_tokens = 10, output_tokens = 5 } } end },
    { reply = function(req) seen[2] = req.messages[#req.messages].content
        return { text = '{"action":"retry","target":"x"}', usage = { input_tokens = 20, output_tokens = 5 } } end },
  } } }
  local r = assert(llm.chat { model = "offline", schema = decision, messages = { { role = "user", content = "decide" } } })
  T.eq(seen[1], "decide")
  T.eq(seen[2], 'Your reply did not match the required JSON schema: $.action: expected one of "assign", "retry", ' ..
    '"finish", got "explode". Reply again with only the corrected JSON.')
  T.eq(r.data.action, "retry")
  T.eq(#r.attempts, 2)
  T.eq(r.attempts[1].status, "invalid")
  T.eq(r.attempts[2].status, "ok")
  T.eq(r.total_usage.input_tokens, 30)
  T.eq(r.cost, 0)
end)

T.test("schema-3.2 still invalid after the re-asks: invalid_reply, every attempt reported", function()
  llm.configure { offline = script { "no", "still no", "never" } }
  local r, err, code, info = llm.chat { model = "offline", schema = decision, messages = { { role = "user", content = "d" } } }
  T.eq(r, nil)
  T.eq(code, "invalid_reply")
  T.eq(err, "offline gave an invalid reply after 3 attempts: reply is not valid JSON " ..
    "(Expected value but found invalid token at character 1)")
  T.eq(#info.attempts, 3)
  llm.configure { offline = script { "no", "still no" } }
  r, err, code, info = llm.chat { model = "offline", schema = decision, schema_retries = 0,
                                   messages = { { role = "user", content = "d" } } }
  T.eq(code, "invalid_reply")
  T.eq(#info.attempts, 1)
  T.match(err, "^offline gave an invalid reply after 1 attempt: ")
end)
