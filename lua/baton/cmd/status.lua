-- baton status [RUN]: where a run stands: status, tasks, budgets, last action.
local cjson = require "cjson"
local project = require "baton.project"
local util = require "baton.util"

return {
  summary = "show where a run stands",
  usage = "status [RUN] [--json] [-C DIR]",
  flags = { json = { type = "boolean" }, workspace = { type = "string", short = "C" } },
  help = "Shows the run's status, task counts, spending, retries and its last actions.",
  run = function(opts, pos)
    local db <close>, run = project.open_run(opts, pos[1])
    local counts = {}
    for _, r in ipairs(db:reqs(run.id)) do
      if r.id ~= run.root then counts[r.status] = (counts[r.status] or 0) + 1 end
    end
    local actions = db:actions(run.id, 5)
    if opts.json then
      io.stdout:write(cjson.encode { id = run.id, status = run.status, iteration = run.iteration,
        tasks = counts, spent = run.spent, retry_used = run.retry_used, requirement = run.requirement }, "\n")
      return 0
    end
    local s = run.spent or {}
    io.stdout:write(string.format("run %s: %s (iteration %d)\n  %s\n", run.id, run.status,
      run.iteration or 0, run.requirement))
    io.stdout:write(string.format("  tasks: %d pending, %d in progress, %d done, %d blocked\n",
      counts.PENDING or 0, counts.IN_PROGRESS or 0, counts.DONE or 0, counts.BLOCKED or 0))
    io.stdout:write(string.format("  spent: %d tokens, %d requests, %s; retries used %d of %d\n",
      s.tokens or 0, s.requests or 0, s.usd_unknown and "cost unknown" or util.format_cost(s.usd or 0),
      run.retry_used or 0, run.retry_max or 0))
    for _, a in ipairs(actions) do
      io.stdout:write(string.format("  %-9s %-6s %s\n", a.action, a.outcome or "", util.oneline(a.detail, 80)))
    end
    return 0
  end,
}
