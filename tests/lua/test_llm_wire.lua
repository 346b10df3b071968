-- tests/lua/test_llm_wire.lua: the wire formats of the HTTP providers without
-- a network: request bodies built from provider-neutral requests, replies
-- parsed, streamed SSE events assembled (tool calls by index, Anthropic
-- content blocks), error bodies and URL/key redaction.
local T = ...
local json = require "baton.json"
local openai = require "baton.llm.openai"
local anthropic = require "baton.llm.anthropic"
local ollama = require "baton.llm.ollama"
local wire = require "baton.llm.wire"

local req = {
  system = "sys",
  messages = {
    { role = "user", content = "add" },
    { role = "assistant", content = "", tool_calls = { { id = "c1", name = "write", arguments = { path = "a.c" } },
                                                       { id = "c2", name = "ls", arguments = {} } } },
    { role = "tool", tool_call_id = "c1", name = "write", content = "ok" },
    { role = "tool", tool_call_id = "c2", name = "ls", content = "a.c" },
    { role = "user", content = "now test" },
  },
  tools = { { name = "ls", description = "list", parameters = { type = "object", properties = {}, required = {} } } },
  max_tokens = 100,
}

T.test("wire-1.1 openai body: system first, tool calls with string arguments, tools", function()
  local b = json.encode(openai.body(req, { name = "gpt-4o-mini" }, { official = true }))
  T.eq(b, '{"max_completion_tokens":100,"messages":[{"content":"sys","role":"system"},' ..
    '{"content":"add","role":"user"},{"content":null,"role":"assistant","tool_calls":[' ..
    '{"function":{"arguments":"{\\"path\\":\\"a.c\\"}","name":"write"},"id":"c1","type":"function"},' ..
    '{"function":{"arguments":"{}","name":"ls"},"id":"c2","type":"function"}]},' ..
    '{"content":"ok","role":"tool","tool_call_id":"c1"},{"content":"a.c","role":"tool","tool_call_id":"c2"},' ..
    '{"content":"now test","role":"user"}],"model":"gpt-4o-mini","tools":[{"function":{"description":"list",' ..
    '"name":"ls","parameters":{"properties":{},"required":[],"type":"object"}},"type":"function"}]}')
end)

T.test("wire-1.2 openai body: schema as response_format, stream with usage, max_tokens elsewhere", function()
  local b = openai.body({ messages = { { role = "user", content = "x" } }, max_tokens = 5,
                          schema = { type = "object", properties = { enum = { type = "string" } }, required = { "enum" } } },
                        { name = "m" }, { stream = true })
  T.eq(json.encode(b.response_format), '{"json_schema":{"name":"reply","schema":{"properties":{"enum":' ..
    '{"type":"string"}},"required":["enum"],"type":"object"},"strict":false},"type":"json_schema"}')
  T.eq(b.stream, true)
  T.eq(b.stream_options.include_usage, true)
  T.eq(b.max_tokens, 5)
end)

T.test("wire-1.3 openai parse: tool arguments as string or object, missing ids, finish_reason", function()
  local t = json.decode [[{"choices":[{"message":{"content":null,"tool_calls":[
    {"id":"x1","type":"function","function":{"name":"write","arguments":"{\"path\":\"b.c\"}"}},
    {"function":{"name":"ls","arguments":{"dir":"."}}},
    {"function":{"name":"bad","arguments":"{nope"}}]},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":12,"completion_tokens":7}}]]
  local r = openai.parse(json.strip_nulls(t), "ollama")
  T.eq(r.text, "")
  T.eq(r.tool_calls[1].id, "x1")
  T.eq(r.tool_calls[1].arguments.path, "b.c")
  T.eq(r.tool_calls[2].id, "call_2")
  T.eq(r.tool_calls[2].arguments.dir, ".")
  T.eq(next(r.tool_calls[3].arguments), nil)
  T.eq(r.tool_calls[3].error, "arguments are not a JSON object (json: Expected object key string but found invalid token at character 2)")
  T.eq(r.finish_reason, "tool_calls")
  T.eq(r.usage.input_tokens, 12)
  T.eq(r.usage.output_tokens, 7)
  local _, err, code = openai.parse({ choices = {} }, "openai")
  T.eq(err, "openai: malformed reply (no choices[1].message)")
  T.eq(code, "server")
end)

local function feed(asm, events)
  for _, e in ipairs(events) do asm.feed(e) end
  return asm.result()
end

T.test("wire-2.1 openai stream: text deltas and tool calls assembled by index", function()
  local pieces = {}
  local asm = openai.assembler("openai", function(s) pieces[#pieces + 1] = s end)
  local r = assert(feed(asm, {
    { data = '{"choices":[{"delta":{"role":"assistant","content":"Hel"}}]}' },
    { data = '{"choices":[{"delta":{"content":"lo"}}]}' },
    { data = '{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"ls","arguments":""}}]}}]}' },
    { data = '{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"write","arguments":"{\\"pa"}}]}}]}' },
    { data = '{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\\":\\"x\\"}"}}]}}]}' },
    { data = '{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}' },
    { data = '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9}}' },
    { data = "[DONE]" },
  }))
  T.eq(table.concat(pieces, "|"), "Hel|lo")
  T.eq(r.text, "Hello")
  T.eq(#r.tool_calls, 2)
  T.eq(r.tool_calls[1].id .. r.tool_calls[1].name .. r.tool_calls[1].arguments.path, "awritex")
  T.eq(r.tool_calls[2].id .. r.tool_calls[2].name, "bls")
  T.eq(r.finish_reason, "tool_calls")
  T.eq(r.usage.output_tokens, 9)
  local bad = openai.assembler("openai")
  local _, err, code = feed(bad, { { data = "{oops" } })
  T.eq(err, "openai: malformed stream event (json: Expected object key string but found invalid token at character 2)")
  T.eq(code, "server")
end)

T.test("wire-3.1 anthropic body: blocks, merged tool results, schema in the system prompt", function()
  local b = anthropic.body(req, { name = "claude-x" }, {})
  T.eq(b.max_tokens, 100)
  T.eq(b.system, "sys")
  T.eq(json.encode(b.messages), '[{"content":[{"text":"add","type":"text"}],"role":"user"},' ..
    '{"content":[{"id":"c1","input":{"path":"a.c"},"name":"write","type":"tool_use"},' ..
    '{"id":"c2","input":{},"name":"ls","type":"tool_use"}],"role":"assistant"},' ..
    '{"content":[{"content":"ok","tool_use_id":"c1","type":"tool_result"},' ..
    '{"content":"a.c","tool_use_id":"c2","type":"tool_result"},{"text":"now test","type":"text"}],"role":"user"}]')
  T.eq(json.encode(b.tools), '[{"description":"list","input_schema":{"properties":{},"required":[],' ..
    '"type":"object"},"name":"ls"}]')
  local s = anthropic.body({ messages = { { role = "user", content = "x" } }, schema = { type = "object" } },
                           { name = "c" }, { stream = true })
  T.eq(s.system, 'Reply with only a JSON value (no prose, no code fence) that matches this JSON schema:\n{"type":"object"}')
  T.eq(s.max_tokens, 4096)
  T.eq(s.stream, true)
end)

T.test("wire-3.2 anthropic parse and stream", function()
  local r = anthropic.parse(json.decode [[{"content":[{"type":"text","text":"ok "},
    {"type":"tool_use","id":"tu1","name":"write","input":{"path":"z"}}],"stop_reason":"tool_use",
    "usage":{"input_tokens":4,"output_tokens":2}}]])
  T.eq(r.text .. r.tool_calls[1].id .. r.tool_calls[1].arguments.path, "ok tu1z")
  T.eq(r.finish_reason, "tool_calls")
  local pieces = {}
  local asm = anthropic.assembler(function(s) pieces[#pieces + 1] = s end)
  r = assert(feed(asm, {
    { event = "message_start", data = '{"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}' },
    { event = "content_block_start", data = '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}' },
    { event = "ping", data = '{"type":"ping"}' },
    { event = "content_block_delta", data = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}' },
    { event = "content_block_stop", data = '{"type":"content_block_stop","index":0}' },
    { event = "content_block_start", data = '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"write","input":{}}}' },
    { event = "content_block_delta", data = '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"path\\":"}}' },
    { event = "content_block_delta", data = '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"q.c\\"}"}}' },
    { event = "content_block_stop", data = '{"type":"content_block_stop","index":1}' },
    { event = "message_delta", data = '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":15}}' },
    { event = "message_stop", data = '{"type":"message_stop"}' },
  }))
  T.eq(table.concat(pieces), "Hi")
  T.eq(r.text, "Hi")
  T.eq(r.tool_calls[1].id .. r.tool_calls[1].name .. r.tool_calls[1].arguments.path, "t1writeq.c")
  T.eq(r.usage.input_tokens, 25)
  T.eq(r.usage.output_tokens, 15)
  T.eq(r.finish_reason, "tool_calls")
  local _, err, code = feed(anthropic.assembler(), {
    { event = "error", data = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' } })
  T.eq(err, "anthropic: overloaded_error: Overloaded")
  T.eq(code, "server")
  T.eq(anthropic.url("http://h:1/"), "http://h:1/v1/messages")
  T.eq(anthropic.url("http://h:1/v1"), "http://h:1/v1/messages")
end)

T.test("wire-4.1 error bodies, redaction, URLs, OLLAMA_HOST forms", function()
  T.eq(wire.error_message '{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}',
    "Incorrect API key provided")
  T.eq(wire.error_message '{"error":"model not found"}', "model not found")
  T.eq(wire.error_message "<html>Bad   Gateway</html>", "<html>Bad Gateway</html>")
  T.eq(wire.error_message "", "(empty body)")
  T.eq(wire.redact("bad key sk-secret-123 and sk-secret-123", "sk-secret-123"), "bad key [redacted] and [redacted]")
  T.eq(wire.show_url "https://user:pw@host/v1/x?api-key=k", "https://host/v1/x")
  local saved = wire.getenv
  T.defer(function() wire.getenv = saved end)
  for host, want in pairs { [""] = "http://127.0.0.1:11434/v1", ["0.0.0.0"] = "http://0.0.0.0:11434/v1",
                            ["h:99"] = "http://h:99/v1", ["https://o.example/"] = "https://o.example/v1" } do
    wire.getenv = function(n) if n == "OLLAMA_HOST" then return host end end
    T.eq(ollama.base(), want, host)
  end
end)

-- The OpenAI wire messages as openai.lua built them in Lua before
-- json.chat_messages wrote them in C: the reference for the bytes.
local function ref_messages(system, messages)
  local function wire_message(m)
    if m.role == "tool" then
      return { role = "tool", tool_call_id = m.tool_call_id, content = m.content or "" }
    end
    local out = { role = m.role, content = m.content or "" }
    if m.role == "assistant" and m.tool_calls and #m.tool_calls > 0 then
      out.tool_calls = {}
      for i, c in ipairs(m.tool_calls) do
        out.tool_calls[i] = { id = c.id, type = "function",
          ["function"] = { name = c.name, arguments = json.encode(c.arguments or {}) } }
      end
      if out.content == "" then out.content = json.null end
    end
    return out
  end
  local msgs = {}
  if system and system ~= "" then msgs[1] = { role = "system", content = system } end
  for _, m in ipairs(messages or {}) do msgs[#msgs + 1] = wire_message(m) end
  return setmetatable(msgs, json.array_mt)
end

T.test("wire-3.1 json.chat_messages writes what the Lua wire messages encoded to", function()
  math.randomseed(31)
  local texts = { "", "plain", 'q"uote\\ and\nnew\tline \1', "é😀", ("long "):rep(300) }
  local function text() return texts[math.random(#texts)] end
  local function maybe(v) if math.random(3) == 1 then return nil end return v end
  local function args()
    local r = math.random(5)
    if r == 1 then return nil elseif r == 2 then return false elseif r == 3 then return {} end
    return { path = text(), n = math.random(-5, 5), list = { 1, 2.5, text() }, deep = { a = { b = { c = text() } } } }
  end
  for _ = 1, 500 do
    local msgs = {}
    for i = 1, math.random(0, 6) do
      local r = math.random(4)
      if r == 1 then msgs[i] = { role = "user", content = maybe(text()) }
      elseif r == 2 then msgs[i] = { role = "tool", tool_call_id = maybe("call_" .. i), name = "w", content = maybe(text()) }
      else
        local calls
        if math.random(3) > 1 then
          calls = {}
          for j = 1, math.random(0, 3) do calls[j] = { id = maybe("c" .. j), name = maybe("write_file"), arguments = args() } end
        end
        msgs[i] = { role = "assistant", content = maybe(text()), tool_calls = calls }
      end
    end
    local system = ({ nil, "", "You are\nthe planner." })[math.random(3)]
    local want = json.encode { messages = ref_messages(system, msgs), model = "m" }
    local got = json.encode { messages = json.chat_messages(system ~= "" and system or nil, msgs), model = "m" }
    T.eq(got, want)
  end
  -- through openai.body too, and a list that ipairs stops early
  local req = { system = "s", messages = { { role = "user", content = "x" }, nil, { role = "user", content = "y" } } }
  T.eq(json.encode(openai.body(req, { name = "m" }, {})),
       json.encode { model = "m", messages = ref_messages("s", req.messages) })
  T.eq(json.encode(json.chat_messages(nil, {})), "[]")
  T.raises(function() json.encode(json.chat_messages(nil, { { role = "assistant", tool_calls = { { arguments = { f = print } } } } })) end,
    "json: cannot encode a value of type function")
end)

T.test("wire-3.2 a tools list is reused while its tools stay the same, and seen to change", function()
  local p1 = { type = "object", properties = { path = { type = "string" } }, required = { "path" } }
  local p2 = { type = "object", properties = {} }
  local list = { { name = "a", description = "da", parameters = p1 }, { name = "b", parameters = p2 } }
  local function tools_of(l) return json.encode(openai.body({ tools = l }, { name = "m" }, {}).tools) end
  local function fresh(l) -- what the wire form is, built from scratch
    local out = {}
    for i, t in ipairs(l) do
      out[i] = { type = "function", ["function"] = { name = t.name, description = t.description,
        parameters = t.parameters and wire.schema_copy(t.parameters) or { type = "object", properties = {} } } }
    end
    return json.encode(out)
  end
  T.eq(tools_of(list), fresh(list))
  T.eq(tools_of(list), fresh(list)) -- from the kept list
  local b1 = openai.body({ tools = list }, { name = "m" }, {}).tools
  T.eq(openai.body({ tools = list }, { name = "m" }, {}).tools, b1, "the same kept list")
  list[1].description = "changed"
  T.eq(tools_of(list), fresh(list))
  list[2].parameters = p1
  T.eq(tools_of(list), fresh(list))
  list[2].name = "c"
  T.eq(tools_of(list), fresh(list))
  list[3] = { name = "d", description = "dd", parameters = p2 }
  T.eq(tools_of(list), fresh(list))
  list[1] = { name = "e", parameters = p2 }
  T.eq(tools_of(list), fresh(list))
  list[3] = nil
  T.eq(tools_of(list), fresh(list))
  list[2].parameters = nil -- no parameters: the empty object schema
  T.eq(tools_of(list), fresh(list))
  T.eq(json.same_tools({}, {}, 0), true)
  T.eq(json.same_tools({ 1 }, {}, 0), false)
  T.eq(json.same_tools(setmetatable({}, {}), {}, 0), false)
end)

T.test("wire-3.3 a reply schema changed in place between requests: the body and the key follow", function()
  local llm = require "baton.llm"
  -- a policy may build its schema in one table it updates (an enum of the current task ids)
  local S = { type = "object", properties = { pick = { type = "string", enum = { "a" } } } }
  local r = { model = "offline", messages = { { role = "user", content = "x" } }, schema = S }
  local k1, b1 = llm.request_key(r), json.encode(openai.body(r, { name = "m" }, {}))
  S.properties.pick.enum[2] = "b"
  local k2, b2 = llm.request_key(r), json.encode(openai.body(r, { name = "m" }, {}))
  T.eq(k1 ~= k2, true, "the key of the changed request")
  T.eq(b2:match('"enum":%b[]'), '"enum":["a","b"]')
  T.eq(b1:match('"enum":%b[]'), '"enum":["a"]')
  T.eq(json.encode(S):match('"enum":%b[]'), '"enum":["a","b"]', "json.encode of the table itself")
end)
