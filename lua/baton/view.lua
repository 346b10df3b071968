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

-- all, ready: the run's requirements and the ready ones, when the caller
-- has just listed them.
function M.build(e, all, ready)
  local db, run = e.db, e.run
  all = all or db:reqs(run.id)
  local v = {
    run = { id = run.id, requirement = run.requirement, iteration = run.iteration,
      max_iterations = (run.budgets or {}).iterations, status = run.status },
    counts = { PENDING = 0, IN_PROGRESS = 0, DONE = 0, BLOCKED = 0, total = 0 },
    tasks = {}, ready = {}, in_progress = {}, blocked = {}, pending = {},
  }
  for _, r in ipairs(all) do
    if r.id ~= run.root then
      local s = task_summary(r)
      v.tasks[#v.tasks + 1] = s
      v.counts[r.status] = (v.counts[r.status] or 0) + 1
      v.counts.total = v.counts.total + 1
      if r.status == "IN_PROGRESS" then v.in_progress[#v.in_progress + 1] = s end
      if r.status == "BLOCKED" then v.blocked[#v.blocked + 1] = s end
      if r.status == "PENDING" then v.pending[#v.pending + 1] = s end
    end
  end
  for _, r in ipairs(ready or db:ready(run.id)) do
    if r.id ~= run.root then v.ready[#v.ready + 1] = task_summary(r) end
  end
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
