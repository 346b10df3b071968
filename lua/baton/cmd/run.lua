-- baton run REQUIREMENT: take one requirement to verified, committed work.
local errors = require "baton.errors"
local project = require "baton.project"
local runner = require "baton.runner"

local FLAGS = {
  team = { type = "string" }, policy = { type = "string" }, scheduler = { type = "string" },
  model = { type = "string" }, jobs = { type = "integer", short = "j" },
  ["max-iterations"] = { type = "integer" }, timeout = { type = "number" },
  ["max-tokens"] = { type = "integer" }, ["max-cost"] = { type = "number" },
  ["max-requests"] = { type = "integer" }, retries = { type = "integer" },
  workspace = { type = "string", short = "C" }, json = { type = "boolean" },
  quiet = { type = "boolean", short = "q" }, ["offline-script"] = { type = "string" },
  record = { type = "string" }, replay = { type = "string" },
}

local function positive(opts, name)
  local v = opts[name]
  if v ~= nil and v <= 0 then errors.usage("option '--%s' must be positive, got %s", name, tostring(v)) end
  return v
end

return {
  summary = "take a requirement to verified code",
  usage = "run REQUIREMENT [--team T] [--policy P] [--model M] [--jobs N] [budgets...]",
  flags = FLAGS,
  help = [[
Creates a run for REQUIREMENT in the workspace (default: the current folder; its
state lives in .baton/baton.db) and works it to the end: plan, assign, execute,
verify (roll back and retry on failure), commit, done.

  --team NAME|FILE        agent team (agents/teams/, or .baton/teams/ to override)
  --policy NAME|FILE      controller policy: fsm (default), llm, tdd, or your own
  --scheduler NAME|FILE   keyword (default), balanced, llm
  --model PROVIDER:MODEL  default model (offline, openai:gpt-4o-mini, anthropic:..., ollama:...)
  --jobs N                tasks executed at once (default 4)
  --max-iterations N      --timeout SECONDS  --max-tokens N  --max-cost USD  --max-requests N
  --retries N             verification retries before the run fails (default 3)
  --offline-script FILE   turns for the offline provider (default .baton/offline.lua)
  --record FILE           save every LLM exchange to a cassette;  --replay FILE  answer from one
  --workspace DIR, -C     the project folder
  --json                  JSON lines on stdout, ending with one summary object
Exit codes: 0 verified, 1 failed, 2 usage or config, 3 provider or auth,
4 budget or timeout, 130 interrupted (resume with `baton resume`).]],
  run = function(opts, pos, host)
    local requirement = table.concat(pos, " ")
    if requirement:match("^%s*$") then errors.usage("run needs a REQUIREMENT (try 'baton help run')") end
    for _, n in ipairs { "jobs", "max-iterations", "timeout", "max-tokens", "max-cost", "max-requests" } do
      positive(opts, n)
    end
    local ws = project.abspath(opts.workspace or ".")
    project.use_workspace(ws)
    if opts.retries and opts.retries < 0 then
      errors.usage("option '--retries' must be 0 or more, got %d", opts.retries)
    end
    local config = { scheduler = opts.scheduler, jobs = opts.jobs, offline_script = opts["offline-script"]
      and project.abspath(opts["offline-script"], "offline script"), record = project.absolute(opts.record),
      replay = project.absolute(opts.replay) }
    if opts.model then
      local ok, err = require("baton.llm").parse_model(opts.model)
      if not ok then errors.usage("%s", err) end
    end
    -- load everything user-written before creating the run: a broken file is a clean exit 2
    project.load_team(opts.team or "default")
    project.load_policy(opts.policy or "fsm")
    project.load_scheduler(opts.scheduler or "keyword")
    local offline_script = project.configure_llm(config, ws) or false
    local db <close> = project.open_db(ws)
    local run = db:create_run {
      requirement = requirement, workspace = ws, policy = opts.policy or "fsm",
      team = opts.team or "default", models = { default = opts.model },
      budgets = { tokens = opts["max-tokens"], usd = opts["max-cost"], requests = opts["max-requests"],
        iterations = opts["max-iterations"] or 60, timeout = opts.timeout },
      retry_max = opts.retries or 3, meta = { config = config },
    }
    run = runner.lock(db, run)
    local e = project.engine(db, run, ws, { jobs = opts.jobs, offline_script = offline_script,
      progress = runner.progress.new { json = opts.json, quiet = opts.quiet } })
    require("baton.snapshot").hold_root(e)
    runner.header(e, opts)
    require("baton.snapshot").take(e, "start")
    return runner.drive(e, opts, host)
  end,
}
