-- tests/lua/test_llm_offline.lua: the offline provider (script matching,
-- consumption, no-match errors, the rules mode), cassettes (record from the
-- offline provider, replay gives identical responses, the exact miss error)
-- and the missing-key error of a real child process.
local T = ...
local llm = require "baton.llm"
local json = require "baton.json"

local function user(text) return { { role = "user", content = text } } end

T.test("offline-1.1 first unconsumed matching turn; once=false stays", function()
  llm.configure { offline = { turns = {
    { when = { agent = "a1", contains = "add" }, reply = { text = "first" } },
    { when = { agent = "a1", contains = "add" }, reply = { text = "second" } },
    { when = { role = "tester" }, reply = { text = "always" }, once = false },
  } } }
  T.eq(llm.chat { model = "offline", agent = "a1", messages = user "please add x" }.text, "first")
  T.eq(llm.chat { model = "offline", agent = "a1", messages = user "add it again" }.text, "second")
  for _ = 1, 3 do T.eq(llm.chat { model = "offline", role = "tester", messages = user "x" }.text, "always") end
  local r, err, code = llm.chat { model = "offline", agent = "a1", role = "coder", messages = user "please add x" }
  T.eq(r, nil)
  T.eq(err, "offline script has no turn for agent a1 (role coder): last message 'please add x'")
  T.eq(code, "offline_no_match")
end)

T.test("offline-1.2 contains looks at the last user/tool message and the system", function()
  llm.configure { offline = { turns = {
    { when = { contains = "SYSTEM-MARK" }, reply = { text = "from system" } },
    { when = { contains = "old" }, reply = { text = "never" } },
    { when = { tool_result_contains = "exit 0" }, reply = { text = "tests passed" } },
  } } }
  T.eq(llm.chat { model = "offline", system = "x SYSTEM-MARK y", messages = user "hi" }.text, "from system")
  local msgs = { { role = "user", content = "old" }, { role = "assistant", content = "ok" },
                 { role = "user", content = "new" } }
  local _, err = llm.chat { model = "offline", messages = msgs }
  T.eq(err, "offline script has no turn for agent ? (role ?): last message 'new'")
  msgs = { { role = "user", content = "run" },
           { role = "assistant", content = "", tool_calls = { { id = "c1", name = "sh", arguments = {} } } },
           { role = "tool", tool_call_id = "c1", name = "sh", content = "make: exit 0" } }
  T.eq(llm.chat { model = "offline", messages = msgs }.text, "tests passed")
end)

T.test("offline-1.3 tool calls get ids, usage is given or estimated, cost is 0", function()
  llm.configure { offline = { turns = {
    { reply = { tool_calls = { { name = "write", arguments = { path = "a.c", text = "int x;" } }, { name = "ls" } } } },
    { reply = { text = "12345678", usage = { input_tokens = 7, output_tokens = 3 } } },
  } } }
  local r = llm.chat { model = "offline", system = "1234", messages = user "12345678" }
  T.eq(r.tool_calls[1].id, "call_1")
  T.eq(r.tool_calls[2].id, "call_2")
  T.eq(r.tool_calls[1].arguments.path, "a.c")
  T.eq(next(r.tool_calls[2].arguments), nil)
  T.eq(r.finish_reason, "tool_calls")
  T.eq(r.text, "")
  T.eq(r.usage.input_tokens, 3)    -- ceil(12 / 4)
  T.eq(r.usage.output_tokens, 10)  -- ceil((5 + 30 + 2 + 2) / 4)
  T.eq(r.cost, 0)
  T.eq(r.model, "offline")
  T.eq(#r.attempts, 1)
  r = llm.chat { model = "offline", messages = user "x" }
  T.eq(r.usage.output_tokens, 3)
  T.eq(r.finish_reason, "stop")
end)

T.test("offline-1.4 fallback function, scripted errors, on_delta, bad scripts", function()
  llm.configure { offline = { turns = { { reply = { error = "offline: boom", code = "rate_limit" } } },
                              fallback = function(req) return { text = "fb:" .. req.agent } end } }
  local r, err, code = llm.chat { model = "offline", agent = "z", messages = user "x" }
  T.eq(err, "offline: boom")
  T.eq(code, "rate_limit")
  local pieces = {}
  r = llm.chat { model = "offline", agent = "z", messages = user "x", on_delta = function(s) pieces[#pieces + 1] = s end }
  T.eq(r.text, "fb:z")
  T.eq(table.concat(pieces, "|"), "fb:z")
  T.raises(function() llm.configure { offline = { turns = { { when = {} } } } } end, "offline: turn 1 needs a reply")
  T.raises(function() llm.configure { offline = { fallback = 3 } } end, 'offline: fallback must be a function or "rules"')
  T.raises(function() llm.configure { offline = { turns = { { when = { agnet = "a" }, reply = {} } } } } end,
    "offline: turn 1: unknown when field 'agnet'")
  T.raises(function() llm.configure { offline = { turns = { { reply = "hi" } } } } end,
    "offline: turn 1: reply must be a table or a function")
  T.raises(function() llm.configure { offline = "/nonexistent/s.lua" } end,
    "offline: cannot load script: cannot open /nonexistent/s.lua: No such file or directory")
  T.raises(function() llm.chat "x" end, "llm.chat: expected a request table, got string")
  T.raises(function() llm.chat { model = "offline", messages = { { role = "system" } } } end,
    "llm.chat: message 1 needs role user, assistant or tool")
end)

T.test("offline-1.5 a script file", function()
  local dir = T.tmpdir()
  T.write(dir .. "/s.lua", 'return { turns = { { when = { role = "planner" }, reply = { text = "plan" } } } }')
  llm.configure { offline = dir .. "/s.lua" }
  T.eq(llm.chat { model = "offline", role = "planner", messages = user "go" }.text, "plan")
  T.write(dir .. "/bad.lua", "return 42")
  T.raises(function() llm.configure { offline = dir .. "/bad.lua" } end,
    "offline: script " .. dir .. "/bad.lua must return a table")
end)

local decision = {
  type = "object", required = { "action" }, additionalProperties = false,
  properties = { action = { type = "string", enum = { "plan", "assign", "retry", "finish" } },
                 target = { type = "string" }, reasoning = { type = "string" } },
}

T.test("rules-1.1 the rules mode answers decisions from the view's states", function()
  local function decide(view)
    local r = assert(llm.chat { model = "offline:rules", schema = decision, messages = user(view) })
    return r.data.action, r.data.reasoning
  end
  T.eq(decide "no tasks yet", "plan")
  T.eq(decide "r1 PENDING add()\nr2 DONE", "assign")
  local action, why = decide "r1 FAILED\nr2 PENDING"
  T.eq(action, "retry")
  T.eq(why, "offline rules: 1 PENDING, 1 FAILED")
  T.eq(decide "r1 DONE\nr2 DONE", "finish")
  llm.configure { offline = { fallback = "rules" } }
  T.eq(assert(llm.chat { model = "offline", schema = decision, messages = user "r1 DONE" }).data.action, "finish")
  local r = llm.chat { model = "offline:rules", messages = user "hello" }
  T.eq(r.text, "offline rules: no tasks seen. Nothing to do without a script.")
  llm.configure { offline = { turns = { { when = {}, reply = { text = "labelled" } } } } }
  local labelled = assert(llm.chat { model = "offline:small", messages = user "x" })
  T.eq(labelled.text, "labelled")
  T.eq(labelled.model, "offline:small")
end)

local session = {
  { agent = "planner", role = "planner", messages = user "split the work" },
  { agent = "coder-1", role = "coder", messages = user "write add()",
    tools = { { name = "write", description = "write a file",
                parameters = { type = "object", properties = { path = { type = "string" } }, required = { "path" } } } } },
  { agent = "ctl", role = "controller", messages = user "r1 PENDING", schema = decision },
}

local function session_script()
  return { turns = {
    { when = { agent = "planner" }, reply = { text = "1. add\n2. test", usage = { input_tokens = 11, output_tokens = 4 } } },
    { when = { agent = "coder-1" }, reply = { tool_calls = { { id = "t9", name = "write", arguments = { path = "add.c" } } } } },
  }, fallback = "rules" }
end

local function play(model)
  local out = {}
  for i, s in ipairs(session) do
    local req = { model = model or "offline" }
    for k, v in pairs(s) do req[k] = v end
    out[i] = assert(llm.chat(req))
  end
  return out
end

T.test("replay-1.1 record from offline, replay gives identical responses", function()
  local dir = T.tmpdir()
  local cassette = dir .. "/c.jsonl"
  llm.configure { offline = session_script(), record = cassette }
  local recorded = play()
  llm.configure { record = false, offline = { turns = {} }, replay = cassette }
  local replayed = play()
  T.eq(json.encode(replayed), json.encode(recorded))
  T.eq(replayed[2].tool_calls[1].arguments.path, "add.c")
  T.eq(replayed[3].data.action, "assign")
  -- model "replay" finds the same entries whatever model recorded them
  local any = play("replay")
  T.eq(any[1].text, "1. add\n2. test")
  T.eq(any[1].model, "offline")
  local lines = {}
  for line in io.lines(cassette) do lines[#lines + 1] = assert(json.decode(line)) end
  T.eq(#lines, 3)
  T.eq(lines[1].key, llm.request_key { model = "offline", messages = user "split the work" })
  T.eq(lines[1].request.agent, "planner")
  llm.configure { replay = false }
end)

T.test("replay-1.2 a miss names the request; a bad cassette names the line", function()
  local dir = T.tmpdir()
  local cassette = dir .. "/c.jsonl"
  llm.configure { offline = session_script(), record = cassette }
  play()
  llm.configure { record = false, replay = cassette }
  local req = { model = "openai:gpt-4o-mini", agent = "coder-2", messages = user "something never recorded" }
  local r, err, code = llm.chat(req)
  T.eq(r, nil)
  T.eq(err, "replay: no recorded response for request " .. llm.request_key(req) ..
    " (agent coder-2, model openai:gpt-4o-mini, last message 'something never recorded')")
  T.eq(code, "replay_miss")
  T.write(dir .. "/bad.jsonl", '{"key":"k","response":{}}\nnot json\n')
  T.raises(function() llm.configure { replay = dir .. "/bad.jsonl" } end,
    "replay: " .. dir .. "/bad.jsonl:2: not a cassette entry (json: Expected value but found invalid token at character 1)")
  llm.configure { replay = false }
  _, err, code = llm.chat { model = "replay", messages = user "x" }
  T.eq(err, "replay: no cassette loaded (use --replay FILE or llm.configure{replay=FILE})")
  T.eq(code, "replay_miss")
end)

T.test("keys-1.1 a missing key names the variable (real process, real environment)", function()
  local dir = T.tmpdir()
  T.write(dir .. "/k.lua", [[
    local llm = require "baton.llm"
    for _, m in ipairs { "openai:gpt-4o-mini", "anthropic:claude-sonnet-4" } do
      print(select(2, llm.chat { model = m, messages = { { role = "user", content = "hi" } } }),
            (select(3, llm.chat { model = m, messages = { { role = "user", content = "hi" } } })))
    end]])
  local r = T.baton({ "exec", dir .. "/k.lua" }, { env = { OPENAI_API_KEY = false, ANTHROPIC_API_KEY = "" } })
  T.eq(r.err, "")
  T.eq(r.out, "OPENAI_API_KEY is not set (needed for model openai:gpt-4o-mini)\tno_key\n" ..
    "ANTHROPIC_API_KEY is not set (needed for model anthropic:claude-sonnet-4)\tno_key\n")
end)

T.test("offline-2.1 delay sleeps in baton.loop: other tasks run meanwhile", function()
  local loop = require "baton.loop"
  llm.configure { offline = { turns = {
    { when = { agent = "slow" }, reply = { text = "slow" }, delay = 0.5 },
    { when = { agent = "fast" }, reply = { text = "fast" } },
  } } }
  local order = {}
  local function ask(agent)
    local r = assert(llm.chat { model = "offline", agent = agent, messages = user "go" })
    order[#order + 1] = r.text
  end
  local res = loop.wait_all { loop.spawn(ask, "slow"), loop.spawn(ask, "fast") }
  T.eq(res[1].ok and res[2].ok, true)
  T.eq(table.concat(order, ","), "fast,slow")
end)
