-- baton.report: the data of a run report. collect() reads one run from the
-- SSOT (and its workspace snapshots from the harness store) into a plain
-- table: the requirement tree, a timeline of spans derived from the event
-- journal, the controller's actions, LLM usage, verifications, snapshots
-- with the files each changed (capped diffs) and rollbacks. render() (in
-- baton.report_page) turns that table into one self-contained HTML file.
local report_files = require "baton.report_files"
local util = require "baton.util"

local M = {}

-- Caps that bound the report's size whatever the run did.
M.LIMITS = { diff_lines = 300, diff_files = 60, diff_total = 20000, diff_bytes = 512 * 1024,
  label = 100, text = 2000 }

local function num(x)
  x = tonumber(x)
  if not x or x ~= x or x == math.huge or x == -math.huge then return nil end
  return math.tointeger(x) or x -- JSON gave 3.0 for 3
end
local function ms(x) return math.floor(x * 1000 + 0.5) / 1000 end
local function str(x, n) if x == nil then return nil end return util.clip(tostring(x), n or M.LIMITS.text) end
local function pay(ev) return type(ev.payload) == "table" and ev.payload or {} end

-- Every event of the run, in pages (the journal of a long run is large).
local function all_events(db, run_id)
  local out, since = {}, 0
  repeat
    local page = db:events(run_id, { since = since, limit = 5000 })
    for _, ev in ipairs(page) do out[#out + 1] = ev since = ev.seq end
  until #page < 5000
  return out
end

local function tasks_of(db, run, events)
  local history = {}
  for _, ev in ipairs(events) do
    local p = pay(ev)
    if ev.kind == "status" and p.id then
      local h = history[p.id] or {}
      history[p.id] = h
      h[#h + 1] = { time = num(ev.time), from = str(p.from), to = str(p.to), by = str(ev.actor),
        reason = str(p.reason, 300) }
    end
  end
  local tasks = {}
  for _, r in ipairs(db:reqs(run.id)) do
    local acc = {}
    for i, a in ipairs(type(r.acceptance) == "table" and r.acceptance or {}) do acc[i] = str(a, 500) end
    local deps = {}
    for i, d in ipairs(type(r.deps) == "table" and r.deps or {}) do deps[i] = str(d, 40) end
    tasks[#tasks + 1] = { id = str(r.id, 40), parent = str(r.parent, 40), status = str(r.status, 20),
      description = str(r.description), acceptance = acc, deps = deps, role = str(r.role, 40),
      assignee = str(r.assignee or r.lease_holder, 60), history = history[r.id] or {},
      root = r.id == run.root or nil }
  end
  return tasks
end

-- The timeline: lanes (controller first, then agents by first appearance)
-- and spans {lane, start, end, kind, label, task} with times relative to t0.
-- kind: "action" (controller action), "task" (task.start..task.end),
-- "llm" (time - latency .. time), "cmd" (a run_command tool call: from the
-- agent's previous event to the tool event, an upper bound), "mark" (instant).
local MARKS = { snapshot = true, rollback = true, verify = true, ["run.end"] = true }
local function timeline(events, t0, t_end)
  local lanes, lane_of, spans = {}, {}, {}
  local function lane(name)
    name = str(name or "controller", 60)
    if not lane_of[name] then lanes[#lanes + 1] = name lane_of[name] = #lanes end
    return lane_of[name]
  end
  lane("controller")
  local open_actions, open_tasks, last_seen = {}, {}, {}
  local function add(l, s, e, kind, label, task)
    s, e = math.max(0, s - t0), math.max(0, e - t0)
    spans[#spans + 1] = { l, ms(s), ms(math.max(s, e)), kind, str(label, M.LIMITS.label) or "", str(task, 40) }
  end
  for _, ev in ipairs(events) do
    local p, t = pay(ev), num(ev.time) or t0
    local who = p.agent or ev.actor
    if ev.kind == "action.start" then
      open_actions[ev.seq] = { t = t, label = tostring(p.action) .. (p.target and (" " .. tostring(p.target)) or "") }
    elseif ev.kind == "action.end" and open_actions[p.start] then
      local a = open_actions[p.start]
      open_actions[p.start] = nil
      add(lane("controller"), a.t, t, "action", a.label .. (p.ok and "" or " (failed)"))
    elseif ev.kind == "task.start" and p.task then
      open_tasks[tostring(p.task) .. "\0" .. tostring(who)] = t
    elseif ev.kind == "task.end" and p.task then
      local key = tostring(p.task) .. "\0" .. tostring(who)
      if open_tasks[key] then
        add(lane(who), open_tasks[key], t, "task", tostring(p.task) .. " " .. tostring(p.status), p.task)
        open_tasks[key] = nil
      end
    elseif ev.kind == "llm" and num(p.latency) and not p.reused then
      add(lane(who), t - num(p.latency), t, "llm", tostring(p.model or "llm") .. (p.ok == false and " failed" or ""))
    elseif ev.kind == "tool" and p.tool == "run_command" then
      add(lane(who), last_seen[who] or t, t, "cmd", p.target or "command", p.task)
    elseif MARKS[ev.kind] and ev.actor ~= "ssot" then -- the SSOT journals its own "snapshot" too, unlabelled
      add(lane("controller"), t, t, "mark", ev.kind .. " " .. tostring(p.label or p.status or
        (p.ok == nil and "" or (p.ok and "ok" or "failed"))))
    end
    if ev.kind == "llm" or ev.kind == "tool" or ev.kind == "task.start" then last_seen[who] = t end
  end
  for key, s in pairs(open_tasks) do -- a task still running (or killed) when the report was made
    local task, who = key:match("^(.-)%z(.*)$")
    add(lane(who), s, t_end, "task", task .. " (no end)", task)
  end
  for _, a in pairs(open_actions) do add(lane("controller"), a.t, t_end, "action", a.label .. " (no end)") end
  return lanes, spans
end

local function actions_of(db, run, events, t0)
  local timing = {}
  for _, ev in ipairs(events) do
    local p = pay(ev)
    if ev.kind == "action.start" then
      timing[#timing + 1] = { action = p.action, start = num(ev.time), iteration = num(p.iteration), seq = ev.seq }
    elseif ev.kind == "action.end" then
      for i = #timing, 1, -1 do
        if timing[i].seq == p.start then timing[i].finish = num(ev.time) break end
      end
    end
  end
  local out, ti = {}, 1
  for _, a in ipairs(db:actions(run.id)) do
    local tm = timing[ti]
    local row = { seq = a.seq, time = num(a.time) and ms(num(a.time) - t0), action = str(a.action, 40),
      target = str(a.target, 60), role = str(a.role, 40), reasoning = str(a.reasoning),
      outcome = str(a.outcome, 20), detail = str(a.detail) }
    if tm and tm.action == a.action then -- record_action of a step follows its action.start
      row.start, row.duration, row.iteration = ms(tm.start - t0), tm.finish and ms(tm.finish - tm.start), tm.iteration
      ti = ti + 1
    end
    out[#out + 1] = row
  end
  return out
end

local function usage_of(db, run, spans, lanes)
  local function rows(by)
    local totals = db:llm_totals(run.id, by) -- {[name] = {calls=, input_tokens=, ...}}
    local out = {}
    for _, name in ipairs(util.sorted_keys(totals)) do
      local r = totals[name]
      out[#out + 1] = { name = str(name, 60), calls = num(r.calls),
        input_tokens = num(r.input_tokens), output_tokens = num(r.output_tokens), cost = num(r.cost),
        latency = num(r.latency) }
    end
    return out
  end
  local time = {}
  for i, name in ipairs(lanes) do time[i] = { name = name, task = 0, llm = 0, cmd = 0, action = 0, tasks = 0 } end
  for _, s in ipairs(spans) do
    local t = time[s[1]]
    if t[s[4]] then t[s[4]] = ms(t[s[4]] + s[3] - s[2]) end
    if s[4] == "task" then t.tasks = t.tasks + 1 end
  end
  return { agents = rows("agent"), models = rows("model"), time = time }
end

local function verifications_of(events, t0)
  local out, iteration = {}, nil
  for _, ev in ipairs(events) do
    local p = pay(ev)
    if ev.kind == "action.start" then iteration = num(p.iteration) end
    if ev.kind == "tests" or ev.kind == "review" or ev.kind == "verify" then
      local reasons = {}
      for i, r in ipairs(type(p.reasons) == "table" and p.reasons or {}) do reasons[i] = str(r, 1000) end
      out[#out + 1] = { kind = ev.kind, time = ms((num(ev.time) or t0) - t0), iteration = iteration,
        agent = str(p.agent, 60), ok = (ev.kind == "tests" and (p.code == 0 and not p.timed_out)) or
          (ev.kind == "review" and p.approved == true) or (ev.kind == "verify" and p.ok == true),
        argv = str(p.argv, 300), code = num(p.code), timed_out = p.timed_out == true or nil, reasons = reasons }
    end
  end
  return out
end

local function run_summary(run)
  local r = {}
  for _, k in ipairs { "id", "status", "requirement", "policy", "team", "workspace" } do r[k] = str(run[k]) end
  for _, k in ipairs { "iteration", "retry_used", "retry_max", "created_at", "updated_at" } do r[k] = num(run[k]) end
  r.spent, r.budgets, r.models = {}, {}, {}
  for k, v in pairs(type(run.spent) == "table" and run.spent or {}) do r.spent[str(k, 40)] = num(v) or str(v, 40) end
  for k, v in pairs(type(run.budgets) == "table" and run.budgets or {}) do r.budgets[str(k, 40)] = num(v) end
  for k, v in pairs(type(run.models) == "table" and run.models or {}) do r.models[str(k, 40)] = str(v, 100) end
  return r
end

-- collect(db, run_id, workspace) -> the report's data table. run_id nil:
-- the latest run; workspace nil: the run's own. Raises for an unknown run.
function M.collect(db, run_id, workspace)
  local run = run_id and db:run(run_id) or (not run_id and db:latest_run())
  if not run then
    error(run_id and string.format("report: no run '%s'", tostring(run_id)) or "report: no run in this database", 0)
  end
  workspace = workspace or run.workspace
  local events = all_events(db, run.id)
  local t0 = num(run.created_at) or (events[1] and num(events[1].time)) or 0
  local t_end = math.max(t0, num(run.updated_at) or t0, events[#events] and num(events[#events].time) or t0)
  local lanes, spans = timeline(events, t0, t_end)
  local store = workspace and (workspace .. "/.baton/objects")
  local notes = {}
  local ok, snaps = pcall(report_files.snapshots, db, run, store, t0, M.LIMITS)
  if not ok then snaps, notes[#notes + 1] = {}, "snapshots could not be read: " .. tostring(snaps) end
  return {
    version = 1, run = run_summary(run), start = t0, duration = ms(t_end - t0),
    tasks = tasks_of(db, run, events), lanes = lanes, spans = spans,
    actions = actions_of(db, run, events, t0), usage = usage_of(db, run, spans, lanes),
    verifications = verifications_of(events, t0), snapshots = snaps,
    rollbacks = report_files.rollbacks(events, t0), notes = notes,
    counts = { events = #events, spans = #spans },
  }
end

function M.render(data) return require("baton.report_page").render(data) end

M.timeline = timeline -- exposed for the tests of the span derivation
return M
