-- tests/e2e/support.lua: building blocks for the end-to-end scenarios: a
-- project folder with a team and an offline script generated from a task
-- list, a digest of a workspace, and the run's database.
local E = {}

local function q(v) return string.format("%q", v) end

-- Lua source for an offline script. tasks = {{key=, desc=, file=, content=,
-- deps={keys}, role=, fixed=<content after a failed verify>}}. Every turn
-- matches on what the agent was just told, so a resumed process (whose
-- script starts fresh) answers exactly as the first one did.
local agent_override

local function agent_of(t) return agent_override or ((t.role or "backend") .. "-1") end

function E.script(tasks, opts)
  opts = opts or {}
  agent_override = opts.agent
  local out = { "local function call(n, a) return { name = n, arguments = a } end",
    "return { turns = {" }
  local adds = {}
  for _, t in ipairs(tasks) do
    local deps = {}
    for _, d in ipairs(t.deps or {}) do deps[#deps + 1] = q(d) end
    adds[#adds + 1] = string.format("call('add_requirement', { key = %s, role = %s, description = %s, " ..
      "acceptance = { 'the file exists' }, depends_on = { %s } })", q(t.key), q(t.role or "backend"),
      q(t.desc), table.concat(deps, ", "))
  end
  out[#out + 1] = string.format("{ when = { agent = 'planner', contains = 'Requirement:' }, once = false, " ..
    "delay = %s, reply = { tool_calls = { %s } } },", opts.delay or 0, table.concat(adds, ",\n"))
  out[#out + 1] = "{ when = { agent = 'planner' }, once = false, reply = { text = 'plan complete' } },"
  for _, t in ipairs(tasks) do
    if t.fixed then
      out[#out + 1] = string.format("{ when = { agent = %s, contains = { 'failed verification', %s } }, " ..
        "once = false, delay = %s, reply = { tool_calls = { call('write_file', { path = %s, content = %s }) } } },",
        q(agent_of(t)), q(t.desc), t.delay or opts.delay or 0, q(t.file), q(t.fixed))
    end
    out[#out + 1] = string.format("{ when = { agent = %s, contains = %s }, once = false, delay = %s, " ..
      "reply = { text = 'writing', tool_calls = { call('write_file', { path = %s, content = %s }) } } },",
      q(agent_of(t)), q(t.desc), t.delay or opts.delay or 0, q(t.file), q(t.content))
    out[#out + 1] = string.format("{ when = { agent = %s, contains = %s }, once = false, " ..
      "reply = { tool_calls = { call('task_done', { summary = %s }) } } },", q(agent_of(t)),
      q(" to " .. t.file), q(t.key .. " done"))
  end
  out[#out + 1] = "{ when = { agent = 'reviewer' }, once = false, " ..
    "reply = { text = '{\"approved\": true, \"reasons\": []}' } },"
  out[#out + 1] = "} }"
  return table.concat(out, "\n")
end

-- A fresh project folder with .baton/offline.lua and a team whose test
-- command is opts.test (an argv), or none.
function E.project(T, tasks, opts)
  opts = opts or {}
  local ws = T.tmpdir()
  os.execute("mkdir -p " .. T.q(ws .. "/.baton/teams"))
  T.write(ws .. "/.baton/offline.lua", opts.script or E.script(tasks, opts))
  local test = "nil"
  if opts.test then
    local parts = {}
    for _, a in ipairs(opts.test) do parts[#parts + 1] = q(a) end
    test = "{ " .. table.concat(parts, ", ") .. " }"
  end
  T.write(ws .. "/.baton/teams/default.lua", string.format([[
return { name = "e2e", agents = {
  { name = "planner", role = "planner" }, { name = "backend-1", role = "backend" },
  { name = "test-1", role = "test" }, { name = "reviewer", role = "review" } },
  models = { default = "offline" }, test_command = %s }
]], test))
  for path, text in pairs(opts.files or {}) do
    os.execute("mkdir -p " .. T.q((ws .. "/" .. path):match("^(.*)/")))
    T.write(ws .. "/" .. path, text)
  end
  return ws
end

-- path -> sha256 of every file outside .baton/, as one sorted text.
function E.digest(T, dir)
  local p = io.popen("cd " .. T.q(dir) .. " && find . -path ./.baton -prune -o -type f -print0 | " ..
    "sort -z | xargs -0 -r sha256sum")
  local s = p:read("a")
  p:close()
  return s
end

function E.db(ws) return require("baton.ssot").open(ws .. "/.baton/baton.db") end

-- The SSOT state that must match between two runs: statuses and texts.
function E.state(ws)
  local db <close> = E.db(ws)
  local run = db:latest_run()
  local rows = {}
  for _, r in ipairs(db:reqs(run.id)) do
    if r.id ~= run.root then rows[#rows + 1] = r.status .. " " .. r.description end
  end
  table.sort(rows)
  return run.status .. "\n" .. table.concat(rows, "\n"), run
end

return E
