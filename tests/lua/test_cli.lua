-- tests/lua/test_cli.lua: the command line, the search order and the
-- error contract of the baton executable, run as a real child process.
local T = ...
local cjson = require "cjson"

T.test("cli-1.1 --help leads with examples and exits 0", function()
  local r = T.baton { "--help" }
  T.eq(r.code, 0, "exit")
  T.match(r.out, "^baton: [^\n]+\n\nExamples:\n")
  T.match(r.out, "\n  doctor ")
end)

T.test("cli-1.2 --version", function()
  local r = T.baton { "--version" }
  T.eq(r.code, 0, "exit")
  T.match(r.out, "^baton %d+%.%d+%.%d+\n$")
end)

T.test("cli-1.3 an unknown command is one line and exit 2", function()
  local r = T.baton { "nosuch" }
  T.eq(r.code, 2, "exit")
  T.eq(r.err, "baton: unknown command 'nosuch' (try 'baton --help')\n")
  T.eq(r.out, "")
end)

T.test("cli-1.4 an unknown flag is one line and exit 2", function()
  local r = T.baton { "--bogus" }
  T.eq(r.code, 2, "exit")
  T.eq(r.err, "baton: unknown option '--bogus' (try 'baton --help')\n")
  r = T.baton { "doctor", "--frobnicate" }
  T.eq(r.code, 2, "exit")
  T.eq(r.err, "baton: unknown option '--frobnicate' for 'baton doctor' (try 'baton help doctor')\n")
end)

T.test("cli-1.5 help CMD and help for an unknown command", function()
  local r = T.baton { "help", "exec" }
  T.eq(r.code, 0, "exit")
  T.match(r.out, "^usage: baton exec FILE%.lua")
  r = T.baton { "exec", "--help" }
  T.match(r.out, "^usage: baton exec FILE%.lua")
  r = T.baton { "help", "nope" }
  T.eq(r.code, 2, "exit")
  T.eq(r.err, "baton: unknown command or topic 'nope' (commands: see 'baton --help'; topics: " ..
    "architecture, modules, policies, providers, reports, security, teams)\n")
  r = T.baton { "help", "policies" }
  T.eq(r.code, 0, "exit")
  T.match(r.out, "^# Writing controller policies")
end)

T.test("cli-1.6 no arguments prints the overview and exits 2", function()
  local r = T.baton {}
  T.eq(r.code, 2, "exit")
  T.match(r.out, "Examples:")
end)

local CUSTOM_DOCTOR = [[
return { summary = "custom", usage = "doctor", help = "",
  run = function() io.write("custom doctor from %s\n") return 0 end }
]]

local function plant(dir, rel, text)
  local path = dir .. "/" .. rel
  os.execute("mkdir -p " .. T.q(path:match("^(.*)/")))
  T.write(path, text)
  return path
end

T.test("cli-2.1 a module in BATON_PATH overrides the built-in, and which says so", function()
  local extra = T.tmpdir()
  local path = plant(extra, "baton/cmd/doctor.lua", CUSTOM_DOCTOR:format("BATON_PATH"))
  local r = T.baton({ "doctor" }, { env = { BATON_PATH = "/nonexistent::" .. extra } })
  T.eq(r.out, "custom doctor from BATON_PATH\n")
  r = T.baton({ "which", "baton.cmd.doctor" }, { env = { BATON_PATH = extra } })
  T.eq(r.code, 0, "exit")
  T.eq(r.out, path .. "\n  overrides " .. T.src .. "/lua/baton/cmd/doctor.lua\n")
end)

T.test("cli-2.2 the project's .baton/ comes before BATON_PATH", function()
  local project, extra = T.tmpdir(), T.tmpdir()
  local mine = plant(project, ".baton/baton/cmd/doctor.lua", CUSTOM_DOCTOR:format(".baton"))
  local theirs = plant(extra, "baton/cmd/doctor.lua", CUSTOM_DOCTOR:format("BATON_PATH"))
  local r = T.baton({ "doctor" }, { cwd = project, env = { BATON_PATH = extra } })
  T.eq(r.out, "custom doctor from .baton\n")
  r = T.baton({ "which", "baton.cmd.doctor" }, { cwd = project, env = { BATON_PATH = extra } })
  T.eq(r.out, mine .. "\n  overrides " .. theirs .. "\n  overrides " .. T.src ..
    "/lua/baton/cmd/doctor.lua\n")
end)

T.test("cli-2.3 which: preloaded and missing modules", function()
  local r = T.baton { "which", "baton.sys" }
  T.eq(r.out, "baton.sys: built into the baton executable\n")
  r = T.baton { "which", "no.such.module" }
  T.eq(r.code, 1, "exit")
  T.eq(r.err, "baton: module 'no.such.module' not found in ./.baton/, BATON_PATH or the built-in folders\n")
end)

T.test("cli-3.1 ./baton.lua and LUA_PATH in the working directory are not loaded", function()
  local dir = T.tmpdir()
  plant(dir, "baton.lua", "error('hijacked by ./baton.lua')")
  plant(dir, "baton/cli.lua", "error('hijacked by ./baton/cli.lua')")
  plant(dir, "evil/baton/cmd/doctor.lua", "error('hijacked by LUA_PATH')")
  plant(dir, "probe.lua", "local ok = pcall(require, 'baton') io.write(tostring(ok), '\\n')")
  local env = { LUA_PATH = "./?.lua;./evil/?.lua;;", LUA_PATH_5_4 = "./?.lua;./evil/?.lua;;",
                LUA_CPATH = "./?.so", LUA_INIT = "error('hijacked by LUA_INIT')" }
  local r = T.baton({ "exec", "probe.lua" }, { cwd = dir, env = env })
  T.eq(r.err, "")
  T.eq(r.out, "false\n")
  r = T.baton({ "doctor" }, { cwd = dir, env = env })
  T.eq(r.code, 0, "exit")
  T.nomatch(r.out .. r.err, "hijacked")
end)

T.test("cli-4.1 exec: a syntax error prints file:line and exits 1", function()
  local dir = T.tmpdir()
  T.write(dir .. "/bad.lua", "local x = 1\nlocal = 2\n")
  local r = T.baton({ "exec", "bad.lua" }, { cwd = dir })
  T.eq(r.code, 1, "exit")
  T.eq(r.err, "baton: bad.lua:2: <name> expected near '='\n")
end)

T.test("cli-4.2 exec: a runtime error is one line; --debug adds the traceback", function()
  local dir = T.tmpdir()
  T.write(dir .. "/boom.lua", "local function f() error('boom') end\nf()\n")
  local r = T.baton({ "exec", "boom.lua" }, { cwd = dir })
  T.eq(r.code, 1, "exit")
  T.eq(r.err, "baton: boom.lua:1: boom\n")
  r = T.baton({ "--debug", "exec", "boom.lua" }, { cwd = dir })
  T.eq(r.code, 1, "exit")
  T.match(r.err, "^baton: boom.lua:1: boom\nstack traceback:\n")
  r = T.baton({ "exec", "boom.lua" }, { cwd = dir, env = { BATON_DEBUG = "1" } })
  T.match(r.err, "stack traceback:")
end)

T.test("cli-4.3 exec: arguments, arg[0], modules and the exit code", function()
  local dir = T.tmpdir()
  T.write(dir .. "/s.lua", [[
local a, b = ...
io.write(arg[0], " ", a, " ", b, " ", #arg, " ", require("cjson").encode({ 1 }), "\n")
return 7
]])
  local r = T.baton({ "exec", "s.lua", "x", "--y" }, { cwd = dir })
  T.eq(r.code, 7, "exit")
  T.eq(r.out, "s.lua x --y 2 [1]\n")
  r = T.baton { "exec" }
  T.eq(r.code, 2, "exit")
  T.eq(r.err, "baton: exec needs a FILE.lua (try 'baton help exec')\n")
  r = T.baton { "exec", "/nonexistent/x.lua" }
  T.eq(r.code, 1, "exit")
  T.eq(r.err, "baton: cannot open /nonexistent/x.lua: No such file or directory\n")
end)

T.test("cli-5.1 doctor reports versions and never prints a key", function()
  local r = T.baton({ "doctor", "--json" }, { env = { OPENAI_API_KEY = "sk-test-secret-123",
    ANTHROPIC_API_KEY = false } })
  T.eq(r.code, 0, "exit")
  T.nomatch(r.out, "sk%-test%-secret")
  local d = cjson.decode(r.out)
  T.match(d.lua, "^Lua 5%.4")
  T.match(d.sqlite, "^3%.")
  T.ok(d.curl and d.tls, "curl and tls versions")
  T.eq(type(d.landlock_abi), "number", "landlock abi")
  T.eq(d.providers[1].key_set, true, "openai key set")
  T.eq(d.providers[2].key_set, false, "anthropic key not set")
  r = T.baton({ "doctor" }, { env = { OPENAI_API_KEY = "sk-test-secret-123" } })
  T.match(r.out, "OPENAI_API_KEY set")
  T.nomatch(r.out, "sk%-test%-secret")
end)

T.test("cli-6.1 the runner fails a test that leaks a child process", function()
  local dir = T.tmpdir()
  T.write(dir .. "/leaky.lua", [[
local T = ...
T.test("leaks", function() io.popen("sleep 30") end)
]])
  local r = T.baton { "exec", T.src .. "/tests/lua/runner.lua", dir .. "/leaky.lua" }
  T.eq(r.code, 1, "exit")
  T.match(r.out, "not ok 1 %- leaks\n#   leaked child process%(es%): %d+")
end)
