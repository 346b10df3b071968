-- tests/lua/test_engine_paths.lua: the engine's shortcuts between actions
-- give what the queries they replace gave: the ready set from the listing,
-- the snapshot count, the summary's counts, the planner's normalized keys
-- and the scheduler's context (real SSOT files, real runs of the binary).
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")
local cjson = require "cjson"
local ssot = require "baton.ssot"
local engine = require "baton.engine"
local util = require "baton.util"

local function ids(rows)
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = r.id end
  return table.concat(out, " ")
end

T.test("engine-1.1 the ready set from a listing is db:ready's, in its order", function()
  local db <close> = assert(ssot.open(T.tmpdir() .. "/b.db"))
  local run = db:create_run { requirement = "x" }
  local function add(desc, deps) return db:add_req(run.id, { description = desc, deps = deps }) end
  local function finish(id, to)
    local lease = assert(db:claim(id, "w"))
    assert(db:complete(id, "w", lease.epoch, to))
  end
  local done, blocked, running = add("done"), add("blocked"), add("running")
  finish(done, "DONE")
  finish(blocked, "BLOCKED")
  assert(db:claim(running, "w"))
  local free = add("free")
  add("waits on free", { free })
  add("waits on done", { done })
  add("waits on done and blocked", { done, blocked })
  add("waits on running", { running })
  add("waits on done twice over", { done, add("another free") })
  local want = db:ready(run.id)
  T.eq(ids(engine.ready_of(db:reqs(run.id))), ids(want), "the same ids, the same order")
  T.eq(#want, 4, "root, free, waits on done, another free")
  finish(free, "DONE")
  T.eq(ids(engine.ready_of(db:reqs(run.id))), ids(db:ready(run.id)), "after a change")
end)

T.test("engine-1.2 a policy's own action that takes snapshots makes progress", function()
  -- the engine counts the snapshots it takes; one taken by a policy's action
  -- must count as well, or the run would stop for want of progress
  local ws = E.project(T, { { key = "a", desc = "Write a.txt", file = "a.txt", content = "a\n" } })
  T.write(ws .. "/.baton/snapper.lua", [[
return { name = "snapper", no_progress_limit = 2,
  decide = function(view)
    if not view.decomposed then return { action = "DECOMPOSE" } end
    return { action = "SNAP" }
  end,
  actions = { SNAP = function(ctx)
    ctx.db:snapshot(ctx.run.id, "mine", nil)
    return { ok = true, summary = "snapped" }
  end } }
]])
  local r = T.baton({ "run", "one file", "--policy", "snapper", "--max-iterations", "5" }, { cwd = ws })
  T.eq(r.code, 4, "exit")
  T.match(r.err, "iteration limit reached %(5%)")
  T.nomatch(r.err, "no progress")
end)

T.test("engine-1.3 without any change the no-progress limit still stops the run", function()
  local ws = E.project(T, { { key = "a", desc = "Write a.txt", file = "a.txt", content = "a\n" } })
  T.write(ws .. "/.baton/still.lua", [[
return { name = "still", no_progress_limit = 2,
  decide = function(view)
    if not view.decomposed then return { action = "DECOMPOSE" } end
    return { action = "NOTHING" }
  end,
  actions = { NOTHING = function() return { ok = true, summary = "nothing" } end } }
]])
  local r = T.baton({ "run", "one file", "--policy", "still", "--max-iterations", "9" }, { cwd = ws })
  T.eq(r.code, 4, "exit")
  T.match(r.err, "no progress in 2 iterations")
end)

T.test("engine-1.4 the summary of a finished run counts its tasks; a stopped one too", function()
  local two = { { key = "a", desc = "Write a.txt", file = "a.txt", content = "a\n" },
    { key = "b", desc = "Write b.txt", file = "b.txt", content = "b\n", deps = { "a" } } }
  local ws = E.project(T, two)
  local r = T.baton({ "run", "two files", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit")
  local last
  for line in r.out:gmatch("[^\n]+") do last = cjson.decode(line) end
  T.eq(last.type, "summary")
  T.eq(last.status, "DONE")
  T.eq(last.tasks, 2, "tasks")
  T.eq(last.tasks_done, 2, "done")
  ws = E.project(T, two)
  r = T.baton({ "run", "two files", "--json", "--max-iterations", "4" }, { cwd = ws })
  T.eq(r.code, 4, "exit")
  for line in r.out:gmatch("[^\n]+") do last = cjson.decode(line) end
  T.eq(last.status, "STOPPED")
  T.eq(last.tasks, 2, "tasks")
  T.eq(last.tasks_done, 1, "a done, b not yet")
end)

T.test("engine-1.5 normalize: case, punctuation and spaces", function()
  T.eq(util.normalize("  Write, the FILE!  a.txt. "), "write the file a txt")
  T.eq(util.normalize(" "), "")
  T.eq(util.normalize(""), "")
  T.eq(util.normalize(nil), "")
  T.eq(util.normalize("x"), "x")
  T.eq(util.normalize("!x!"), "x")
  T.eq(select("#", util.normalize("a b")), 1, "one value")
end)

T.test("engine-1.6 the listing ASSIGN and EXECUTE hand over is the one the SSOT gives", function()
  -- CHECK (a policy's own action) compares the view, made from the listing
  -- the action before handed over, with the SSOT itself
  local two = { { key = "a", desc = "Write a.txt", file = "a.txt", content = "a\n" },
    { key = "b", desc = "Write b.txt", file = "b.txt", content = "b\n", deps = { "a" } },
    { key = "c", desc = "Write c.txt", file = "c.txt", content = "c\n", blocked = true } }
  -- c ends BLOCKED: the verification fails and the run with it, after the checks
  local script = E.script(two):gsub('call%(\'task_done\', { summary = "c done" }%)',
    "call('task_blocked', { reason = 'c is blocked' })")
  local ws = E.project(T, two, { script = script })
  T.write(ws .. "/.baton/checker.lua", [[
local seq = { "DECOMPOSE", "ASSIGN", "CHECK", "EXECUTE", "CHECK", "ASSIGN", "CHECK", "EXECUTE",
  "CHECK", "VERIFY", "COMMIT", "DONE" }
local function fields(r) return table.concat({ r.id, r.status, tostring(r.assignee) }, " ") end
return { name = "checker",
  decide = function(view) return { action = seq[view.run.iteration + 1] or "FAIL" } end,
  actions = { CHECK = function(ctx)
    local want, got = {}, {}
    for _, r in ipairs(ctx.db:reqs(ctx.run.id)) do
      if r.id ~= ctx.run.root then want[#want + 1] = fields(r) end
    end
    for _, s in ipairs(ctx.view.tasks) do got[#got + 1] = fields(s) end
    for _, r in ipairs(ctx.db:ready(ctx.run.id)) do
      if r.id ~= ctx.run.root then want[#want + 1] = "ready " .. r.id end
    end
    for _, s in ipairs(ctx.view.ready) do got[#got + 1] = "ready " .. s.id end
    want, got = table.concat(want, "; "), table.concat(got, "; ")
    return { ok = want == got, summary = "check: " .. (want == got and "same" or ("view " .. got .. " / ssot " .. want)) }
  end } }
]])
  local r = T.baton({ "run", "three files", "--policy", "checker", "--json" }, { cwd = ws })
  T.eq(r.code, 1, "exit: " .. r.err)
  local checks = {}
  for line in r.out:gmatch("[^\n]+") do
    local l = cjson.decode(line)
    if l.type == "action.done" and (l.data.summary or ""):find("^check: ") then
      checks[#checks + 1] = l.data.summary
    end
  end
  T.eq(table.concat(checks, " | "), "check: same | check: same | check: same | check: same")
end)

T.test("engine-1.7 a claim ASSIGN loses (another writer took the task) hands over no listing", function()
  local actions = require "baton.actions"
  local path = T.tmpdir() .. "/b.db"
  local db <close> = assert(ssot.open(path))
  local run = db:create_run { requirement = "x" }
  local a, b = db:add_req(run.id, { description = "a" }), db:add_req(run.id, { description = "b" })
  local e = engine.new { db = db, run = db:run(run.id), team = { agents = { { name = "w", role = "worker" } } } }
  local function listing()
    local all = db:reqs(run.id)
    return { all = all, ready = engine.ready_of(all) }
  end
  local listed = listing()
  local other <close> = assert(ssot.open(path)) -- another process, say, after the listing
  assert(other:claim(a, "intruder"))
  T.eq(actions.ASSIGN(e, { role = "w" }, listed).summary, "1 assigned: " .. b .. "->w")
  T.eq(listed.after, nil, "the listing says a is PENDING: the next iteration lists again")
  -- without a lost claim the listing is handed over, brought up to date
  local c = db:add_req(run.id, { description = "c" })
  listed = listing()
  actions.ASSIGN(e, { role = "w" }, listed)
  local got = {}
  for _, r in ipairs(listed.after) do got[#got + 1] = r.id .. " " .. r.status .. " " .. tostring(r.assignee) end
  local want = {}
  for _, r in ipairs(db:reqs(run.id)) do want[#want + 1] = r.id .. " " .. r.status .. " " .. tostring(r.assignee) end
  T.eq(table.concat(got, "; "), table.concat(want, "; "))
  T.eq(#got, 4, c and "root, a, b, c")
end)

T.test("engine-1.8 COMMIT resets the retries in its snapshot's commit; the state keeps them", function()
  local tasks = { { key = "tool", desc = "Write tool.sh printing 42", file = "tool.sh",
    content = "echo 41\n", fixed = "echo 42\n" } }
  local ws = E.project(T, tasks, { test = { "sh", "-c", "test \"$(sh tool.sh)\" = 42" } })
  local r = T.baton({ "run", "print the answer" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local db <close> = E.db(ws)
  local run = db:latest_run()
  T.eq(run.retry_used, 0)
  T.eq((run.meta or {}).failures, nil, "the failure notes are gone")
  local snaps = db:snapshots(run.id)
  T.eq(snaps[#snaps].label, "commit")
  local p = io.popen("sqlite3 " .. T.q(ws .. "/.baton/baton.db") ..
    " 'SELECT json_extract(state, \"$.retry_used\") FROM snapshots ORDER BY id DESC LIMIT 1'")
  T.eq(p:read("a"), "1\n", "the commit snapshot's state holds the retry as it was")
  p:close()
  local evs, at = db:events(run.id), nil
  for i, ev in ipairs(evs) do
    if ev.kind == "snapshot" and ev.actor == "controller" and ev.payload.label == "commit" then at = i end
  end
  T.eq(evs[at - 1].kind .. " " .. evs[at - 1].actor, "snapshot ssot")
  T.eq(evs[at + 1].actor .. " " .. evs[at + 1].kind .. " " .. table.concat(evs[at + 1].payload.updated, ","),
    "ssot run retry_used,meta", "the run's reset follows its snapshot")
end)

T.test("engine-1.9 the view's task lists: ready summaries are the tasks' own, from any listing", function()
  local view = require "baton.view"
  local db <close> = assert(ssot.open(T.tmpdir() .. "/v.db"))
  local run = db:create_run { requirement = "x" }
  local function add(desc, deps) return db:add_req(run.id, { description = desc, deps = deps }) end
  local a, b = add("a"), add("b")
  add("c", { a })
  assert(db:claim(b, "w"))
  local e = { db = db, run = db:run(run.id), team = { agents = {} }, failures = function() return {} end }
  local all = db:reqs(run.id)
  local function summaries(v) return ids(v.tasks) .. " | " .. ids(v.ready) .. " | " .. ids(v.in_progress)
    .. " | " .. ids(v.pending) .. " | " .. v.counts.total .. " " .. v.counts.PENDING .. " " .. v.counts.IN_PROGRESS end
  local want = table.concat({ a .. " " .. b .. " " .. ids({ all[4] }), a, b, a .. " " .. all[4].id, "3 2 1" }, " | ")
  local v = view.build(e, all, engine.ready_of(all)) -- the listing's own rows, in its order
  T.eq(summaries(v), want)
  T.ok(rawequal(v.ready[1], v.tasks[1]), "a ready task is the same summary as in tasks")
  e.view_part = nil
  v = view.build(e, all, db:ready(run.id)) -- another listing's rows: summaries of their own
  T.eq(summaries(v), want)
  e.view_part = nil
  local ready = engine.ready_of(all)
  ready[1], ready[2] = ready[2], ready[1] -- root and a swapped: not the listing's order
  v = view.build(e, all, ready)
  T.eq(ids(v.ready), a, "the root is never a task")
  T.ok(rawequal(v.ready[1], v.tasks[1]), "still the tasks' own summary")
end)

T.test("engine-1.10 the ready set of a plan without dependencies; one dependency turns the map on", function()
  local db <close> = assert(ssot.open(T.tmpdir() .. "/r.db"))
  local run = db:create_run { requirement = "x" }
  local first = db:add_req(run.id, { description = "one" })
  db:add_req(run.id, { description = "two" })
  assert(db:claim(db:add_req(run.id, { description = "three" }), "w"))
  T.eq(ids(engine.ready_of(db:reqs(run.id))), ids(db:ready(run.id)), "no task has dependencies")
  db:add_req(run.id, { description = "four", deps = { first } })
  T.eq(ids(engine.ready_of(db:reqs(run.id))), ids(db:ready(run.id)), "four waits on one")
  T.eq(#engine.ready_of(db:reqs(run.id)), 3, "root, one, two")
end)
