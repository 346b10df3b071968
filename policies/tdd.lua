-- tdd: test-driven development as a policy. Tasks with the role hint
-- "test" are assigned and executed first, alone, so the tests exist (and
-- fail) before any implementer starts; then the rest runs as in fsm. It
-- shows the policy API's reach: the view, ctx.fsm and a custom action.
local policy = { name = "tdd", no_progress_limit = 8, actions = {} }

local function tests_pending(view)
  for _, t in ipairs(view.tasks) do
    if t.role == "test" and t.status ~= "DONE" then return true end
  end
  return false
end

-- A custom action: assign only the ready test tasks.
function policy.actions.ASSIGN_TESTS(ctx)
  local assigned = 0
  for _, t in ipairs(ctx.view.ready) do
    if t.role == "test" then
      local out = ctx.ASSIGN { target = t.id, role = "test" }
      if out.ok then assigned = assigned + 1 end
    end
  end
  return { ok = assigned > 0, summary = assigned .. " test task(s) assigned first" }
end

function policy.decide(view, ctx)
  if view.decomposed and tests_pending(view) and #view.in_progress == 0 then
    for _, t in ipairs(view.ready) do
      if t.role == "test" then
        return { action = "ASSIGN_TESTS", reasoning = "tests first: " .. t.id }
      end
    end
  end
  return ctx.fsm(view)
end

return policy
