-- keyword: picks the agent whose role matches the task's role hint, else
-- the role whose keywords appear most in the task's description.
local roles = {
  backend = { "backend", "api", "server", "library", "cli", "function", "parse", "count", "c ", "lua", "script" },
  frontend = { "frontend", "ui", "html", "css", "page", "output", "format", "display", "help", "json" },
  test = { "test", "tests", "verify", "check", "spec" },
}

local scheduler = { name = "keyword" }

function scheduler.select(task, agents)
  for _, a in ipairs(agents) do
    if task.role and (a.role == task.role or a.name == task.role) then return a.name end
  end
  local text, best, best_score = " " .. string.lower(task.description or "") .. " ", nil, 0
  for _, a in ipairs(agents) do
    local score = 0
    for _, w in ipairs(roles[a.role] or {}) do
      if text:find(w, 1, true) then score = score + 1 end
    end
    if score > best_score then best, best_score = a.name, score end
  end
  return best or (agents[1] and agents[1].name)
end

return scheduler
