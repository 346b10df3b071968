-- baton log [RUN] [--follow]: the run's event journal.
local cjson = require "cjson"
local project = require "baton.project"
local util = require "baton.util"

return {
  summary = "show a run's event journal (--follow to keep watching)",
  usage = "log [RUN] [--follow] [--kind K] [--json] [-C DIR]",
  flags = { follow = { type = "boolean", short = "f" }, json = { type = "boolean" },
    kind = { type = "string" }, workspace = { type = "string", short = "C" } },
  help = "Prints the journal: sequence, time, actor, kind and payload of every event.",
  run = function(opts, pos)
    local db <close>, run = project.open_run(opts, pos[1])
    local since = 0
    repeat
      for _, ev in ipairs(db:events(run.id, { since = since, kind = opts.kind })) do
        since = ev.seq
        if opts.json then
          io.stdout:write(cjson.encode(ev), "\n")
        else
          io.stdout:write(string.format("%6d %s %-12s %-14s %s\n", ev.seq, os.date("%H:%M:%S",
            math.floor(ev.time or 0)), ev.actor, ev.kind, util.oneline(cjson.encode(ev.payload), 110)))
        end
      end
      io.stdout:flush()
      if opts.follow then
        local r = db:run(run.id)
        if r.status ~= "RUNNING" then break end
        require("baton.loop").sleep(0.5)
      end
    until not opts.follow
    return 0
  end,
}
