-- llm: the LLM controller policy. It shows the model the view and asks for
-- a structured decision {action, target, role, reasoning}. After repeated
-- failures (no reply, invalid reply) it falls back to the fsm decision and
-- says so in the journal and the progress output: never a silent decision.
local policy = { name = "llm", no_progress_limit = 8 }

local SCHEMA = {
  type = "object",
  properties = {
    action = { type = "string", enum = { "DECOMPOSE", "ASSIGN", "EXECUTE", "VERIFY", "COMMIT", "DONE", "FAIL" } },
    target = { type = "string" }, role = { type = "string" }, reasoning = { type = "string" },
  },
  required = { "action", "reasoning" },
  additionalProperties = false,
}

local function describe(view)
  local lines = {
    "Requirement: " .. view.run.requirement,
    string.format("Iteration %d of %s. Tasks: %d pending, %d in progress, %d done, %d blocked.",
      view.run.iteration, tostring(view.run.max_iterations or "?"), view.counts.PENDING,
      view.counts.IN_PROGRESS, view.counts.DONE, view.counts.BLOCKED),
    string.format("Ready: %d. Verified since last execute: %s. Committed: %s.", #view.ready,
      tostring(view.verified), tostring(view.committed)),
    "Recent actions:",
  }
  for _, a in ipairs(view.recent) do
    lines[#lines + 1] = string.format("- %s %s: %s", a.action, a.outcome or "", a.detail or "")
  end
  for _, f in ipairs(view.failures) do lines[#lines + 1] = "Last verification failure: " .. f end
  return table.concat(lines, "\n")
end

local failures = 0

function policy.decide(view, ctx)
  local resp, err = ctx.llm {
    system = "You are the controller of a software agent team. Choose the next action: DECOMPOSE " ..
      "(plan), ASSIGN (give ready tasks to agents), EXECUTE (run claimed tasks), VERIFY, COMMIT, " ..
      "DONE (only when every task is done, verified and committed) or FAIL.",
    messages = { { role = "user", content = describe(view) } },
    schema = SCHEMA,
  }
  if resp and resp.data then
    failures = 0
    return resp.data
  end
  failures = failures + 1
  local d = ctx.fsm(view)
  ctx.log(string.format("LLM controller failed (%s, %d in a row); using the fsm decision %s",
    tostring(err), failures, d.action))
  -- the fallback is journaled and shown, never silent; a DONE it reaches is
  -- still checked by the engine (every task must be DONE)
  d.reasoning = "fsm fallback: " .. (d.reasoning or "")
  return d
end

return policy
