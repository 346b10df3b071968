-- tests/e2e/e2e_examples.lua: every example in examples/ runs, offline, so
-- none of them rots.
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")
local cjson = require "cjson"

local function copy_example(name)
  local ws = T.tmpdir()
  assert(os.execute("cp -R " .. T.q(T.src .. "/examples/" .. name) .. "/. " .. T.q(ws)))
  return ws
end

local function summary(out)
  local last
  for line in out:gmatch("[^\n]+") do last = line end
  return cjson.decode(last)
end

T.test("ex-1.1 the demo project: parallel work, a rollback, then verified and committed", function()
  local ws = copy_example("wordcount")
  local r = T.baton({ "run", "Add a word-count tool", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local s = summary(r.out)
  T.eq(s.status, "DONE")
  T.eq(s.tasks, 3, "tasks")
  T.eq(s.rollbacks, 1, "rollbacks")
  local tests, verdicts = {}, {}
  for line in r.out:gmatch("[^\n]+") do
    local l = cjson.decode(line)
    if l.type == "tests" then tests[#tests + 1] = string.format("%d", l.data.code) end
    if l.type == "review" then verdicts[#verdicts + 1] = tostring(l.data.approved) end
  end
  T.eq(table.concat(tests, " "), "1 0", "test exit codes")
  T.eq(table.concat(verdicts, " "), "false true", "verdicts")
  local p = io.popen("cd " .. T.q(ws) .. " && printf 'a b\\nc\\n' | sh src/wc.sh")
  T.eq(p:read("a"), "2 3 6\n")
  p:close()
  r = T.baton({ "report", "-o", ws .. "/report.html" }, { cwd = ws })
  T.eq(r.code, 0, "report exit (stderr: " .. r.err .. ")")
  T.match(T.read(ws .. "/report.html"), "^<!DOCTYPE html>")
end)

T.test("ex-1.2 custom-policy: cautious.lua verifies and commits after every task", function()
  local ws = E.project(T, {
    { key = "a", desc = "Write a.txt", file = "a.txt", content = "a\n" },
    { key = "b", desc = "Write b.txt", file = "b.txt", content = "b\n", deps = { "a" } },
  })
  local r = T.baton({ "run", "two files", "--policy", T.src .. "/examples/custom-policy/cautious.lua",
    "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local order = {}
  for line in r.out:gmatch("[^\n]+") do
    local l = cjson.decode(line)
    if l.type == "action" then order[#order + 1] = l.data.action end
  end
  T.eq(table.concat(order, " "), "DECOMPOSE ASSIGN EXECUTE VERIFY COMMIT ASSIGN EXECUTE VERIFY COMMIT DONE")
  local lines = select(2, io.open(T.src .. "/examples/custom-policy/cautious.lua"):read("a"):gsub("\n", ""))
  T.ok(lines < 60, "under 60 lines, got " .. lines)
end)

T.test("ex-1.3 custom-team: a local team, role and scheduler, a model per role", function()
  local ws = copy_example("custom-team")
  local r = T.baton({ "which", "teams.docs" }, { cwd = ws })
  T.eq(r.out, ws .. "/.baton/teams/docs.lua\n")
  r = T.baton({ "run", "Write the install and usage pages", "--team", "docs", "--scheduler", "alternate",
    "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.eq(summary(r.out).status, "DONE")
  T.eq(T.read(ws .. "/docs/install.md"), "# Install\n\n    make && make install\n")
  T.eq(T.read(ws .. "/docs/usage.md"), "# Usage\n\n    tool --help\n")
  local db <close> = E.db(ws)
  local models = {}
  for model in pairs(db:llm_totals(db:latest_run().id, "model")) do models[#models + 1] = model end
  table.sort(models)
  T.eq(table.concat(models, " "), "offline:big-planner offline:careful-reviewer offline:small-writer")
end)

T.test("ex-1.4 real-provider: openai over real HTTP to a local server, recorded, replayed offline", function()
  local dir = T.tmpdir()
  local p = io.popen("exec python3 " .. T.q(T.src .. "/bench/mock_openai.py") .. " 2 0 2>&1 & echo $!")
  local pid = tonumber(p:read("l"))
  local port = tonumber(p:read("l"))
  T.defer(function()
    require("baton.sys").kill(pid, 9)
    for _ = 1, 200 do if require("baton.sys").reap(pid) then break end os.execute("sleep 0.01") end
    p:close()
  end)
  T.ok(port, "the mock server's port")
  local ws = T.tmpdir()
  os.execute("mkdir -p " .. T.q(ws .. "/.baton/teams"))
  T.write(ws .. "/.baton/teams/default.lua", [[
return { name = "mock", agents = { { name = "planner", role = "planner" },
  { name = "worker", role = "backend" }, { name = "reviewer", role = "review" } } }
]])
  local cassette = dir .. "/run.jsonl"
  local env = { OPENAI_API_KEY = "sk-test-secret", OPENAI_BASE_URL = "http://127.0.0.1:" .. port .. "/v1" }
  local r = T.baton({ "run", "write two files", "--model", "openai:gpt-4o-mini", "--record", cassette,
    "--json" }, { cwd = ws, env = env })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.eq(summary(r.out).requests, 7, "1+1 planner, 2 x 2 workers, 1 review")
  T.eq(T.read(ws .. "/out/file1.txt"), "data\n")
  T.nomatch(T.read(cassette), "sk%-test%-secret")
  require("baton.sys").kill(pid, 9)
  local ws2 = T.tmpdir()
  os.execute("cp -R " .. T.q(ws .. "/.baton/teams") .. " " .. T.q(ws2 .. "/.baton-teams"))
  os.execute("mkdir -p " .. T.q(ws2 .. "/.baton") .. " && mv " .. T.q(ws2 .. "/.baton-teams") .. " " ..
    T.q(ws2 .. "/.baton/teams"))
  r = T.baton({ "run", "write two files", "--replay", cassette, "-q" }, { cwd = ws2, env = { OPENAI_API_KEY = false } })
  T.eq(r.code, 0, "replay exit (stderr: " .. r.err .. ")")
  T.eq(E.digest(T, ws2), E.digest(T, ws), "the same files")
end)
