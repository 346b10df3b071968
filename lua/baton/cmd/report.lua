-- baton report [RUN] [-o FILE.html]: one self-contained HTML file describing
-- a run (timeline, requirement tree, controller actions, usage,
-- verification, snapshots with diffs, rollbacks). See docs/reports.md.
local errors = require "baton.errors"
local project = require "baton.project"
local report = require "baton.report"

return {
  summary = "write a run's report as one self-contained HTML file",
  usage = "report [RUN] [-o FILE.html] [-C DIR]",
  flags = { output = { type = "string", short = "o" }, workspace = { type = "string", short = "C" } },
  help = "Writes an HTML report of the run (default: the latest) to FILE.html, or to\n" ..
    ".baton/report-<run>.html in the workspace, and prints its path. The file needs no\n" ..
    "network and opens from file://: a timeline of agents and tasks, the requirement\n" ..
    "tree, every controller action with its reasoning, tokens and cost per agent and\n" ..
    "per model, verification results, and snapshots and rollbacks with their diffs.",
  run = function(opts, pos)
    local db <close>, run, ws = project.open_run(opts, pos[1])
    local html = report.render(report.collect(db, run.id, ws))
    local path = opts.output or (ws .. "/.baton/report-" .. run.id .. ".html")
    local f, err = io.open(path, "wb")
    if not f then errors.raise(errors.FAILED, "report: cannot write %s", err) end
    local ok, werr = f:write(html)
    f:close()
    if not ok then errors.raise(errors.FAILED, "report: cannot write %s: %s", path, werr) end
    io.stdout:write(path, "\n")
    return 0
  end,
}
