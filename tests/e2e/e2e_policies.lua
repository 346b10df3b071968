-- tests/e2e/e2e_policies.lua: the built-in policies and schedulers, the
-- stop conditions, provider failures, cassettes and the read-only commands.
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")
local cjson = require "cjson"

local TWO = {
  { key = "impl", desc = "Write impl.txt", file = "impl.txt", content = "impl\n" },
  { key = "spec", desc = "Write tests/spec.txt", file = "tests/spec.txt", content = "spec\n", role = "test" },
}

local function actions_of(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local l = cjson.decode(line)
    if l.type == "action" then list[#list + 1] = l.data.action end
  end
  return table.concat(list, " ")
end

T.test("e2e-4.1 the llm policy decides, and falls back to fsm when the model talks nonsense", function()
  local script = E.script(TWO):gsub("return { turns = {", [[
return { turns = {
  { when = { agent = 'controller' }, reply = { text = '{"action": "DECOMPOSE", "reasoning": "plan first"}' } },
  { when = { agent = 'controller' }, once = false, reply = { text = 'I think we should dance' } },]], 1)
  local ws = E.project(T, TWO, { script = script })
  local r = T.baton({ "run", "two files", "--policy", "llm", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.match(r.out, '"reasoning":"plan first"')
  T.match(r.out, "LLM controller failed %(offline gave an invalid reply after 3 attempts")
  T.match(r.out, "fsm fallback: ")
  T.match(actions_of(r.out), "DONE$")
end)

T.test("e2e-4.2 tdd: the test task is assigned and executed before the implementation", function()
  local ws = E.project(T, TWO)
  local r = T.baton({ "run", "two files", "--policy", "tdd", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.eq(actions_of(r.out), "DECOMPOSE ASSIGN_TESTS EXECUTE ASSIGN EXECUTE VERIFY COMMIT DONE")
end)

T.test("e2e-4.3 schedulers: balanced and keyword choose by role hint", function()
  for _, s in ipairs { "balanced", "keyword" } do
    local ws = E.project(T, TWO)
    local r = T.baton({ "run", "two files", "--scheduler", s, "--json" }, { cwd = ws })
    T.eq(r.code, 0, s .. " exit (stderr: " .. r.err .. ")")
    T.match(r.out, "%->test%-1", s)
    T.match(r.out, "%->backend%-1", s)
  end
end)

T.test("e2e-4.4 a timeout stops with exit 4 and says how to continue", function()
  local slow = { { key = "s", desc = "Write slow.txt", file = "slow.txt", content = "x", delay = 2 } }
  local ws = E.project(T, slow)
  local r = T.baton({ "run", "slow", "--timeout", "1" }, { cwd = ws })
  T.eq(r.code, 4, "exit")
  T.match(r.err, "STOPPED — timeout reached %(1s%); state saved, continue with `baton resume %w+`")
end)

T.test("e2e-4.5 no progress: a policy that only assigns nothing stops after its limit", function()
  local ws = E.project(T, TWO)
  T.write(ws .. "/.baton/idle.lua", [[
return { name = "idle", no_progress_limit = 3, decide = function(view)
  if not view.decomposed then return { action = "DECOMPOSE" } end
  return { action = "VERIFY", reasoning = "again" }
end }
]])
  T.write(ws .. "/.baton/offline.lua", E.script(TWO):gsub("'{\"approved\": true, \"reasons\": %[%]}'",
    "'{\"approved\": false, \"reasons\": [\"nothing done\"]}'"))
  local r = T.baton({ "run", "two files", "--policy", "idle", "--retries", "100" }, { cwd = ws })
  T.eq(r.code, 4, "exit")
  T.match(r.err, "STOPPED — no progress in 3 iterations; state saved")
end)

T.test("e2e-4.6 a provider without its key: exit 3 naming the variable, resumable", function()
  local ws = E.project(T, TWO)
  local r = T.baton({ "run", "two files", "--model", "openai:gpt-4o-mini" },
    { cwd = ws, env = { OPENAI_API_KEY = false } })
  T.eq(r.code, 3, "exit")
  T.match(r.err, "OPENAI_API_KEY is not set")
  T.match(r.err, "state saved, continue with `baton resume %w+`")
end)

T.test("e2e-4.7 record a cassette, replay it offline to the same result", function()
  local ws = E.project(T, TWO)
  local cassette = T.tmpdir() .. "/run.jsonl"
  local r = T.baton({ "run", "two files", "--record", cassette, "-q" }, { cwd = ws })
  T.eq(r.code, 0, "record exit (stderr: " .. r.err .. ")")
  local want = E.digest(T, ws)
  local ws2 = E.project(T, TWO, { script = "return { turns = {} }" })
  r = T.baton({ "run", "two files", "--replay", cassette, "-q" }, { cwd = ws2 })
  T.eq(r.code, 0, "replay exit (stderr: " .. r.err .. ")")
  T.eq(E.digest(T, ws2), want, "workspace")
  local ws3 = E.project(T, TWO, { script = "return { turns = {} }" })
  r = T.baton({ "run", "something else", "--replay", cassette, "-q" }, { cwd = ws3 })
  T.eq(r.code, 3, "a replay miss")
  T.match(r.err, "replay: no recorded response for request %x+")
end)

T.test("e2e-4.8 status, tasks, log and runs read the run", function()
  local ws = E.project(T, TWO)
  local r = T.baton({ "run", "two files", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "exit")
  r = T.baton({ "status" }, { cwd = ws })
  T.match(r.out, "^run %w+: DONE %(iteration %d+%)\n  two files\n  tasks: 0 pending, 0 in progress, 2 done, 0 blocked\n")
  r = T.baton({ "tasks", "--tree" }, { cwd = ws })
  T.match(r.out, "^%w+ %[DONE%] @controller two files\n  %w+ %[DONE%] @backend%-1 Write impl%.txt\n")
  r = T.baton({ "tasks", "--json" }, { cwd = ws })
  T.eq(select(2, r.out:gsub("\n", "")), 3, "three JSON lines")
  r = T.baton({ "log", "--kind", "action.start" }, { cwd = ws })
  T.match(r.out, "action%.start +{.*DECOMPOSE")
  r = T.baton({ "runs" }, { cwd = ws })
  T.match(r.out, "^%w+ +DONE +iter %d+ +two files\n$")
  r = T.baton({ "status", "nosuch" }, { cwd = ws })
  T.eq(r.code, 2, "status of an unknown run")
  T.eq(r.err, "baton: no run 'nosuch' in this workspace (see `baton runs`)\n")
  r = T.baton({ "resume" }, { cwd = ws })
  T.eq(r.code, 2, "resume a finished run")
  T.match(r.err, "is already DONE; nothing to resume")
end)

T.test("e2e-4.9 an early DONE is journaled and ignored; the iteration limit stops with exit 4", function()
  local ws = E.project(T, TWO)
  T.write(ws .. "/.baton/eager.lua", [[
return { name = "eager", decide = function(view, ctx)
  if view.decomposed and view.last_action.action ~= "DONE" and not view.all_done then
    return { action = "DONE", reasoning = "surely finished" }
  end
  return ctx.fsm(view)
end }
]])
  local r = T.baton({ "run", "two files", "--policy", "eager", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.match(r.out, "ignored: 0 of 2 tasks are DONE")
  local ws2 = E.project(T, TWO)
  r = T.baton({ "run", "two files", "--max-iterations", "2" }, { cwd = ws2 })
  T.eq(r.code, 4, "exit")
  T.match(r.err, "STOPPED — iteration limit reached %(2%); state saved, continue with `baton resume %w+`")
  r = T.baton({ "resume", "--max-iterations", "50", "-q" }, { cwd = ws2 })
  T.eq(r.code, 0, "resume with a higher limit")
end)

T.test("e2e-4.10 the llm scheduler: an unknown role from the model falls back to keyword", function()
  local script = E.script(TWO):gsub("return { turns = {", [[
return { turns = {
  { when = { agent = 'scheduler' }, once = false, reply = { text = '{"role": "astronaut", "reason": "why not"}' } },]], 1)
  local ws = E.project(T, TWO, { script = script })
  local r = T.baton({ "run", "two files", "--scheduler", "llm", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.match(r.out, "scheduler: unknown role 'astronaut', using keyword")
  T.match(r.out, "%->test%-1")
end)

T.test("e2e-4.11 the planner cannot add the same requirement twice", function()
  local script = [[
local function call(n, a) return { name = n, arguments = a } end
local add = call('add_requirement', { key = 'x', description = 'Write x.txt', acceptance = { 'x' } })
local again = call('add_requirement', { key = 'y', description = 'write X.txt!', acceptance = { 'x' } })
return { turns = {
  { when = { agent = 'planner', contains = 'Requirement:' }, once = false, reply = { tool_calls = { add, again } } },
  { when = { agent = 'planner' }, once = false, reply = { text = 'ok' } },
  { when = { contains = 'Task ' }, once = false, reply = { tool_calls = { call('write_file', { path = 'x.txt', content = 'x' }) } } },
  { when = { contains = 'to x.txt' }, once = false, reply = { tool_calls = { call('task_done', { summary = 'ok' }) } } },
  { when = { agent = 'reviewer' }, once = false, reply = { text = '{"approved": true, "reasons": []}' } },
} }
]]
  local ws = E.project(T, {}, { script = script })
  local r = T.baton({ "run", "x", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.match(r.out, "refused: duplicate of %w+ %(write X%.txt!%)")
  T.match(r.out, '"tasks":1')
end)
