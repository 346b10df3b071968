-- llm: asks the model which role should take a task ({role, reason,
-- confidence}); an unknown role, or no reply, falls back to keyword.
local keyword = require "schedulers.keyword"

local scheduler = { name = "llm" }

local SCHEMA = {
  type = "object",
  properties = { role = { type = "string" }, reason = { type = "string" }, confidence = { type = "number" } },
  required = { "role", "reason" },
  additionalProperties = false,
}

function scheduler.select(task, agents, ctx)
  local names = {}
  for _, a in ipairs(agents) do names[#names + 1] = a.role end
  local resp = ctx.llm {
    system = "You assign software tasks to team roles. Answer with the best role.",
    messages = { { role = "user", content = string.format("Task: %s\nRoles: %s", task.description,
      table.concat(names, ", ")) } },
    schema = SCHEMA, agent = "scheduler", role = "scheduler",
  }
  if resp and resp.data then
    for _, a in ipairs(agents) do
      if a.role == resp.data.role or a.name == resp.data.role then return a.name end
    end
    ctx.log("scheduler: unknown role '" .. tostring(resp.data.role) .. "', using keyword")
  end
  return keyword.select(task, agents)
end

return scheduler
