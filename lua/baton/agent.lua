-- baton.agent: one agent's tool-calling conversation on one task. It asks
-- the model, runs the tools it calls through the harness and the SSOT, feeds
-- the results back, and stops when the agent reports done or blocked, answers
-- without a tool call, or runs out of turns. The transcript is saved in the
-- SSOT after every turn.
local cjson = require "cjson"
local errors = require "baton.errors"
local json = require "baton.json"
local sys = require "baton.sys"
local tools = require "baton.tools"
local util = require "baton.util"

local M = {}

local EFFECTS = { write_file = true, delete_file = true, run_command = true, add_requirement = true,
  register_contract = true }

-- The "Contracts in force" lines of the prompt. EXECUTE registers no
-- contract (only the planner has the tool), so its tasks share one listing
-- (e.round.contract_lines, a round being one EXECUTE) instead of one query
-- and one encoding per task; outside a round (DECOMPOSE) it is read fresh.
local function contract_lines(e, shared)
  local cached = shared and e.round.contract_lines
  if cached then return cached end
  local lines = {}
  for _, c in ipairs(e.db:contracts(e.run.id)) do
    lines[#lines + 1] = string.format("- %s (%s): %s", c.name, c.kind, cjson.encode(c.spec))
  end
  if shared then e.round.contract_lines = lines end
  return lines
end

-- The text that introduces the task: description, criteria, contracts and
-- what failed last time (so a retry learns from the rollback). shared: the
-- caller runs inside an EXECUTE round (see contract_lines).
function M.describe(e, task, shared)
  local lines = { "Task " .. task.id .. ": " .. task.description }
  if task.acceptance and #task.acceptance > 0 then
    lines[#lines + 1] = "Acceptance criteria:"
    for _, c in ipairs(task.acceptance) do lines[#lines + 1] = "- " .. c end
  end
  local contracts = contract_lines(e, shared)
  if #contracts > 0 then
    lines[#lines + 1] = "Contracts in force:"
    table.move(contracts, 1, #contracts, #lines + 1, lines)
  end
  local failures = e:failures()
  if #failures > 0 then
    lines[#lines + 1] = string.format("The previous attempt (%d) failed verification and was rolled back:",
      e.run.retry_used or 0)
    for _, f in ipairs(failures) do lines[#lines + 1] = "- " .. f end
  end
  return table.concat(lines, "\n")
end

-- The transcript is the canonical JSON array of the messages. A message
-- does not change once its turn is saved, so each is encoded once (c.encoded
-- holds the fragments so far) rather than the whole array every turn.
local function save_transcript(e, c)
  if not c.task then return end
  local enc, messages = c.encoded or {}, c.messages
  c.encoded = enc
  for i = #enc + 1, #messages do enc[i] = json.encode(messages[i]) end
  e.db:set_transcript(c.task.id, "[" .. table.concat(enc, ",") .. "]")
end

-- One turn's tool calls, their journal rows and results; the flush and the
-- transcript after them.
local function run_tools(e, c, msg, turn)
  local t, allowed = c.tool_ctx, c.role.tools
  for i, call in ipairs(msg.tool_calls) do
    call.id = call.id or ("call_" .. turn .. "_" .. i)
    local result = tools.call(t, call.name, call.arguments, allowed)
    if EFFECTS[call.name] and not result:find("^denied") and not result:find("^error") then
      e.effects = (e.effects or 0) + 1 -- the no-progress check counts changes to the world
    end
    local a = call.arguments
    e:emit("tool", { agent = c.agent, task = c.task and c.task.id, tool = call.name,
      target = type(a) == "table" and (a.path or (type(a.argv) == "table" and table.concat(a.argv, " "))
        or a.key) or nil,
      result = util.oneline(result, 100) })
    c.messages[#c.messages + 1] = { role = "tool", tool_call_id = call.id, name = call.name,
      content = result }
  end
  if t.flush then t.flush() end
  -- a finished task's caller saves it next, without a yield in between
  if not (t.outcome and c.defer_save) then save_transcript(e, c) end
end

-- The system prompt of a role in this run, made once per role (the tasks
-- of a role send the same text).
local function system_of(e, role)
  local cache = e.systems
  if not cache then cache = setmetatable({}, { __mode = "k" }) e.systems = cache end
  local s = cache[role]
  if not (s and s.requirement == e.run.requirement) then
    s = { requirement = e.run.requirement, text = role.prompt .. "\n\nWorkspace: the project folder. " ..
      "Requirement of the whole run: " .. e.run.requirement }
    cache[role] = s
  end
  return s.text
end

-- converse{agent=, role=, task=, messages=, tool_ctx=} -> outcome, err
-- outcome = {status="DONE"|"BLOCKED", reason=}; tool_ctx gets .outcome set by
-- the task_done / task_blocked tools; tool_ctx.flush (optional) runs after
-- each turn's tool calls, in the turn's transaction. c.defer_save: the
-- caller saves the transcript after a final answer (with its own writes).
function M.converse(e, c)
  local role = c.role
  local t = c.tool_ctx
  local req = {
    model = e:model_for(role.name), system = system_of(e, role),
    messages = c.messages, tools = tools.for_role(role.tools), agent = c.agent, role = role.name,
  }
  for turn = 1, role.max_turns or 12 do
    if sys.interrupted() then errors.raise(errors.INTERRUPTED, "interrupted") end
    local resp, err, code = e.llm:chat(req)
    if not resp then
      return { status = "BLOCKED", reason = string.format("LLM failed: %s (%s)", err, code) }
    end
    local msg = { role = "assistant", content = resp.text or "", tool_calls = resp.tool_calls }
    if not resp.tool_calls or #resp.tool_calls == 0 then msg.tool_calls = nil end
    c.messages[#c.messages + 1] = msg
    if not msg.tool_calls then
      if not c.defer_save then save_transcript(e, c) end
      return t.outcome or { status = "DONE", reason = util.oneline(resp.text, 200) }
    end
    -- A turn's journal rows (tool events, harness audits, plan, transcript)
    -- go in one transaction unless a tool may yield: a transaction must not
    -- span a yield, or another task's writes would join it.
    local yields = false
    for _, call in ipairs(msg.tool_calls) do yields = yields or tools.yields(call.name) end
    if yields then run_tools(e, c, msg, turn) else e:tx(run_tools, e, c, msg, turn) end
    if t.outcome then return t.outcome end
  end
  return { status = "BLOCKED", reason = string.format("ran out of turns (%d)", role.max_turns or 12) }
end

-- Runs a claimed task to DONE or BLOCKED and completes it in the SSOT under
-- the claim's lease (a holder whose lease was taken over cannot complete).
function M.run_task(e, task, agent_name, epoch)
  local role = e:role_of(agent_name)
  local t = { h = e:harness_for(agent_name, role), task = task, round = e.round, agent = agent_name,
    describe_task = function() return M.describe(e, task, true) end }
  local c = { agent = agent_name, role = role, task = task, tool_ctx = t, defer_save = true }
  e:tx(function() -- the journal row and the reads of the prompt under one lock
    e:emit("task.start", { task = task.id, agent = agent_name })
    c.messages = { { role = "user", content = M.describe(e, task, true) } }
  end)
  local outcome = M.converse(e, c)
  local ok, err, code
  e:tx(function() -- the last transcript, the completion and its journal row together
    save_transcript(e, c)
    ok, err, code = e.db:complete(task.id, agent_name, epoch, outcome.status, outcome.reason)
    e:emit("task.end", { task = task.id, agent = agent_name, status = outcome.status,
      reason = outcome.reason, lease = ok and "held" or code })
  end)
  if not ok then return { status = "LOST", reason = err } end
  return outcome
end

return M
