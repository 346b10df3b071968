-- tests/e2e/e2e_resume.lua: crash safety and budgets. A run killed with
-- SIGKILL during EXECUTE and resumed ends in the same SSOT state and a
-- byte-identical workspace as an uninterrupted run, with no LLM reply bought
-- twice; budgets stop cleanly and resume continues.
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")
local sys = require "baton.sys"

local TASKS = {
  { key = "a", desc = "Write a.txt with alpha", file = "a.txt", content = "alpha\n" },
  { key = "b", desc = "Write b.txt with beta", file = "b.txt", content = "beta\n", delay = 3 },
  { key = "c", desc = "Write c.txt with gamma", file = "c.txt", content = "gamma\n", deps = { "a", "b" } },
}

local function requests(ws)
  local db <close> = E.db(ws)
  return db:latest_run().spent.requests
end

local function wait_for_event(ws, kind, seconds)
  local deadline = sys.clock() + seconds
  while sys.clock() < deadline do
    local f = io.open(ws .. "/.baton/baton.db", "r")
    if f then
      f:close()
      local ok, found = pcall(function()
        local db <close> = E.db(ws)
        local run = db:latest_run()
        return run and #db:events(run.id, { kind = kind }) > 0
      end)
      if ok and found then return true end
    end
    os.execute("sleep 0.05")
  end
  return false
end

T.test("e2e-2.1 SIGKILL during EXECUTE, resume: same SSOT, identical files, nothing bought twice", function()
  local clean = E.project(T, TASKS)
  local r = T.baton({ "run", "write three files", "-q" }, { cwd = clean })
  T.eq(r.code, 0, "uninterrupted exit (stderr: " .. r.err .. ")")
  local want_state, want_files, want_requests = E.state(clean), E.digest(T, clean), requests(clean)

  local ws = E.project(T, TASKS)
  local p = io.popen("cd " .. T.q(ws) .. " && exec " .. T.q(T.bin) .. " run 'write three files' -q " ..
    ">/dev/null 2>&1 & echo $!")
  local pid = tonumber(p:read("l"))
  p:close()
  T.ok(wait_for_event(ws, "task.start", 20), "the run reached EXECUTE")
  os.execute("sleep 0.3")
  sys.kill(pid, 9)
  for _ = 1, 200 do if not sys.alive(pid) then break end os.execute("sleep 0.01") end
  local before = requests(ws)
  r = T.baton({ "resume", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "resume exit (stderr: " .. r.err .. ")")
  T.eq(E.state(ws), want_state, "SSOT state")
  T.eq(E.digest(T, ws), want_files, "workspace")
  T.ok(before < want_requests, "the kill happened before the end")
  T.eq(requests(ws), want_requests, "LLM requests bought in all")
end)

T.test("e2e-2.2 a request budget stops the run with exit 4; resume with more finishes", function()
  local ws = E.project(T, TASKS)
  local r = T.baton({ "run", "write three files", "--max-requests", "3", "-q" }, { cwd = ws })
  T.eq(r.code, 4, "exit")
  T.match(r.err, "request budget reached: 3 of 3 spent %(raise it with %-%-max%-requests on resume%); " ..
    "state saved, continue with `baton resume %w+`")
  local state = E.state(ws)
  T.match(state, "^STOPPED")
  r = T.baton({ "resume", "--max-requests", "100", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "resume exit (stderr: " .. r.err .. ")")
  T.match(E.state(ws), "^DONE")
  T.eq(requests(ws), 9, "requests: 2 planner + 3 tasks x 2 + 1 review, none bought twice")
end)

T.test("e2e-2.3 a second controller on a live run is refused, naming its pid", function()
  local ws = E.project(T, TASKS)
  local p = io.popen("cd " .. T.q(ws) .. " && exec " .. T.q(T.bin) .. " run 'write three files' -q " ..
    ">/dev/null 2>&1 & echo $!")
  local pid = tonumber(p:read("l"))
  p:close()
  T.defer(function() sys.kill(pid, 9) for _ = 1, 200 do if sys.reap(pid) then break end os.execute("sleep 0.01") end end)
  T.ok(wait_for_event(ws, "task.start", 20), "the run is live")
  local r = T.baton({ "resume" }, { cwd = ws })
  T.eq(r.code, 2, "exit")
  T.match(r.err, "^baton: run %w+ already has a live controller %(pid " .. pid .. "%)")
end)

T.test("e2e-2.4 Ctrl-C stops cleanly with exit 130 and resume finishes", function()
  local ws = E.project(T, TASKS)
  local p = io.popen("cd " .. T.q(ws) .. " && exec " .. T.q(T.bin) .. " run 'write three files' -q " ..
    ">/dev/null 2>" .. T.q(ws .. "/err.txt") .. " & echo $!")
  local pid = tonumber(p:read("l"))
  p:close()
  T.ok(wait_for_event(ws, "task.start", 20), "the run reached EXECUTE")
  sys.kill(pid, 2)
  local code
  for _ = 1, 1000 do
    if not sys.alive(pid) then break end
    os.execute("sleep 0.01")
  end
  T.ok(not sys.alive(pid), "stopped within 10 s")
  T.match(T.read(ws .. "/err.txt"), "interrupted; state saved, continue with `baton resume %w+`")
  T.match(E.state(ws), "^STOPPED")
  local r = T.baton({ "resume", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "resume exit (stderr: " .. r.err .. ")")
  T.match(E.state(ws), "^DONE")
  local _ = code
end)

T.test("e2e-2.5 SIGKILL in the middle of DECOMPOSE: the plan is redone from the ledger, exactly", function()
  local script = E.script(TASKS):gsub("{ when = { agent = 'planner' }, once = false, reply",
    "{ when = { agent = 'planner' }, once = false, delay = 3, reply", 1)
  local clean = E.project(T, TASKS, { script = script })
  local r = T.baton({ "run", "write three files", "-q" }, { cwd = clean })
  T.eq(r.code, 0, "uninterrupted exit (stderr: " .. r.err .. ")")
  local ws = E.project(T, TASKS, { script = script })
  local p = io.popen("cd " .. T.q(ws) .. " && exec " .. T.q(T.bin) .. " run 'write three files' -q " ..
    ">/dev/null 2>&1 & echo $!")
  local pid = tonumber(p:read("l"))
  p:close()
  T.ok(wait_for_event(ws, "tool", 20), "the planner added tasks")
  sys.kill(pid, 9)
  for _ = 1, 200 do if not sys.alive(pid) then break end os.execute("sleep 0.01") end
  r = T.baton({ "resume", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "resume exit (stderr: " .. r.err .. ")")
  T.eq(E.state(ws), E.state(clean), "SSOT state")
  T.eq(E.digest(T, ws), E.digest(T, clean), "workspace")
  T.eq(requests(ws), requests(clean), "LLM requests bought in all")
end)
