-- cautious.lua: a controller policy written from scratch (no fsm inside).
-- It works one task at a time and verifies and commits after every task,
-- so a failure only ever rolls back the last task's work.
local policy = { name = "cautious", no_progress_limit = 6 }

local function last_action(view)
  return view.last_action and view.last_action.action
end

function policy.decide(view, ctx)
  if not view.decomposed then
    return { action = "DECOMPOSE", reasoning = "nothing is planned yet" }
  end
  if #view.in_progress > 0 then
    return { action = "EXECUTE", reasoning = "run the claimed task" }
  end
  if last_action(view) == "EXECUTE" then
    return { action = "VERIFY", reasoning = "check this task before building on it" }
  end
  if view.verified and not view.committed then
    return { action = "COMMIT", reasoning = "keep the verified state" }
  end
  if view.budgets.retries.used >= 2 then
    return { action = "FAIL", reasoning = "two rollbacks in a row: a human should look" }
  end
  if #view.ready > 0 then
    local task = view.ready[1]
    ctx.log("next: " .. task.id .. " " .. task.description)
    return { action = "ASSIGN", target = task.id, reasoning = "one task at a time" }
  end
  if view.all_done and view.committed then
    return { action = "DONE", reasoning = "every task verified and committed" }
  end
  if #view.blocked > 0 then
    return { action = "VERIFY", reasoning = "a task is blocked: roll it back and retry" }
  end
  return { action = "FAIL", reasoning = "nothing is ready and nothing runs" }
end

return policy
