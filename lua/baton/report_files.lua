-- baton.report_files: the file side of a run report. For each snapshot, the
-- files it changed against the previous snapshot (added, removed, modified,
-- with a capped line diff read from the harness store); for each rollback,
-- the files agents wrote or deleted since the snapshot it restored (their
-- pre-rollback contents were never snapshotted, so no diff exists for them).
local linediff = require "baton.linediff"
local snapstore = require "baton.snapstore"
local util = require "baton.util"

local M = {}

local function text_of(store, ent, limits)
  if not ent or ent.type ~= "f" then return "" end
  if (ent.size or 0) > limits.diff_bytes then return nil, "too large to diff" end
  local data, err = snapstore.blob(store, ent.hash)
  if not data then return nil, err end
  if data:find("\0", 1, true) then return nil, "binary file" end
  return data
end

-- One changed path: {path, change, added, removed, diff={lines}, note}.
local function change(store, path, old, new, budget, limits)
  local c = { path = util.clip(path, 300) }
  c.change = not old and "added" or not new and "removed" or "modified"
  if (old and old.type or "f") ~= "f" or (new and new.type or "f") ~= "f" then
    c.note = "not a regular file"
    return c
  end
  if budget.files <= 0 or budget.lines <= 0 then c.note = "diff omitted (report size cap)" return c end
  local a, ea = text_of(store, old, limits)
  local b, eb = text_of(store, new, limits)
  if not a or not b then c.note = ea or eb return c end
  local d = linediff.unified(a, b, { max_lines = math.min(limits.diff_lines, budget.lines) })
  budget.files, budget.lines = budget.files - 1, budget.lines - #d.lines
  c.added, c.removed, c.diff, c.truncated = d.added, d.removed, d.lines, d.truncated or nil
  return c
end

local function changes(store, prev, cur, budget, limits)
  local paths = {}
  for p, e in pairs(cur) do
    local o = prev[p]
    if not o or o.hash ~= e.hash or o.type ~= e.type then paths[#paths + 1] = p end
  end
  for p in pairs(prev) do if not cur[p] then paths[#paths + 1] = p end end
  table.sort(paths)
  local out = {}
  for _, p in ipairs(paths) do
    if not (cur[p] and cur[p].type == "d" and prev[p] and prev[p].type == "d") then
      out[#out + 1] = change(store, p, prev[p], cur[p], budget, limits)
    end
  end
  return out
end

-- snapshots(db, run, store|nil, t0, limits) -> list of {id, label, time, ref, files, changes, note}
function M.snapshots(db, run, store, t0, limits)
  local out, prev = {}, nil
  local budget = { files = limits.diff_files, lines = limits.diff_total }
  for _, s in ipairs(db:snapshots(run.id)) do
    local ref = s.workspace_ref or s.ref
    local row = { id = s.id, label = util.clip(tostring(s.label or ""), 60),
      time = tonumber(s.created_at) and math.max(0, tonumber(s.created_at) - t0), ref = ref and tostring(ref) }
    local man, err
    if store then man, err = snapstore.manifest(store, ref) else err = "the run's workspace is unknown" end
    if not man then
      row.note = err
    else
      local n = 0
      for _, e in pairs(man) do if e.type == "f" then n = n + 1 end end
      row.files = n
      if prev then row.changes = changes(store, prev, man, budget, limits)
      else row.note = "first snapshot of the run: no earlier state to compare with" end
      prev = man
    end
    out[#out + 1] = row
  end
  return out
end

local WRITES = { write_file = "written", delete_file = "deleted" }

-- rollbacks(events, t0) -> list of {time, snapshot, label, files={{path, how, agent, task}}}
function M.rollbacks(events, t0)
  local taken, touched, out = {}, {}, {}
  for _, ev in ipairs(events) do
    local p = type(ev.payload) == "table" and ev.payload or {}
    if ev.kind == "snapshot" and p.snapshot then
      taken[tostring(p.snapshot)] = #touched
    elseif ev.kind == "tool" and WRITES[p.tool] and p.target then
      touched[#touched + 1] = { path = util.clip(tostring(p.target), 300), how = WRITES[p.tool],
        agent = p.agent and tostring(p.agent), task = p.task and tostring(p.task),
        ok = type(p.result) == "string" and p.result:match("^wrote ") ~= nil or
          type(p.result) == "string" and p.result:match("^deleted ") ~= nil }
    elseif ev.kind == "rollback" then
      local from, files, seen = taken[tostring(p.snapshot)], {}, {}
      for i = (from or 0) + 1, #touched do
        local w = touched[i]
        if w.ok and not seen[w.path] then seen[w.path] = true files[#files + 1] = w end
      end
      out[#out + 1] = { time = math.max(0, (tonumber(ev.time) or t0) - t0), snapshot = p.snapshot,
        label = p.label and util.clip(tostring(p.label), 60), files = files,
        note = not from and "the restored snapshot was taken before this journal starts" or nil }
    end
  end
  return out
end

return M
