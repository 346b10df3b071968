-- baton.view: the read-only picture of a run a controller policy decides
-- from, built from the SSOT each iteration. Plain data: policies can print
-- it, test against it, and never change the run through it.
local M = {}

local RECENT = 12

local function task_summary(r)
  return { id = r.id, description = r.description, status = r.status, assignee = r.assignee,
    deps = r.deps or {}, role = r.role, acceptance = r.acceptance or {} }
end

-- The phase markers the built-in policies use: whether the work since the
-- last EXECUTE was verified, and whether the last good verify was committed.
local function phase(actions)
  local last, order = {}, {}
  for i, a in ipairs(actions) do last[a.action], order[a.action] = a, i end
  local function after(x, y) return (order[x] or 0) > (order[y] or 0) end
  local verified = last.VERIFY and last.VERIFY.outcome == "ok" and after("VERIFY", "EXECUTE")
    and after("VERIFY", "ROLLBACK")
  local committed = verified and after("COMMIT", "VERIFY")
  return verified, committed
end

-- The part of the view made from the requirements: counts, tasks and the
-- lists by status. A ready task is the same summary as in tasks: ready is
-- the listing's own rows in its order (Engine.ready_of), met while walking
-- it; rows of another listing get summaries of their own. Counters, not
-- the length operator, and no row -> summary map: a listing of 64 tasks
-- cost ~85 us to summarize, three times a run.
local function tasks_part(root, all, ready)
  local tasks, in_progress, blocked, pending, rdy = {}, {}, {}, {}, {}
  local nt, ni, nb, np, nr, j, want = 0, 0, 0, 0, 0, 1, ready[1]
  local counts = { PENDING = 0, IN_PROGRESS = 0, DONE = 0, BLOCKED = 0, total = 0 }
  for _, r in ipairs(all) do
    if r.id ~= root then
      local s = task_summary(r)
      nt = nt + 1
      tasks[nt] = s
      local st = r.status
      counts[st] = (counts[st] or 0) + 1
      if st == "IN_PROGRESS" then ni = ni + 1 in_progress[ni] = s
      elseif st == "BLOCKED" then nb = nb + 1 blocked[nb] = s
      elseif st == "PENDING" then np = np + 1 pending[np] = s end
      if r == want then nr = nr + 1 rdy[nr] = s end
    end
    if r == want then j = j + 1 want = ready[j] end
  end
  counts.total = nt
  if want ~= nil then -- ready is not this listing's rows in its order
    local of, k = {}, 0
    for _, r in ipairs(all) do
      if r.id ~= root then k = k + 1 of[r] = tasks[k] end
    end
    rdy, nr = {}, 0
    for _, r in ipairs(ready) do
      if r.id ~= root then nr = nr + 1 rdy[nr] = of[r] or task_summary(r) end
    end
  end
  return { counts = counts, tasks = tasks, ready = rdy, in_progress = in_progress, blocked = blocked,
    pending = pending, all = all, ready_rows = ready }
end

-- all, ready: the run's requirements and the ready ones, when the caller
-- has just listed them. An iteration handed the same listing as the one
-- before (nothing wrote a requirement since) reuses that part of the view.
function M.build(e, all, ready)
  local db, run = e.db, e.run
  all = all or db:reqs(run.id)
  ready = ready or db:ready(run.id)
  local p = e.view_part
  if not (p and p.all == all and p.ready_rows == ready and p.root == run.root) then
    p = tasks_part(run.root, all, ready)
    p.root = run.root
    e.view_part = p
  end
  local v = {
    run = { id = run.id, requirement = run.requirement, iteration = run.iteration,
      max_iterations = (run.budgets or {}).iterations, status = run.status },
    counts = p.counts, tasks = p.tasks, ready = p.ready, in_progress = p.in_progress,
    blocked = p.blocked, pending = p.pending,
  }
  local actions = db:actions(run.id, 200)
  v.recent = {}
  for i = math.max(1, #actions - RECENT + 1), #actions do
    local a = actions[i]
    v.recent[#v.recent + 1] = { action = a.action, target = a.target, outcome = a.outcome,
      reasoning = a.reasoning, detail = a.detail }
  end
  v.last_action = v.recent[#v.recent]
  v.decomposed = v.counts.total > 0
  v.verified, v.committed = phase(actions)
  v.all_done = v.decomposed and v.counts.DONE == v.counts.total
  v.failures = e:failures()
  local b, s = run.budgets or {}, run.spent or {}
  v.budgets = {
    tokens = { spent = s.tokens or 0, limit = b.tokens }, usd = { spent = s.usd or 0, limit = b.usd },
    requests = { spent = s.requests or 0, limit = b.requests },
    retries = { used = run.retry_used or 0, max = run.retry_max },
  }
  v.agents = {}
  for _, a in ipairs(e.team.agents) do v.agents[#v.agents + 1] = { name = a.name, role = a.role } end
  return v
end

return M
