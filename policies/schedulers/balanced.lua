-- balanced: the least-loaded capable agent (role hint respected when some
-- agent has that role); ties go to the first in team order.
local scheduler = { name = "balanced", load = {} }

function scheduler.select(task, agents)
  local pool = {}
  for _, a in ipairs(agents) do
    if not task.role or a.role == task.role then pool[#pool + 1] = a end
  end
  if #pool == 0 then pool = agents end
  local best
  for _, a in ipairs(pool) do
    if not best or (scheduler.load[a.name] or 0) < (scheduler.load[best.name] or 0) then best = a end
  end
  if not best then return nil end
  scheduler.load[best.name] = (scheduler.load[best.name] or 0) + 1
  return best.name
end

return scheduler
