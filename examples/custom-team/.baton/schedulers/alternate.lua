-- alternate: a scheduler of this project: hands tasks to the writers in turn.
local scheduler = { name = "alternate", next = 0 }

function scheduler.select(task, agents)
  scheduler.next = scheduler.next % #agents + 1
  return agents[scheduler.next].name
end

return scheduler
