-- baton.snapshot: one call that snapshots, or restores, the SSOT and the
-- workspace together, so a task can never stay DONE while its code was
-- rolled back. The workspace half is content-addressed in .baton/objects.
local errors = require "baton.errors"
local harness = require "baton.harness"

local M = {}

local function store_of(e) return e.workspace .. "/.baton/objects" end

-- Takes a snapshot of both halves; returns the SSOT snapshot id.
-- A snapshot the workspace half of which failed (disk full, unreadable
-- file) is not taken at all: a rollback to it would restore only the SSOT.
-- also(sid) (optional) writes what belongs with the snapshot, in its commit.
function M.take(e, label, also)
  local ref, err = harness.snapshot(e.workspace, { store = store_of(e), ignore = e.ignore })
  if not ref then errors.raise(errors.FAILED, "snapshot '%s' of the workspace failed: %s", label, tostring(err)) end
  local sid
  e:tx(function() -- the snapshot row and its journal entry in one commit
    sid = e.db:snapshot(e.run.id, label, ref)
    e:emit("snapshot", { label = label, snapshot = sid, ref = ref })
    if also then also(sid) end
  end)
  if e.snap_count then e.snap_count = e.snap_count + 1 end -- the engine's count (check_limits)
  return sid
end

-- Restores both halves to the newest snapshot. The money spent, the retry
-- count and the notes about failures are facts about time, not state:
-- they survive the restore.
function M.restore_last(e)
  local snaps = e.db:snapshots(e.run.id)
  local last = snaps[#snaps]
  if not last then return nil end
  local keep = { spent = e.run.spent, retry_used = e.run.retry_used, meta = e.run.meta,
    iteration = e.run.iteration }
  -- Files first: if they cannot be restored the SSOT stays as it is (the
  -- two halves never disagree); if the process dies between the two, resume
  -- finds the interrupted action and restores both again.
  if last.workspace_ref then
    local ok, err = harness.rollback(e.workspace, last.workspace_ref, { store = store_of(e), ignore = e.ignore })
    if not ok then
      errors.raise(errors.FAILED, "rollback of the workspace to snapshot %s failed: %s", last.id, tostring(err))
    end
  end
  e.db:restore(e.run.id, last.id)
  e.plan_version = (e.plan_version or 0) + 1
  e.db:update_run(e.run.id, keep)
  e.run = e.db:run(e.run.id)
  M.hold_root(e)
  e:emit("rollback", { snapshot = last.id, label = last.label })
  return last.id
end

-- The controller holds the root requirement while the run works; a restore
-- (which releases claims) or a crash gives it back, so take it again.
function M.hold_root(e)
  local root = e.db:req(e.run.root)
  if root.status == "PENDING" then
    local lease = e.db:claim(e.run.root, "controller", { pid = e.pid })
    e.root_epoch = lease and lease.epoch
  elseif root.status == "IN_PROGRESS" then
    e.root_epoch = root.lease_epoch
  end
end

return M
