-- baton tasks [RUN] [--tree]: the requirement tree with statuses.
local cjson = require "cjson"
local project = require "baton.project"
local util = require "baton.util"

local function print_tree(db, byparent, id, depth)
  local r = db:req(id)
  io.stdout:write(string.format("%s%s [%s]%s %s\n", string.rep("  ", depth), r.id, r.status,
    r.assignee and (" @" .. r.assignee) or "", util.oneline(r.description, 90)))
  for _, c in ipairs(byparent[id] or {}) do print_tree(db, byparent, c.id, depth + 1) end
end

return {
  summary = "list a run's tasks (--tree for the requirement tree)",
  usage = "tasks [RUN] [--tree] [--json] [-C DIR]",
  flags = { tree = { type = "boolean" }, json = { type = "boolean" }, workspace = { type = "string", short = "C" } },
  help = "Lists the run's requirements with status, assignee and dependencies.",
  run = function(opts, pos)
    local db <close>, run = project.open_run(opts, pos[1])
    local reqs = db:reqs(run.id)
    if opts.json then
      for _, r in ipairs(reqs) do
        io.stdout:write(cjson.encode { id = r.id, parent = r.parent, status = r.status,
          assignee = r.assignee, deps = r.deps, description = r.description }, "\n")
      end
    elseif opts.tree then
      local byparent = {}
      for _, r in ipairs(reqs) do
        if r.parent then byparent[r.parent] = byparent[r.parent] or {} table.insert(byparent[r.parent], r) end
      end
      print_tree(db, byparent, run.root, 0)
    else
      for _, r in ipairs(reqs) do
        if r.id ~= run.root then
          io.stdout:write(string.format("%-8s %-11s %-12s %s%s\n", r.id, r.status, r.assignee or "-",
            util.oneline(r.description, 70), #(r.deps or {}) > 0 and ("  (after " ..
            table.concat(r.deps, ", ") .. ")") or ""))
        end
      end
    end
    return 0
  end,
}
