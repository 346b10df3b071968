-- tests/e2e/e2e_parallel.lua: independent tasks run at the same time.
-- Eight tasks whose LLM turns each take 100 ms finish in about the time of
-- one task, not eight (generous bound: sequential would need >= 1.6 s).
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")

T.test("e2e-3.1 eight independent tasks at 100 ms latency run concurrently", function()
  local tasks = {}
  for i = 1, 8 do
    tasks[i] = { key = "t" .. i, desc = "Write f" .. i .. ".txt", file = "f" .. i .. ".txt",
      content = "file " .. i .. "\n", delay = 0.1 }
  end
  local ws = E.project(T, tasks)
  local r = T.baton({ "run", "eight files", "--jobs", "8", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local db <close> = E.db(ws)
  local run = db:latest_run()
  local start, stop
  for _, ev in ipairs(db:events(run.id, {})) do
    if ev.kind == "action.start" and ev.payload.action == "EXECUTE" then start = ev.time end
    if ev.kind == "action.end" and ev.payload.action == "EXECUTE" then stop = ev.time end
  end
  T.ok(start and stop, "an EXECUTE step")
  T.ok(stop - start < 1.2, string.format("EXECUTE took %.2fs; sequential would take >= 1.6s", stop - start))
  for i = 1, 8 do T.eq(T.read(ws .. "/f" .. i .. ".txt"), "file " .. i .. "\n") end
end)
