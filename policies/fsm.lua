-- fsm: the deterministic controller policy.
-- DECOMPOSE -> ASSIGN -> EXECUTE -> VERIFY -> COMMIT -> DONE, with the
-- engine rolling back and retrying when VERIFY fails. It is also the
-- fallback of the llm policy, and a template for policies of your own.
local policy = { name = "fsm", no_progress_limit = 8 }

function policy.decide(view)
  if not view.decomposed then
    if view.last_action and view.last_action.action == "DECOMPOSE" then
      return { action = "FAIL", reasoning = "the planner added no tasks" }
    end
    return { action = "DECOMPOSE", reasoning = "no plan yet" }
  end
  if #view.in_progress > 0 then
    return { action = "EXECUTE", reasoning = #view.in_progress .. " claimed task(s) to run" }
  end
  if #view.ready > 0 then
    return { action = "ASSIGN", reasoning = #view.ready .. " task(s) ready" }
  end
  if view.all_done or #view.blocked > 0 then
    if view.committed then return { action = "DONE", reasoning = "verified and committed" } end
    if view.verified then return { action = "COMMIT", reasoning = "verification passed" } end
    return { action = "VERIFY", reasoning = view.all_done and "every task is done"
      or (#view.blocked .. " task(s) blocked: verify and roll back") }
  end
  return { action = "FAIL", reasoning = "pending tasks wait on dependencies that can never finish" }
end

return policy
