-- baton resume [RUN|--last]: continue a stopped, interrupted or crashed run
-- from the SSOT, with nothing lost and nothing done twice.
local errors = require "baton.errors"
local project = require "baton.project"
local runner = require "baton.runner"

local FLAGS = {
  last = { type = "boolean" }, jobs = { type = "integer", short = "j" },
  workspace = { type = "string", short = "C" }, json = { type = "boolean" },
  quiet = { type = "boolean", short = "q" }, ["max-iterations"] = { type = "integer" },
  ["max-tokens"] = { type = "integer" }, ["max-cost"] = { type = "number" },
  ["max-requests"] = { type = "integer" }, timeout = { type = "number" },
}

-- Finds the run named by id (prefix) or the latest one.
local function find_run(db, id)
  local run = id and db:run(id) or (not id and db:latest_run())
  if not run then
    errors.usage(id and "no run '%s' in this workspace (see `baton runs`)" or
      "no run to resume in this workspace (start one with `baton run`)", tostring(id))
  end
  return run
end

-- Raised budgets on the command line replace the saved ones.
local function raise_budgets(db, run, opts)
  local b = run.budgets or {}
  b.tokens = opts["max-tokens"] or b.tokens
  b.usd = opts["max-cost"] or b.usd
  b.requests = opts["max-requests"] or b.requests
  b.iterations = opts["max-iterations"] or b.iterations
  b.timeout = opts.timeout or b.timeout
  db:update_run(run.id, { budgets = b })
end

return {
  summary = "continue a stopped or crashed run",
  usage = "resume [RUN | --last] [--jobs N] [--max-tokens N ...] [--json]",
  flags = FLAGS,
  help = [[
Continues RUN (an id or unique prefix; default: the latest run) from the
database: an action that was interrupted is reconciled first (the workspace
and the SSOT go back to the last snapshot), claims held by dead processes are
released, and every LLM reply already paid for is reused from the ledger.
Budget flags raise the run's saved budgets. A run with a live controller is
refused.]],
  run = function(opts, pos, host)
    local ws = project.abspath(opts.workspace or ".")
    project.use_workspace(ws)
    local db <close> = project.open_db(ws)
    local run = find_run(db, pos[1])
    if run.status == "DONE" or run.status == "FAILED" then
      errors.usage("run %s is already %s; nothing to resume", run.id, run.status)
    end
    run = runner.lock(db, run)
    raise_budgets(db, run, opts)
    run = db:run(run.id)
    local e = project.engine(db, run, ws, { jobs = opts.jobs,
      progress = runner.progress.new { json = opts.json, quiet = opts.quiet } })
    runner.header(e, opts)
    db:release_claims(run.id, { dead_only = true })
    e:reconcile()
    db:release_claims(run.id, { dead_only = true })
    e.run = db:run(run.id)
    require("baton.snapshot").hold_root(e)
    return runner.drive(e, opts, host)
  end,
}
