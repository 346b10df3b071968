-- tests/e2e/e2e_run.lua: whole runs through the real binary, offline
-- provider, real SSOT, harness and commands.
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")
local cjson = require "cjson"
local json = require "baton.json"

local TWO = {
  { key = "lib", desc = "Write lib/greet.sh printing hello", file = "lib/greet.sh", content = "echo hello\n" },
  { key = "app", desc = "Write app.sh calling lib/greet.sh", file = "app.sh", content = "sh lib/greet.sh\n",
    deps = { "lib" } },
}

local function json_lines(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do list[#list + 1] = cjson.decode(line) end
  return list
end

T.test("e2e-1.1 a run that succeeds: plan, assign, execute, verify, commit, done", function()
  local ws = E.project(T, TWO, { test = { "sh", "app.sh" } })
  local r = T.baton({ "run", "greet the user", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local lines = json_lines(r.out)
  local summary = lines[#lines]
  T.eq(summary.type, "summary")
  T.eq(summary.status, "DONE")
  T.eq(summary.tasks, 2, "tasks")
  T.eq(summary.tasks_done, 2, "tasks done")
  T.eq(summary.rollbacks, 0, "rollbacks")
  T.eq(T.read(ws .. "/app.sh"), "sh lib/greet.sh\n")
  local order = {}
  for _, l in ipairs(lines) do
    if l.type == "action" then order[#order + 1] = l.data.action end
  end
  T.eq(table.concat(order, " "), "DECOMPOSE ASSIGN EXECUTE ASSIGN EXECUTE VERIFY COMMIT DONE")
  T.eq(lines[1].v, 1, "json version")
  local state, run = E.state(ws)
  T.match(state, "^DONE\nDONE Write app.sh")
  local db <close> = E.db(ws)
  T.eq(db:req(run.root).status, "DONE", "root requirement")
end)

T.test("e2e-1.2 a failed verification rolls both halves back, then the fix passes", function()
  local tasks = { { key = "tool", desc = "Write tool.sh printing 42", file = "tool.sh",
    content = "echo 41\n", fixed = "echo 42\n" } }
  local ws = E.project(T, tasks, { test = { "sh", "-c", "test \"$(sh tool.sh)\" = 42" } })
  local r = T.baton({ "run", "print the answer", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local lines = json_lines(r.out)
  T.eq(lines[#lines].rollbacks, 1, "rollbacks")
  T.eq(T.read(ws .. "/tool.sh"), "echo 42\n")
  local saw_fail, saw_rollback = false, false
  for _, l in ipairs(lines) do
    if l.type == "verify" and not l.data.ok then
      saw_fail = true
      T.match(l.data.reasons[1], "^tests failed %(sh %-c")
    end
    if l.type == "rollback" then saw_rollback = true end
  end
  T.ok(saw_fail and saw_rollback, "a failed verify and a rollback")
  -- the retry's prompt carried the failure
  local db <close> = E.db(ws)
  local run = db:latest_run()
  local task
  for _, x in ipairs(db:reqs(run.id)) do if x.id ~= run.root then task = db:req(x.id) end end
  T.match(task.transcript, "failed verification")
end)

T.test("e2e-1.3 retries exhausted: the run fails with the reasons, exit 1", function()
  local tasks = { { key = "tool", desc = "Write tool.sh printing 42", file = "tool.sh", content = "echo 41\n" } }
  local ws = E.project(T, tasks, { test = { "sh", "-c", "test \"$(sh tool.sh)\" = 42" } })
  local r = T.baton({ "run", "print the answer", "--retries", "1" }, { cwd = ws })
  T.eq(r.code, 1, "exit")
  T.match(r.err, "run %w+: FAILED — verification failed and the retry budget %(1%) is spent: tests failed")
end)

T.test("e2e-1.4 a custom policy and a custom team from .baton/, no recompiling", function()
  local ws = E.project(T, TWO, { agent = "maker" })
  T.write(ws .. "/.baton/mine.lua", [[
local fsm = require "fsm"
return { name = "mine", decide = function(view, ctx)
  local d = fsm.decide(view, ctx)
  ctx.log("mine says " .. d.action)
  return d
end }
]])
  T.write(ws .. "/.baton/teams/duo.lua", [[
return { name = "duo", agents = { { name = "planner", role = "planner" },
  { name = "maker", role = "maker" }, { name = "reviewer", role = "review" } } }
]])
  os.execute("mkdir -p " .. T.q(ws .. "/.baton/roles"))
  T.write(ws .. "/.baton/roles/maker.lua", [[
local coder = require "roles.coder"
local r = {} for k, v in pairs(coder) do r[k] = v end
r.name = "maker"
return r
]])
  local r = T.baton({ "run", "greet", "--policy", "mine", "--team", "duo", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.match(r.out, "mine says DECOMPOSE")
  T.match(r.out, '"agent":"maker"')
end)

T.test("e2e-1.5 a broken policy file: file:line and a hint, exit 2, resumable once fixed", function()
  local ws = E.project(T, TWO)
  T.write(ws .. "/.baton/broken.lua", "return { decide = function(view)\n  return view.nope.x\nend }\n")
  local r = T.baton({ "run", "greet", "--policy", "broken" }, { cwd = ws })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "\nrun %w+: STOPPED — policy 'broken': [^\n]*/%.baton/broken%.lua:2: attempt to index " ..
    "a nil value %(field 'nope'%) %(fix it and run `baton resume` to continue%)")
  T.write(ws .. "/.baton/broken.lua", "return { decide = function(view, ctx) return ctx.fsm(view) end }\n")
  r = T.baton({ "resume" }, { cwd = ws })
  T.eq(r.code, 0, "exit after the fix (stderr: " .. r.err .. ")")
  T.write(ws .. "/.baton/syntax.lua", "return { decide = function(view) return { end }\n")
  r = T.baton({ "run", "greet", "--policy", "syntax" }, { cwd = ws })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "^baton: policy 'syntax': [^\n]*syntax%.lua:1: [^\n]* %(fix the file and try again%)\n$")
  T.write(ws .. "/.baton/noact.lua", "return { decide = function() return { action = 'DANCE' } end }\n")
  r = T.baton({ "run", "greet", "--policy", "noact" }, { cwd = ws })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "unknown action 'DANCE'")
  T.write(ws .. "/.baton/loopy.lua", "return { decide = function() while true do end end }\n")
  r = T.baton({ "run", "greet", "--policy", "loopy" }, { cwd = ws })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "instruction limit exceeded")
  T.write(ws .. "/.baton/hog.lua", "return { decide = function() local s = ('x'):rep(1 << 20)\n" ..
    "  for _ = 1, 30 do s = s .. s end end }\n")
  r = T.baton({ "run", "greet", "--policy", "hog" }, { cwd = ws, env = { BATON_MAX_MEMORY_MB = "300" } })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "STOPPED — policy 'hog': not enough memory")
  T.write(ws .. "/.baton/evil.lua", "return { decide = function() return io.open('/etc/passwd') end }\n")
  r = T.baton({ "run", "greet", "--policy", "evil" }, { cwd = ws })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "undefined global 'io'")
end)

T.test("e2e-1.6 usage mistakes are one line and exit 2", function()
  local ws = T.tmpdir()
  local cases = {
    { { "run" }, "baton: run needs a REQUIREMENT (try 'baton help run')\n" },
    { { "run", "x", "--jobs", "0" }, "baton: option '--jobs' must be positive, got 0\n" },
    { { "run", "x", "--jobs", "many" }, "baton: option '--jobs' needs a whole number, got 'many' (try 'baton help run')\n" },
    { { "run", "x", "--team", "nosuch" }, "baton: team 'teams.nosuch' not found in ./.baton/, BATON_PATH or the built-in folders\n" },
    { { "run", "x", "--policy", "nosuch" }, "baton: policy 'nosuch' not found in ./.baton/, BATON_PATH or the built-in folders\n" },
    { { "resume" }, "baton: no run to resume in this workspace (start one with `baton run`)\n" },
    { { "run", "x", "--retries", "-1" }, "baton: option '--retries' must be 0 or more, got -1\n" },
    { { "run", "x", "--offline-script", "nope.lua" }, "baton: offline script nope.lua: No such file or directory\n" },
    { { "run", "x", "--replay", "nope.jsonl" }, "baton: replay: cannot open cassette " .. ws ..
      "/nope.jsonl: No such file or directory\n" },
    { { "run", "x", "--model", "gpt4" }, "baton: unknown provider in model 'gpt4' (expected " ..
      "provider:model, e.g. openai:gpt-4o-mini; known: anthropic, offline, ollama, openai, replay)\n" },
    { { "status" }, "baton: no run in this workspace (start one with `baton run`)\n" },
  }
  for _, c in ipairs(cases) do
    local r = T.baton(c[1], { cwd = ws })
    T.eq(r.code, 2, table.concat(c[1], " ") .. " exit")
    T.eq(r.err, c[2], table.concat(c[1], " "))
  end
  T.eq(T.baton({ "runs" }, { cwd = ws }).out, "", "no run was created by a mistake")
end)

T.test("e2e-1.7 a hostile model: writes outside the workspace are refused, the run goes on", function()
  local script = [[
local function call(n, a) return { name = n, arguments = a } end
return { turns = {
  { when = { agent = 'planner', contains = 'Requirement:' }, once = false, reply = { tool_calls = {
    call('add_requirement', { key = 'x', description = 'Write x.txt', acceptance = { 'x.txt exists' } }) } } },
  { when = { agent = 'planner' }, once = false, reply = { text = 'ok' } },
  { when = { contains = 'Task ' }, once = false, reply = { tool_calls = {
    call('write_file', { path = '../../escape.txt', content = 'pwned' }),
    call('write_file', { path = '/tmp/baton-e2e-escape.txt', content = 'pwned' }),
    call('write_file', { path = '.baton/baton.db', content = 'pwned' }),
    call('run_command', { argv = { 'curl', 'http://example.com' } }),
    call('no_such_tool', {}),
    call('write_file', { path = 'x.txt', content = 'fine' }) } } },
  { when = { contains = 'to x.txt' }, once = false, reply = { tool_calls = {
    call('task_done', { summary = 'ok' }) } } },
  { when = { agent = 'reviewer' }, once = false, reply = { text = '{"approved": true, "reasons": []}' } },
} }
]]
  local ws = E.project(T, {}, { script = script })
  local r = T.baton({ "run", "x", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.eq(T.read(ws .. "/x.txt"), "fine")
  T.eq(T.read("/tmp/baton-e2e-escape.txt"), nil, "no escape")
  local db <close> = E.db(ws)
  local task
  local run = db:latest_run()
  for _, x in ipairs(db:reqs(run.id)) do if x.id ~= run.root then task = db:req(x.id) end end
  local tr = task.transcript
  T.match(tr, "denied: %.%./%.%./escape%.txt")
  T.match(tr, "unknown tool 'no_such_tool'")
  -- saved a message at a time: still the canonical encoding of the whole
  -- conversation, the last turn (task_done) included
  local msgs = assert(json.decode(tr))
  T.eq(json.encode(msgs), tr, "canonical transcript")
  T.eq(#msgs, 10, "user, 6 calls and their results, task_done and its result")
  T.eq(msgs[10].content, "recorded: task done")
end)

T.test("e2e-1.8 two running tasks never silently clobber each other's file", function()
  local script = [[
local function call(n, a) return { name = n, arguments = a } end
return { turns = {
  { when = { agent = 'planner', contains = 'Requirement:' }, once = false, reply = { tool_calls = {
    call('add_requirement', { key = 'a', description = 'Task A writes shared.txt', acceptance = { 'x' } }),
    call('add_requirement', { key = 'b', description = 'Task B writes shared.txt', acceptance = { 'x' } }) } } },
  { when = { agent = 'planner' }, once = false, reply = { text = 'ok' } },
  { when = { contains = 'Task A writes' }, once = false, delay = 0.1, reply = { tool_calls = {
    call('write_file', { path = './/shared.txt', content = 'from A' }) } } },
  { when = { contains = 'Task B writes' }, once = false, delay = 0.3, reply = { tool_calls = {
    call('write_file', { path = 'shared.txt', content = 'from B' }) } } },
  { when = { contains = 'refused:' }, once = false, reply = { tool_calls = {
    call('task_blocked', { reason = 'someone else owns shared.txt' }) } } },
  { when = { contains = 'wrote ' }, once = false, reply = { tool_calls = {
    call('task_done', { summary = 'ok' }) } } },
  { when = { agent = 'reviewer' }, once = false, reply = { text = '{"approved": true, "reasons": []}' } },
} }
]]
  local ws = E.project(T, {}, { script = script })
  local r = T.baton({ "run", "shared", "--retries", "0", "--jobs", "2" }, { cwd = ws })
  T.eq(r.code, 1, "exit")
  T.match(r.err, "retry budget %(0%) is spent: task %w+ blocked")
  local db <close> = E.db(ws)
  local run = db:latest_run()
  local seen = false
  for _, x in ipairs(db:reqs(run.id)) do
    local t = db:req(x.id).transcript or ""
    if t:find("refused: shared.txt was already written by task", 1, true) then seen = true end
  end
  T.ok(seen, "the second writer was told who owns the file")
end)

T.test("e2e-1.9 a .baton/baton.db that is not a baton database: one line, exit 1, file untouched", function()
  local ws = T.tmpdir()
  os.execute("mkdir -p " .. T.q(ws .. "/.baton"))
  T.write(ws .. "/.baton/baton.db", "garbage garbage garbage")
  for _, argv in ipairs { { "run", "x" }, { "status" }, { "resume" } } do
    local r = T.baton(argv, { cwd = ws })
    T.eq(r.code, 1, argv[1] .. " exit")
    T.eq(r.err, "baton: ssot: " .. ws .. "/.baton/baton.db is not a baton database (not an SQLite file)\n")
  end
  T.eq(T.read(ws .. "/.baton/baton.db"), "garbage garbage garbage")
end)
