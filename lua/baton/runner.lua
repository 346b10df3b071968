-- baton.runner: what `baton run` and `baton resume` share: the controller
-- lock (one live controller per run), the run header, the summary at the
-- end and the exit code.
local cjson = require "cjson"
local errors = require "baton.errors"
local progress = require "baton.progress"
local project = require "baton.project"
local sys = require "baton.sys"
local util = require "baton.util"

local M = {}

-- Refuses a second live controller on the run; then takes the run. Check
-- and take are one IMMEDIATE transaction, so two controllers started at the
-- same moment cannot both pass the check.
function M.lock(db, run)
  db:tx(function()
    local pid = db:run(run.id).controller_pid
    if pid and pid > 0 and pid ~= sys.pid() and sys.alive(pid) then
      errors.usage("run %s already has a live controller (pid %d); stop it first or wait", run.id, pid)
    end
    db:update_run(run.id, { controller_pid = sys.pid(), status = "RUNNING" })
  end)
  return db:run(run.id)
end

local function count_rollbacks(db, run)
  local n = 0
  for _, a in ipairs(db:actions(run.id, 100000)) do
    if a.action == "ROLLBACK" then n = n + 1 end
  end
  return n
end

function M.summary(e, wall)
  local run = e.db:run(e.run.id)
  local tasks, done = 0, 0
  local final = run.status == "DONE" and e.final_counts -- counted by the DONE action
  if final then
    tasks, done = final.tasks, final.done
  else
    for _, r in ipairs(e.db:reqs(run.id)) do
      if r.id ~= run.root then
        tasks = tasks + 1
        if r.status == "DONE" then done = done + 1 end
      end
    end
  end
  local s = run.spent or {}
  return { v = progress.JSON_VERSION, type = "summary", run = run.id, status = run.status,
    tasks = tasks, tasks_done = done, iterations = run.iteration, tokens = s.tokens or 0,
    requests = s.requests or 0, cost = s.usd_unknown and cjson.null or (s.usd or 0),
    duration = wall, rollbacks = count_rollbacks(e.db, run), workspace = e.workspace,
    database = project.db_path(e.workspace) }
end

-- One write (stderr is unbuffered: a write per piece was 17 system calls).
local function print_summary(s, message)
  local lines = {}
  local w = function(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
  w("")
  w("run %s: %s%s", s.run, s.status, message and (" — " .. message) or "")
  w("  tasks      %d of %d done", s.tasks_done, s.tasks)
  w("  iterations %d, rollbacks %d", s.iterations, s.rollbacks)
  w("  tokens     %d in %d request(s), cost %s", s.tokens, s.requests,
    s.cost == cjson.null and "unknown" or util.format_cost(s.cost))
  w("  wall time  %s", util.format_duration(s.duration))
  w("  workspace  %s", s.workspace)
  w("  database   %s", s.database)
  w("  report     baton report %s -o report.html   (timeline, tree, diffs)", s.run)
  lines[#lines + 1] = ""
  io.stderr:write(table.concat(lines, "\n"))
end

-- The run header: what runs, and what the sandbox can and cannot do here.
function M.header(e, opts)
  -- libcurl still loads on its thread (main.c) while the run starts: the
  -- first request waits for it, and the sandbox settles it before it forks
  -- (probe, commands), so the start-up work overlaps the load
  sys.trap_interrupt()
  e.t0 = sys.clock()
  if opts.json or opts.quiet then return end
  -- the probe forks a few children (~5 ms); a quiet run leaves it to the
  -- first sandboxed command, which needs it
  local h = require("baton.harness").probe()
  local missing = {}
  for _, m in ipairs(h.missing or {}) do missing[#missing + 1] = tostring(m) end
  io.stderr:write(string.format("baton: run %s — policy %s, team %s, model %s, jobs %d\n" ..
    "  sandbox: landlock %s, network isolation %s%s\n", e.run.id, e.policy_name, e.team.name,
    e:model_for("default"), e.jobs, (h.landlock_abi or 0) > 0 and ("ABI " .. h.landlock_abi) or
    "unavailable (policy checks only)", h.netns and "yes" or "unavailable",
    #missing > 0 and ("; missing: " .. table.concat(missing, ", ")) or ""))
  if e:model_for("default"):match("^offline") and not e.offline_script then
    io.stderr:write("  note: model offline without a script (.baton/offline.lua or --offline-script): " ..
      "answers come from the rule-based test model; use --model PROVIDER:MODEL for a real one\n")
  end
end

-- Drives an engine to the end; prints the summary; returns the exit code.
-- host (cli.lua's) hears that the run is over: from then on the process
-- only closes what it opened and ends (host.fast_exit, core/main.c).
function M.drive(e, opts, host)
  local t0 = e.t0 or sys.clock()
  -- Group commit: the writes of the run's tasks share one COMMIT per pass of
  -- the loop (the controller's own writes still commit at once); a task
  -- waits with db:sync() where an effect must follow durable rows.
  e.db:group(true)
  -- A run makes garbage fast (rows, messages, payloads) over a small live
  -- heap: a cycle when the heap has grown 4x instead of 2x halves the marking
  -- (~7 M instructions of 520 M at 256 tasks) for ~1.5 MB more at the peak.
  collectgarbage("incremental", 400)
  local ok, res = pcall(e.run_loop, e)
  local committed, cerr = e.db:group(false)
  if ok and not committed then ok, res = pcall(errors.raise, errors.FAILED, "%s", cerr) end
  e.progress:finish()
  local s = M.summary(e, sys.clock() - t0)
  local message = e.final_message
  if not ok then message = errors.is(res) and res.msg or tostring(res) end
  s.message = message
  if opts.json then io.stdout:write(cjson.encode(s), "\n") else print_summary(s, message) end
  if host and host.fast_exit then host.fast_exit() end
  if not ok then
    if errors.is(res) then return res.exit end
    error(res, 0)
  end
  return res
end

M.progress = progress
return M
