-- baton.actions: the built-in controller actions. Each is a function
-- (e, decision [, listed]) -> outcome {ok=bool, summary=, final="DONE"|"FAILED"|nil}.
-- A policy may add its own with the same signature (policy.actions).
-- listed = {all=, ready=}: the requirements the engine listed this iteration,
-- still current (nothing wrote a requirement since), so an action need not
-- list them again; an action sets listed.after to a listing still current
-- when it returns. Absent when a policy's own action calls a built-in.
-- ASSIGN and EXECUTE hand over the listing with the rows they changed
-- brought up to date by what they wrote (status, assignee, lease holder,
-- epoch and pid, status_by); the two clock fields of those rows, lease_time
-- and status_at, are left out (nil): nothing reads them from a listing.
-- None after a refused claim or a lost lease: another writer changed a row.
local agent = require "baton.agent"
local loop = require "baton.loop"
local snapshot = require "baton.snapshot"
local util = require "baton.util"

local M = {}

local REVIEW_BUDGET = 60000 -- bytes of file contents shown to the reviewer

-- The planner's SSOT tools: tasks are named by keys the planner chooses, so
-- a scripted or replayed plan can name dependencies before ids exist.
-- Duplicates are judged against the SSOT itself, so a restore (which removes
-- what was planned after the snapshot) leaves nothing stale behind.
local function plan_tools(e, listed)
  local meta = e.run.meta or {}
  meta.keys = meta.keys or {}
  local function resolve(ref)
    local id = meta.keys[ref]
    if id and e.db:req(id) then return id end
    local ok, r = pcall(e.db.req, e.db, ref)
    if ok and r and r.run == e.run.id then return r.id end
  end
  -- meta (every key and description so far) is saved once per turn, by
  -- flush: saving it after each add made a plan of N tasks cost O(N^2).
  -- A crash before the flush loses nothing: resume restores the snapshot
  -- taken before DECOMPOSE, which has neither the tasks nor the meta.
  local dirty = false
  local function save() e.run.meta, dirty = meta, true end
  local plan = {}
  function plan.flush()
    if dirty then e.db:update_run(e.run.id, { meta = meta }) dirty = false end
  end
  -- The run's tasks by normalized description, read from the SSOT once per
  -- DECOMPOSE (nothing else adds or removes tasks while the planner plans):
  -- reading them all for every add made a plan of N tasks cost O(N^2).
  local known
  function plan.add(a)
    local norm = util.normalize(a.description)
    if not known then
      known = {}
      for _, r in ipairs(listed and listed.all or e.db:reqs(e.run.id)) do
        local k = util.normalize(r.description)
        if r.id ~= e.run.root and not known[k] then known[k] = r.id end -- the first, as listed
      end
    end
    if known[norm] then
      return string.format("refused: duplicate of %s (%s)", known[norm], util.oneline(a.description, 60))
    end
    local deps = {}
    for _, d in ipairs(a.depends_on or {}) do
      local id = resolve(d)
      if not id then return string.format("error: unknown dependency '%s'; add it first", d) end
      deps[#deps + 1] = id
    end
    local ok, id = pcall(e.db.add_req, e.db, e.run.id, { parent = e.run.root,
      description = a.description, acceptance = a.acceptance or {}, deps = deps, role = a.role })
    if not ok then return "refused: " .. tostring(id):gsub("^[^:]+:%d+: ", "") end
    e.plan_version = (e.plan_version or 0) + 1
    known[norm] = id
    if a.key then meta.keys[a.key] = id end
    save()
    return "added " .. id .. (a.key and (" as " .. a.key) or "")
  end
  function plan.contract(a)
    local owner = a.owner and resolve(a.owner)
    if a.owner and not owner then return string.format("error: unknown owner '%s'", a.owner) end
    local ok, err = pcall(e.db.add_contract, e.db, e.run.id,
      { name = a.name, kind = a.kind, owner = owner, spec = a.spec })
    if not ok then return "refused: " .. tostring(err) end
    return "registered contract " .. a.name
  end
  return plan
end

function M.DECOMPOSE(e, d, listed)
  local planner = e:agent_with_role("planner")
  if not planner then return { ok = false, summary = "the team has no planner" } end
  local role = e:role_of(planner)
  local root = e.db:req(e.run.root)
  local t = { h = e:harness_for(planner, role), round = { writes = {} }, agent = planner,
    task = root, plan = plan_tools(e, listed) }
  t.flush = t.plan.flush
  t.describe_task = function() return agent.describe(e, root) end
  local before = #(listed and listed.all or e.db:reqs(e.run.id))
  local outcome = agent.converse(e, { agent = planner, role = role, task = nil, tool_ctx = t,
    messages = { { role = "user", content = "Requirement: " .. e.run.requirement ..
      (d.reasoning and ("\nController note: " .. d.reasoning) or "") } } })
  local after = e.db:reqs(e.run.id)
  e.llm:aliases(after) -- the next request's key names the new tasks from this listing
  local added = #after - before
  snapshot.take(e, "plan")
  if listed then listed.after = after end
  return { ok = added > 0, summary = string.format("%d task(s) planned; planner: %s", added,
    util.oneline(outcome.reason, 80)) }
end

-- The listing all with the rows named in changes (id -> what was written)
-- brought up to date by fields(row, change), in place (the rows are this
-- iteration's own), as a new array (the view and the ready set are kept per
-- listing array); ok is false when a change names no row of it. A listing
-- of 256 tasks costs ~5 M instructions.
local function updated(all, changes, fields)
  local n, want = 0, 0
  for _ in pairs(changes) do want = want + 1 end
  for _, r in ipairs(all) do
    local c = changes[r.id]
    if c then
      fields(r, c)
      r.lease_time, r.status_at = nil, nil
      n = n + 1
    end
  end
  return table.move(all, 1, #all, 1, {}), n == want
end

local function claimed(r, c)
  r.status, r.assignee, r.lease_holder, r.status_by = "IN_PROGRESS", c.agent, c.agent, c.agent
  r.lease_epoch, r.lease_pid = c.epoch, c.pid
end

local function completed(r, c)
  r.status, r.status_by, r.lease_holder, r.lease_pid = c.status, c.agent, nil, nil
end

function M.ASSIGN(e, d, listed)
  local picks = {}
  for _, task in ipairs(listed and listed.ready or e.db:ready(e.run.id)) do
    if task.id ~= e.run.root and (not d.target or d.target == task.id) then
      local name = e:select_agent(task, d) -- a scheduler may ask a model: not inside the transaction
      if name then picks[#picks + 1] = { id = task.id, agent = name } end
    end
  end
  -- every claim in one transaction: one commit, not one per task
  local assigned, changes, refused = {}, {}, false
  e:tx(function()
    for _, p in ipairs(picks) do
      local lease = e.db:claim(p.id, p.agent, { pid = e.pid })
      if lease then
        assigned[#assigned + 1] = p.id .. "->" .. p.agent
        changes[p.id] = { agent = p.agent, epoch = lease.epoch, pid = e.pid }
      else -- another writer changed the row since the listing: it cannot tell how
        refused = true
      end
    end
  end)
  if listed and not refused then
    local after, ok = updated(listed.all, changes, claimed)
    if ok then listed.after = after end
  end
  return { ok = #assigned > 0, summary = #assigned .. " assigned: " .. table.concat(assigned, ", ") }
end

-- Runs every claimed task concurrently, at most --jobs at a time.
function M.EXECUTE(e, _, listed)
  local queue = {}
  for _, r in ipairs(listed and listed.all or e.db:reqs(e.run.id, { status = "IN_PROGRESS" })) do
    if r.id ~= e.run.root and r.status == "IN_PROGRESS" then queue[#queue + 1] = r end
  end
  e.round = { writes = {} }
  local next_i, results, stop = 1, {}, nil
  local function worker()
    while next_i <= #queue and not stop do
      local task = queue[next_i]
      next_i = next_i + 1
      -- keep a raised stop (budget, interrupt, provider) as the object it is
      local ok, res = pcall(agent.run_task, e, task, task.assignee or task.lease_holder, task.lease_epoch)
      if ok then results[task.id] = res else stop = stop or res end
    end
  end
  local workers = {}
  for i = 1, math.min(e.jobs, #queue) do workers[i] = loop.spawn(worker) end
  for _, r in ipairs(loop.wait_all(workers)) do
    if not r.ok then stop = stop or r.err end
  end
  if stop then error(stop, 0) end -- the task's claim stays; resume reconciles it
  local counts, changes, lost = {}, {}, false
  for _, task in ipairs(queue) do
    local res = results[task.id] or { status = "LOST" }
    counts[res.status] = (counts[res.status] or 0) + 1
    -- a lost lease: another holder wrote the row, the listing cannot tell how
    lost = lost or res.status == "LOST"
    changes[task.id] = { status = res.status, agent = task.assignee or task.lease_holder }
  end
  if listed and not lost then
    local after, ok = updated(listed.all, changes, completed)
    if ok then listed.after = after end
  end
  return { ok = (counts.DONE or 0) > 0, summary = string.format("%d task(s): %d done, %d blocked",
    #queue, counts.DONE or 0, counts.BLOCKED or 0) }
end

-- all: the run's requirements, when the caller has a current listing.
local function review(e, reasons, all)
  local name = e:agent_with_role("review")
  if not name then return end
  local role = e:role_of(name)
  local lines = { "Requirement: " .. e.run.requirement, "", "Tasks:" }
  for _, r in ipairs(all or e.db:reqs(e.run.id)) do
    if r.id ~= e.run.root then -- id, status and description are strings (NOT NULL columns):
      -- concatenated, not string.format's %s (a __tostring lookup each)
      lines[#lines + 1] = "- " .. r.id .. " [" .. r.status .. "] " .. r.description ..
        "; criteria: " .. table.concat(r.acceptance or {}, "; ")
    end
  end
  local h = e:harness_for(name, role)
  lines[#lines + 1] = "\nFiles:"
  -- The prompt holds file contents up to a total budget, then names only:
  -- a large workspace must not become a prompt no model accepts.
  -- the reads' audit rows in one commit, not one per file
  e:tx(function()
    local budget, files = REVIEW_BUDGET, h:list("**") or {}
    for i, f in ipairs(files) do
      if budget <= 0 then
        lines[#lines + 1] = string.format("(%d more files, not shown: %s%s)", #files - i + 1,
          table.concat(files, ", ", i, math.min(#files, i + 50)), #files > i + 50 and ", ..." or "")
        break
      end
      local text = util.clip(h:read(f) or "", math.min(4000, budget))
      budget = budget - #text
      lines[#lines + 1] = "=== " .. f .. "\n" .. text
    end
  end)
  if #reasons > 0 then lines[#lines + 1] = "\nAutomatic checks failed:\n- " .. table.concat(reasons, "\n- ") end
  local resp, err, code = e.llm:chat { model = e:model_for("review"), system = role.prompt,
    messages = { { role = "user", content = table.concat(lines, "\n") } },
    schema = role.verdict_schema, agent = name, role = "review" }
  if not resp then reasons[#reasons + 1] = string.format("review failed: %s (%s)", err, code) return end
  local v = resp.data or {}
  e:emit("review", { agent = name, approved = v.approved, reasons = v.reasons })
  if v.approved ~= true then
    for _, r in ipairs(v.reasons or { "rejected without reasons" }) do reasons[#reasons + 1] = "review: " .. r end
  end
end

local function run_tests(e, reasons)
  local argv = e.team.test_command
  if not argv then return end
  local h = e:harness_for("verifier", e:verifier_role())
  local res, err = h:run(argv, { timeout = e.team.test_timeout or 120 })
  if not res then reasons[#reasons + 1] = "tests could not run: " .. tostring(err) return end
  e:emit("tests", { argv = table.concat(argv, " "), code = res.code, timed_out = res.timed_out })
  if res.code ~= 0 or res.timed_out then
    reasons[#reasons + 1] = string.format("tests failed (%s %s): %s", table.concat(argv, " "),
      res.timed_out and "timed out" or ("exit " .. tostring(res.code or res.signal)),
      util.oneline(util.tail((res.stdout or "") .. (res.stderr or ""), 600), 600))
  end
end

-- Contract validation, the team's tests and the reviewer; a failure rolls
-- both halves back to the last snapshot and spends one retry.
function M.VERIFY(e, _, listed)
  local reasons, all = {}, listed and listed.all
  for _, v in ipairs(e.db:validate(e.run.id, e.workspace).violations or {}) do
    reasons[#reasons + 1] = "contract: " .. (v.message or tostring(v.kind))
  end
  for _, r in ipairs(all or e.db:reqs(e.run.id, { status = "BLOCKED" })) do
    if r.status == "BLOCKED" then reasons[#reasons + 1] = string.format("task %s blocked", r.id) end
  end
  run_tests(e, reasons)
  review(e, reasons, all)
  e:emit("verify", { ok = #reasons == 0, reasons = reasons })
  if #reasons == 0 then
    if listed then listed.after = all end -- verifying wrote no requirement
    return { ok = true, summary = "verified" }
  end
  return e:rollback(reasons)
end

function M.COMMIT(e, _, listed)
  -- the retry count and the failure notes reset in the snapshot's commit
  -- (one commit, not two; the snapshot's state still holds them as they were)
  local sid = snapshot.take(e, "commit", function()
    local meta = e.run.meta or {}
    meta.failures = nil
    e.run.meta, e.run.retry_used = meta, 0
    e.db:update_run(e.run.id, { retry_used = 0, meta = meta })
  end)
  if listed then listed.after = listed.all end -- a snapshot writes no requirement
  return { ok = true, summary = "snapshot " .. tostring(sid) }
end

function M.DONE(e, d, listed)
  local v = e.view
  if not v.all_done then
    return { ok = false, summary = string.format("ignored: %d of %d tasks are DONE", v.counts.DONE,
      v.counts.total) }
  end
  snapshot.hold_root(e)
  local ok, err = e.db:complete(e.run.root, "controller", e.root_epoch, "DONE", d.reasoning or "all tasks verified")
  if not ok then return { ok = false, summary = "cannot close the root requirement: " .. tostring(err) } end
  -- the view came from this iteration's listing and only the root changed
  -- since: the run's summary counts from it instead of listing every task again
  if listed then e.final_counts = { tasks = v.counts.total, done = v.counts.DONE } end
  return { ok = true, final = "DONE", summary = "all tasks done and verified" }
end

function M.FAIL(e, d)
  return { ok = true, final = "FAILED", summary = d.reasoning or "the policy gave up" }
end

return M
