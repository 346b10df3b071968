-- baton.engine: the loop. Each iteration builds a read-only view of the run
-- from the SSOT, asks the controller policy for the next action, journals
-- the intent, runs the action, journals its result. Every limit stops the
-- run cleanly with its state saved and a message saying how to continue.
local actions = require "baton.actions"
local errors = require "baton.errors"
local harness = require "baton.harness"
local llmcall = require "baton.llmcall"
local script = require "baton.script"
local snapshot = require "baton.snapshot"
local sys = require "baton.sys"
local util = require "baton.util"
local view = require "baton.view"

local Engine = {}
Engine.__index = Engine

local BUILTIN = { DECOMPOSE = true, ASSIGN = true, EXECUTE = true, VERIFY = true, COMMIT = true,
  DONE = true, FAIL = true }

-- cfg = {db=, run=, workspace=, team=, roles=, policy=, policy_name=, scheduler=,
--        scheduler_name=, jobs=, model=, progress=, ignore=, replaying=, offline_script=}
function Engine.new(cfg)
  local e = setmetatable(util.copy(cfg), Engine)
  e.pid = sys.pid()
  e.llm = llmcall.new(e)
  e.harnesses = {}
  e.round = { writes = {} }
  e.started = sys.clock()
  return e
end

-- Kinds shown by the progress output only: "action"/"action.done" repeat
-- the journaled action.start/action.end, llm.start has no outcome yet.
local PROGRESS_ONLY = { ["llm.start"] = true, action = true, ["action.done"] = true }

function Engine:emit(kind, payload)
  payload = payload or {}
  if not PROGRESS_ONLY[kind] then
    self.db:event(self.run.id, payload.agent or "controller", kind, payload)
  end
  if self.progress then self.progress:event(kind, payload, self) end
end

-- Runs fn(...) (which must not yield) in one SSOT transaction: one commit for
-- rows that belong together. A database that cannot begin or commit it
-- stops the run (resumable) rather than going on without those rows.
local function call_true(fn, ...) fn(...) return true end

function Engine:tx(fn, ...)
  local ok, err = self.db:tx(call_true, fn, ...)
  if not ok then errors.raise(errors.FAILED, "%s", tostring(err)) end
end

function Engine:failures() return (self.run.meta or {}).failures or {} end

function Engine:role_of(agent_name)
  for _, a in ipairs(self.team.agents) do
    if a.name == agent_name then return self.roles[a.role] end
  end
  error(string.format("agent '%s' is not in team '%s'", tostring(agent_name), self.team.name), 0)
end

-- An agent's kind is its role file's `name` (a project's "bench_planner"
-- that extends the planner says name = "planner"), or the role's file name.
function Engine:kind_of(a)
  local r = self.roles[a.role]
  return r and r.name or a.role
end

function Engine:agent_with_role(kind)
  for _, a in ipairs(self.team.agents) do
    if a.role == kind or self:kind_of(a) == kind then return a.name end
  end
end

function Engine:model_for(role)
  if self.replaying then return "replay" end -- a cassette answers whatever model recorded it
  local m = self.team.models or {}
  return m[role] or self.model or m.default or "offline"
end

-- The verifier runs the team's test command with a policy of its own.
function Engine:verifier_role()
  local argv = self.team.test_command or {}
  return { name = "verifier", harness = self.team.verify_harness or {
    read = { "**" }, write = { "**" }, deny = { ".baton/**", ".git/**" },
    commands = { { argv[1] } }, shell = true, network = false, timeout = 120,
  } }
end

function Engine:harness_for(agent_name, role)
  local h = self.harnesses[agent_name]
  if h then return h end
  local db, run = self.db, self.run
  h = harness.new { workspace = self.workspace, agent = agent_name, policy = role.harness or {},
    on_audit = function(ev) db:event(run.id, agent_name, "harness", ev) end }
  self.harnesses[agent_name] = h
  return h
end

function Engine:select_agent(task, decision)
  if decision.role then
    for _, a in ipairs(self.team.agents) do
      if a.role == decision.role or a.name == decision.role then return a.name end
    end
  end
  -- the team is fixed for the engine's life: its workers are listed once
  -- (and a scheduler gets the same read-only list for every task)
  local candidates = self.workers
  if not candidates then
    candidates = {}
    for _, a in ipairs(self.team.agents) do
      local kind = self:kind_of(a)
      if kind ~= "planner" and kind ~= "review" then candidates[#candidates + 1] = a end
    end
    self.workers = candidates
  end
  self.scheduler_what = self.scheduler_what or ("scheduler '" .. self.scheduler_name .. "'")
  local name = script.call(self.scheduler_what, self.scheduler.select,
    util.readonly(task), util.readonly(candidates), self:policy_ctx())
  for _, a in ipairs(candidates) do if a.name == name then return name end end
  local fallback = candidates[1] and candidates[1].name
  self:emit("policy.log", { message = string.format("scheduler '%s' chose %s for %s, not an agent " ..
    "of this team; using %s", self.scheduler_name, tostring(name), task.id, tostring(fallback)) })
  return fallback
end

-- What a policy's decide() (and a scheduler's select) gets besides the
-- view: a fresh table per call (a script may write into it), holding the
-- same three functions, made once per engine.
function Engine:policy_ctx()
  local f = self.ctx_fns
  if not f then
    local e = self
    f = {
      llm = function(req)
        req.agent = req.agent or "controller"
        req.role = req.role or "controller"
        req.model = req.model or e:model_for("controller")
        return e.llm:chat(req)
      end,
      log = function(msg) e:emit("policy.log", { message = tostring(msg) }) end,
      fsm = function(v) return script.load_module("fsm").decide(v, e:policy_ctx()) end,
    }
    self.ctx_fns = f
  end
  return { llm = f.llm, log = f.log, fsm = f.fsm }
end

-- Rolls both halves back to the last snapshot after a failed verification,
-- spends one retry, and fails the run when the budget is gone.
function Engine:rollback(reasons)
  local used, max = (self.run.retry_used or 0) + 1, self.run.retry_max or 3
  local meta = self.run.meta or {}
  meta.failures = reasons
  self.run.meta, self.run.retry_used = meta, used
  self.db:update_run(self.run.id, { meta = meta, retry_used = used })
  snapshot.restore_last(self)
  self.db:record_action(self.run.id, { action = "ROLLBACK", outcome = "ok",
    detail = table.concat(reasons, "; ") })
  if used > max then
    return { ok = false, final = "FAILED", summary = string.format(
      "verification failed and the retry budget (%d) is spent: %s", max, table.concat(reasons, "; ")) }
  end
  return { ok = false, summary = string.format("verification failed (retry %d of %d): %s", used, max,
    table.concat(reasons, "; ")) }
end

-- Limits checked before every iteration; raises a baton.errors object.
function Engine:check_limits()
  local b = self.run.budgets or {}
  if sys.interrupted() then errors.raise(errors.INTERRUPTED, "interrupted") end
  if b.iterations and self.run.iteration >= b.iterations then
    errors.raise(errors.BUDGET, "iteration limit reached (%d)", b.iterations)
  end
  if b.timeout and sys.clock() - self.started >= b.timeout then
    errors.raise(errors.BUDGET, "timeout reached (%ss)", b.timeout == math.floor(b.timeout)
      and string.format("%d", b.timeout) or tostring(b.timeout))
  end
  -- the listing the last action handed over (it wrote no requirement since), or a new one
  local fp, n, all = {}, 0, self.carry or self.db:reqs(self.run.id)
  self.carry = nil
  for _, r in ipairs(all) do
    n = n + 2
    fp[n - 1], fp[n] = r.id, r.status
  end
  -- the number of snapshots: listed once, then counted by snapshot.take (the
  -- only writer besides a policy's own action, after which it is listed again);
  -- a listing costs ~4k instructions per requirement per snapshot
  local nsnaps = self.snap_count or #self.db:snapshots(self.run.id)
  self.snap_count = nsnaps
  fp = table.concat(fp, ",") .. "|" .. nsnaps .. "|" .. (self.effects or 0)
  local limit = self.policy.no_progress_limit or 8
  if fp == self.last_fp then self.stuck = (self.stuck or 0) + 1 else self.stuck = 0 end
  self.last_fp = fp
  if self.stuck >= limit then
    errors.raise(errors.BUDGET, "no progress in %d iterations", limit)
  end
  return all
end

-- The ready requirements of a current listing of the whole run, as
-- db:ready decides them (PENDING, and no dependency that is not DONE;
-- dependencies are always of the same run, so all holds them), in the
-- listing's order, without a second query (~20k instructions per row).
local function ready_of(all)
  local status, ready, n = nil, {}, 0
  for _, r in ipairs(all) do
    if r.status == "PENDING" then
      local ok, deps = true, r.deps
      if deps and deps[1] ~= nil then
        if not status then -- made on the first task with dependencies (a plan may have none)
          status = {}
          for _, x in ipairs(all) do status[x.id] = x.status end
        end
        for _, d in ipairs(deps) do
          local s = status[d]
          if s ~= nil and s ~= "DONE" then ok = false break end
        end
      end
      if ok then n = n + 1 ready[n] = r end
    end
  end
  return ready
end
Engine.ready_of = ready_of

-- all: the requirements check_limits just listed (nothing wrote since), so
-- the view does not list them again (each listing costs ~20k instructions
-- per requirement). Returns the decision, the policy's own action if it is
-- one, and the ready requirements the view was built from.
function Engine:decide(all)
  -- the same listing as the iteration before (carried over): the same ready set
  if self.ready_from ~= all then self.ready_from, self.ready_rows = all, ready_of(all) end
  local ready = self.ready_rows
  self.view = view.build(self, all, ready)
  local d = script.call("policy '" .. self.policy_name .. "'", self.policy.decide,
    util.readonly(self.view), self:policy_ctx())
  if type(d) ~= "table" or type(d.action) ~= "string" then
    errors.raise(errors.USAGE, "policy '%s': decide() must return a table with an action string, got %s",
      self.policy_name, type(d) == "table" and ("action = " .. tostring(d.action)) or type(d))
  end
  d.action = d.action:upper()
  local custom = self.policy.actions and self.policy.actions[d.action]
  if not BUILTIN[d.action] and not custom then
    errors.raise(errors.USAGE, "policy '%s': unknown action '%s' (built-in: %s; or define it in " ..
      "policy.actions)", self.policy_name, d.action, table.concat(util.sorted_keys(BUILTIN), ", "))
  end
  return d, custom, ready
end

-- One iteration; returns the outcome of the action run.
function Engine:step()
  local all = self:check_limits()
  local d, custom, ready = self:decide(all)
  self.run.iteration = self.run.iteration + 1
  -- the iteration and the intent row in one commit, durable before the action's effects
  self:tx(function()
    self.db:update_run(self.run.id, { iteration = self.run.iteration })
    d.seq = self.db:event(self.run.id, "controller", "action.start", { action = d.action,
      target = d.target, reasoning = d.reasoning, iteration = self.run.iteration })
  end)
  self:emit("action", { action = d.action, reasoning = d.reasoning, target = d.target })
  local outcome, listed
  if custom then
    outcome = script.call("action '" .. d.action .. "'", custom, self:action_ctx(), d)
    self.snap_count = nil -- it has the db: it may have taken snapshots of its own
  else
    -- what this iteration listed is still current (only the journal was written
    -- since), so a built-in action need not list it again; it may hand a listing
    -- still current at its end (listed.after) to the next iteration
    listed = { all = all, ready = ready }
    outcome = actions[d.action](self, d, listed)
  end
  outcome = type(outcome) == "table" and outcome or { ok = outcome and true or false }
  -- the action's ledger row and its result in one commit
  self:tx(function()
    self.db:record_action(self.run.id, { action = d.action, target = d.target, role = d.role,
      reasoning = d.reasoning, outcome = outcome.ok and "ok" or "failed", detail = outcome.summary })
    self.db:event(self.run.id, "controller", "action.end", { action = d.action, ok = outcome.ok,
      summary = outcome.summary, start = d.seq })
  end)
  self.carry = listed and listed.after
  self:emit("action.done", { action = d.action, ok = outcome.ok, summary = outcome.summary })
  return outcome
end

-- What a policy-defined action gets: the built-ins, to compose, and the db.
function Engine:action_ctx()
  local e = self
  local ctx = { view = self.view, db = self.db, run = self.run, emit = function(k, p) e:emit(k, p) end }
  for name, fn in pairs(actions) do ctx[name] = function(d) return fn(e, d or {}) end end
  return ctx
end

local function finish(e, status, message, code)
  e.final_message = status ~= "DONE" and message or nil
  e.db:update_run(e.run.id, { status = status, controller_pid = 0 })
  e.run.status = status
  e:emit("run.end", { status = status, message = message, code = code })
  return code
end

-- Runs to DONE, FAILED or a stop; returns the exit code.
function Engine:run_loop()
  local ok, res = pcall(function()
    while true do
      local outcome = self:step()
      if outcome.final then return outcome end
    end
  end)
  if ok then
    if res.final == "DONE" then return finish(self, "DONE", res.summary, 0) end
    return finish(self, "FAILED", res.summary, 1)
  end
  if errors.is(res) then
    local msg = res.msg
    if res.exit == errors.INTERRUPTED then msg = "interrupted" end
    local hint = string.format("%s; state saved, continue with `baton resume %s`", msg, self.run.id)
    finish(self, "STOPPED", hint, res.exit)
    res.msg = hint
  end
  error(res, 0)
end

-- Reconciles an action whose intent was journaled but whose result was not
-- (the process died in the middle): both halves go back to the last
-- snapshot, and the step is redone with every LLM reply reused.
function Engine:reconcile()
  local evs = self.db:events(self.run.id, { kind = "action.start" })
  local last = evs[#evs]
  if not last then return end
  local ends = self.db:events(self.run.id, { kind = "action.end", since = last.seq })
  if #ends > 0 then return end
  self:emit("resume.reconcile", { action = last.payload.action, seq = last.seq })
  snapshot.restore_last(self)
  self.db:record_action(self.run.id, { action = "ROLLBACK", outcome = "ok",
    detail = "resume: redoing the interrupted " .. tostring(last.payload.action) })
end

return Engine
