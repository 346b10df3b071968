-- tests/lua/test_llm_http.lua: the openai, anthropic and ollama providers
-- against the real HTTP server tests/support/llm_server.py on 127.0.0.1:
-- plain and streamed replies with tool calls, retries (429 and 500 then ok),
-- failures that must not be retried (401), timeouts on a hung server,
-- malformed replies, cassettes without keys, concurrent calls.
local T = ...
local llm = require "baton.llm"
local wire = require "baton.llm.wire"
local json = require "baton.json"
local loop = require "baton.loop"
local http = require "baton.http"

local SECRET = "sk-test-SECRET-0123456789"

-- A fresh server, the provider variables pointing at it, fast retries.
local function setup(extra_env)
  local srv = dofile(T.src .. "/tests/support/llm_server.lua").start(T)
  local env = { OPENAI_API_KEY = SECRET, OPENAI_BASE_URL = srv.url .. "/v1", ANTHROPIC_API_KEY = SECRET,
                ANTHROPIC_BASE_URL = srv.url, OLLAMA_HOST = "127.0.0.1:" .. srv.port }
  for k, v in pairs(extra_env or {}) do env[k] = v or nil end
  local saved = wire.getenv
  wire.getenv = function(name) return env[name] end
  T.defer(function() wire.getenv = saved end)
  llm.configure { max_attempts = 4, retry_base = 0.05, record = false, replay = false }
  function srv.script(replies)
    local res = assert(http.request { method = "POST", url = srv.url .. "/script", body = json.encode(replies) })
    T.eq(res.status, 200, "scripting the server")
  end
  -- the last LLM request as the server saw it: {body=, headers=}
  function srv.last()
    local res = assert(http.request { method = "GET", url = srv.url .. "/last" })
    return assert(json.decode(res.body))
  end
  -- requests served before this /stats call (which counts itself)
  function srv.requests()
    local res = assert(http.request { method = "GET", url = srv.url .. "/stats" })
    return assert(json.decode(res.body)).requests - 1
  end
  return srv
end

local function user(text) return { { role = "user", content = text } } end

local write_tool = { { name = "write", description = "write a file",
  parameters = { type = "object", properties = { path = { type = "string" } }, required = { "path" } } } }

T.test("http-1.1 openai: a plain reply, usage, price, attempts", function()
  setup()
  local r = assert(llm.chat { model = "openai:gpt-4o-mini", system = "be brief", messages = user "hello there" })
  T.eq(r.text, "mock reply to: hello there")
  T.eq(r.finish_reason, "stop")
  T.eq(r.model, "openai:gpt-4o-mini")
  T.ok(r.usage.input_tokens > 0 and r.usage.output_tokens > 0, "usage")
  T.eq(r.cost, (r.usage.input_tokens * 0.15 + r.usage.output_tokens * 0.60) / 1e6)
  T.eq(#r.attempts, 1)
  T.eq(r.attempts[1].status, "ok")
  T.ok(r.attempts[1].latency >= 0, "latency")
end)

T.test("http-1.2 openai: tool calls, plain and streamed (arguments by index)", function()
  local srv = setup()
  local calls = { { id = "c7", name = "write", arguments = { path = "src/a.c", text = "int a;" } },
                  { name = "ls", arguments = {} } }
  srv.script { { tool_calls = calls }, { text = "I will write it. ", tool_calls = calls } }
  local r = assert(llm.chat { model = "openai:gpt-4o-mini", messages = user "write", tools = write_tool })
  T.eq(r.finish_reason, "tool_calls")
  T.eq(r.tool_calls[1].id .. " " .. r.tool_calls[1].name .. " " .. r.tool_calls[1].arguments.path, "c7 write src/a.c")
  T.eq(r.tool_calls[2].name, "ls")
  local pieces = {}
  r = assert(llm.chat { model = "openai:gpt-4o-mini", messages = user "write", tools = write_tool,
                        on_delta = function(s) pieces[#pieces + 1] = s end })
  T.eq(r.text, "I will write it. ")
  T.eq(table.concat(pieces), r.text)
  T.ok(#pieces >= 4, "several deltas")
  T.eq(r.tool_calls[1].arguments.text, "int a;")
  T.eq(r.tool_calls[2].id, "call_1")
  T.ok(r.usage.output_tokens > 0, "streamed usage")
end)

T.test("http-1.3 openai stream in one-byte chunks assembles the same reply", function()
  local srv = setup()
  srv.script { { text = "alpha beta gamma", tool_calls = { { id = "x", name = "write", arguments = { path = "p" } } } } }
  local pieces = {}
  local r = assert(llm.chat { model = "openai:gpt-4o-mini", messages = user "x", headers = { ["x-mock-mode"] = "sse-1byte" },
                              on_delta = function(s) pieces[#pieces + 1] = s end })
  T.eq(r.text, "alpha beta gamma")
  T.eq(table.concat(pieces), "alpha beta gamma")
  T.eq(r.tool_calls[1].arguments.path, "p")
end)

T.test("http-1.4 what openai-compatible servers receive: auth, system, tools, schema", function()
  local srv = setup()
  srv.script { { text = '{"ok":true}', expect_headers = { authorization = "Bearer " .. SECRET } },
               { text = "x", expect_headers = { authorization = json.null } } }
  local schema = { type = "object", properties = { ok = { type = "boolean" } }, required = { "ok" } }
  local r = assert(llm.chat { model = "openai/gpt-4o-mini", system = "sys", messages = user "q", tools = write_tool,
                              schema = schema, max_tokens = 50, temperature = 0 })
  T.eq(r.data.ok, true)
  local body = srv.last().body
  T.eq(body.model, "gpt-4o-mini")
  T.eq(body.messages[1].role .. ":" .. body.messages[1].content, "system:sys")
  T.eq(body.messages[2].content, "q")
  T.eq(body.tools[1]["function"].name, "write")
  T.eq(body.response_format.json_schema.schema.required[1], "ok")
  T.eq(body.max_tokens, 50) -- not api.openai.com: max_tokens
  T.eq(body.temperature, 0)
  T.eq(body.stream, nil)
  r = assert(llm.chat { model = "ollama:qwen2.5-coder:7b", messages = user "q" }) -- no key sent
  T.eq(srv.last().body.model, "qwen2.5-coder:7b")
end)

T.test("http-1.5 what anthropic receives: key and version headers, blocks, tool results", function()
  local srv = setup()
  srv.script { { text = "fine", expect_headers = { ["x-api-key"] = SECRET, ["anthropic-version"] = "2023-06-01",
                                                   authorization = json.null } } }
  local msgs = { { role = "user", content = "run it" },
                 { role = "assistant", content = "", tool_calls = { { id = "t1", name = "write", arguments = { path = "a" } } } },
                 { role = "tool", tool_call_id = "t1", name = "write", content = "written" } }
  local r = assert(llm.chat { model = "anthropic:claude-sonnet-4-5", system = "sys", messages = msgs, tools = write_tool })
  T.eq(r.text, "fine")
  local body = srv.last().body
  T.eq(body.system, "sys")
  T.eq(body.max_tokens, 4096)
  T.eq(body.messages[2].content[1].type .. ":" .. body.messages[2].content[1].id, "tool_use:t1")
  T.eq(body.messages[3].content[1].type .. ":" .. body.messages[3].content[1].tool_use_id, "tool_result:t1")
  T.eq(body.tools[1].input_schema.required[1], "path")
  srv.script { { text = "no", expect_headers = { ["x-api-key"] = "other" } } }
  local _, err, code = llm.chat { model = "anthropic:claude-sonnet-4-5", messages = user "x" }
  T.eq(err, 'anthropic: 400 header x-api-key: got "[redacted]", want "other"')
  T.eq(code, "bad_request")
end)

T.test("http-2.1 anthropic: plain and streamed, text and tool_use", function()
  local srv = setup()
  local r = assert(llm.chat { model = "anthropic:claude-sonnet-4-5", system = "s", messages = user "hi" })
  T.eq(r.text, "mock reply to: hi")
  T.eq(r.finish_reason, "stop")
  T.eq(r.cost, (r.usage.input_tokens * 3 + r.usage.output_tokens * 15) / 1e6)
  srv.script { { text = "On it. ", tool_calls = { { id = "tu1", name = "write", arguments = { path = "z.c" } } } } }
  local pieces = {}
  r = assert(llm.chat { model = "anthropic:claude-sonnet-4-5", messages = user "go", tools = write_tool,
                        on_delta = function(s) pieces[#pieces + 1] = s end })
  T.eq(r.text, "On it. ")
  T.eq(table.concat(pieces), "On it. ")
  T.eq(r.tool_calls[1].id .. r.tool_calls[1].name .. r.tool_calls[1].arguments.path, "tu1writez.c")
  T.eq(r.finish_reason, "tool_calls")
  T.ok(r.usage.input_tokens > 0 and r.usage.output_tokens > 0, "usage")
end)

T.test("http-2.2 ollama through OLLAMA_HOST (OpenAI-compatible endpoint, no key)", function()
  local srv = setup { OPENAI_API_KEY = false }
  srv.script { { tool_calls = { { name = "write", arguments = { path = "o.c" } } } } }
  local r = assert(llm.chat { model = "ollama:qwen2.5-coder:7b", messages = user "x", tools = write_tool })
  T.eq(r.tool_calls[1].arguments.path, "o.c")
  T.eq(r.cost, 0)
end)

T.test("http-3.1 429 then ok, 500 then ok: retried and counted once", function()
  local srv = setup()
  srv.script { { status = 429, error = { message = "slow down" } }, { status = 503, error = { message = "busy" } },
               { text = "finally" } }
  local r = assert(llm.chat { model = "openai:gpt-4o-mini", messages = user "x" })
  T.eq(r.text, "finally")
  T.eq(#r.attempts, 1)
  T.eq(srv.requests(), 4) -- 3 chat requests + the script call
  r = assert(llm.chat { model = "anthropic:claude-sonnet-4-5", messages = user "y",
                        headers = { ["x-mock-mode"] = "500-then-ok:2", ["x-mock-key"] = "a" } })
  T.eq(r.text, "mock reply to: y")
end)

T.test("http-3.2 retries give up with the provider's message and a stable code", function()
  local srv = setup()
  llm.configure { max_attempts = 3 }
  local r, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x",
                                   headers = { ["x-mock-mode"] = "429", ["x-mock-retry-after"] = "0" } }
  T.eq(r, nil)
  T.eq(err, "openai: 429 rate limited (gave up after 3 attempts)")
  T.eq(code, "rate_limit")
  T.eq(srv.requests(), 3)
  _, err, code = llm.chat { model = "anthropic:claude-sonnet-4-5", messages = user "x",
                            headers = { ["x-mock-mode"] = "status:529" } }
  T.eq(err, "anthropic: 529 planned status 529 (gave up after 3 attempts)")
  T.eq(code, "server")
  local before = srv.requests()
  _, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x",
                            headers = { ["x-mock-mode"] = "status:503", ["x-mock-should-retry"] = "false" } }
  T.eq(err, "openai: 503 planned status 503")
  T.eq(code, "server")
  T.eq(srv.requests() - before, 2) -- one chat request (+ the /stats call): the server said no retry
end)

T.test("http-3.3 401 fails at once with the provider's message, key redacted", function()
  local srv = setup()
  srv.script { { status = 401, error = { message = "Incorrect API key provided: " .. SECRET } } }
  local r, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x" }
  T.eq(r, nil)
  T.eq(err, "openai: 401 Incorrect API key provided: [redacted]")
  T.eq(code, "auth")
  T.eq(srv.requests(), 2) -- the script call and one chat request: no retry
  _, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", headers = { ["x-mock-mode"] = "status:404" } }
  T.eq(err, "openai: 404 planned status 404")
  T.eq(code, "bad_request")
end)

T.test("http-3.4 a hung server: a timeout error within the timeout, no hang", function()
  local srv = setup()
  local t0 = loop.now()
  local r, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", timeout = 1,
                                   headers = { ["x-mock-mode"] = "hang" } }
  T.eq(r, nil)
  T.eq(code, "timeout")
  T.match(err, "^openai: no reply in time from http://127%.0%.0%.1:" .. srv.port .. "/v1/chat/completions: ")
  T.ok(loop.now() - t0 < 30, "returned long before the server would answer")
  _, _, code = llm.chat { model = "anthropic:claude-sonnet-4-5", messages = user "x", timeout = 1,
                          on_delta = function() end, headers = { ["x-mock-mode"] = "stall" } }
  T.eq(code, "timeout")
end)

T.test("http-3.5 malformed replies and broken streams are clear errors", function()
  setup()
  local r, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", headers = { ["x-mock-mode"] = "badjson" } }
  T.eq(r, nil)
  T.match(err, "^openai: malformed reply %(.+%): '{\"choices\": %[ this is not json'$")
  T.eq(code, "server")
  _, err, code = llm.chat { model = "anthropic:claude-sonnet-4-5", messages = user "x", on_delta = function() end,
                            headers = { ["x-mock-mode"] = "error-event" } }
  T.eq(err, "anthropic: overloaded_error: Overloaded")
  T.eq(code, "server")
  _, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", on_delta = function() end,
                            headers = { ["x-mock-mode"] = "error-event" } }
  T.eq(err, "openai: stream failed")
  T.eq(code, "server")
  _, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", on_delta = function() end,
                            headers = { ["x-mock-mode"] = "cut-mid-event" } }
  T.match(err, "^openai: request to http://127%.0%.0%.1:%d+/v1/chat/completions failed: http: response truncated")
  T.eq(code, "transport")
  _, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", headers = { ["x-mock-mode"] = "truncated" } }
  T.eq(code, "transport")
end)

T.test("http-3.6 nothing listening: transport error after the retries", function()
  local srv = setup()
  srv.stop()
  llm.configure { max_attempts = 2 }
  local r, err, code = llm.chat { model = "openai:gpt-4o-mini", messages = user "x", timeout = 10 }
  T.eq(r, nil)
  T.eq(code, "transport")
  T.match(err, "^openai: cannot reach http://127%.0%.0%.1:%d+/v1/chat/completions: .+ %(gave up after 2 attempts%)$")
end)

T.test("http-4.1 structured output over HTTP: invalid reply re-asked, both attempts billed", function()
  local srv = setup()
  srv.script { { text = "sure!" }, { text = '{"action":"retry"}' } }
  local schema = { type = "object", properties = { action = { type = "string", enum = { "retry", "finish" } } },
                   required = { "action" } }
  local r = assert(llm.chat { model = "openai:gpt-4o-mini", messages = user "decide", schema = schema })
  T.eq(r.data.action, "retry")
  T.eq(#r.attempts, 2)
  T.eq(r.attempts[1].status, "invalid")
  T.ok(r.attempts[1].cost > 0 and r.cost > r.attempts[2].cost, "both attempts priced")
end)

T.test("http-5.1 record a real session, replay it exactly; no key in the cassette", function()
  local srv = setup()
  local cassette = T.tmpdir() .. "/c.jsonl"
  llm.configure { record = cassette }
  srv.script { { text = "one" }, { tool_calls = { { id = "k1", name = "write", arguments = { path = "r.c" } } } } }
  local reqs = { { model = "openai:gpt-4o-mini", agent = "a", messages = user "first" },
                 { model = "anthropic:claude-sonnet-4-5", agent = "b", messages = user "second", tools = write_tool } }
  local got = {}
  for i, q in ipairs(reqs) do got[i] = assert(llm.chat(q)) end
  llm.configure { record = false, replay = cassette }
  srv.stop() -- replay must not touch the network
  for i, q in ipairs(reqs) do T.eq(json.encode(assert(llm.chat(q))), json.encode(got[i]), "reply " .. i) end
  local text = T.read(cassette)
  T.nomatch(text, SECRET, "cassette")
  T.nomatch(text, "127%.0%.0%.1", "cassette")
  llm.configure { replay = false }
end)

T.test("http-6.1 concurrent calls in loop tasks all complete", function()
  setup()
  local tasks = {}
  for i = 1, 6 do
    tasks[i] = loop.spawn(function()
      return assert(llm.chat { model = i % 2 == 0 and "openai:gpt-4o-mini" or "anthropic:claude-sonnet-4-5",
                               messages = user("n" .. i), headers = { ["x-mock-mode"] = "delay:200" },
                               on_delta = i > 3 and function() end or nil }).text
    end)
  end
  local res = loop.wait_all(tasks)
  for i = 1, 6 do
    T.eq(res[i].ok, true, "task " .. i)
    T.eq(res[i].values[1], "mock reply to: n" .. i)
  end
end)
