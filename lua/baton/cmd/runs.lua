-- baton runs: the runs of this workspace, newest first.
local cjson = require "cjson"
local project = require "baton.project"

return {
  summary = "list the runs of this workspace",
  usage = "runs [--json] [-C DIR]",
  flags = { json = { type = "boolean" }, workspace = { type = "string", short = "C" } },
  help = "Lists the runs recorded in .baton/baton.db: id, status, iteration and requirement.",
  run = function(opts)
    local ws = project.abspath(opts.workspace or ".")
    local db <close> = project.open_db(ws)
    for _, r in ipairs(db:runs()) do
      if opts.json then
        io.stdout:write(cjson.encode { id = r.id, status = r.status, iteration = r.iteration,
          requirement = r.requirement }, "\n")
      else
        io.stdout:write(string.format("%-10s %-8s iter %-4d %s\n", r.id, r.status, r.iteration or 0,
          r.requirement))
      end
    end
    return 0
  end,
}
