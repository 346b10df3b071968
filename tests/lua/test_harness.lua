-- test_harness.lua: baton.harness through the real sandbox: path escapes,
-- policies, audit, scrubbed environments, Landlock, namespaces, limits,
-- timeouts, output caps, the shared loop, and snapshots with rollback.
-- An assertion that needs a kernel mechanism harness.probe() reports
-- missing is skipped with a printed reason.
local T = ...
local harness = require "baton.harness"
local loop = require "baton.loop"
local probe = harness.probe()

local function skip(why) io.stdout:write("# skip: ", why, "\n") end

-- A workspace with src/, tests/, .git/ and links leading outside.
local function workspace()
  local ws = T.tmpdir()
  assert(os.execute("mkdir -p " .. T.q(ws .. "/src") .. " " .. T.q(ws .. "/tests") .. " " ..
    T.q(ws .. "/.git")))
  T.write(ws .. "/src/a.txt", "alpha\n")
  T.write(ws .. "/README", "readme\n")
  T.write(ws .. "/.git/config", "[core]\n")
  return ws
end

local function new(ws, policy, log)
  local h = harness.new{ workspace = ws, agent = "coder", policy = policy,
    on_audit = log and function(ev) log[#log + 1] = ev end }
  T.defer(function() h:close() end)
  return h
end

T.test("1.1 new checks its options", function()
  T.raises(function() harness.new{} end, "option 'workspace' is required")
  T.raises(function() harness.new{ workspace = "/tmp", policy = { writ = {} } } end,
    "unknown policy field 'writ'")
  T.raises(function() harness.new{ workspace = "/tmp", policy = { read = "**" } } end,
    "policy field 'read' must be a list of strings")
  T.raises(function() harness.new{ workspace = "/tmp", policy = { output_cap = -1 } } end,
    "policy field 'output_cap' must be between 0 and 2^48")
  T.raises(function() harness.new{ workspace = "/tmp", policy = { timeout = 0 } } end,
    "policy field 'timeout' must be positive")
  T.raises(function() harness.new{ workspace = "/tmp", policy = { commands = { 5 } } } end,
    "policy field 'commands' must hold names or {name, args=, escapes=}")
  T.raises(function() harness.new{ workspace = "/tmp", on_audit = 1 } end,
    "option 'on_audit' must be a function")
  local h, err, code = harness.new{ workspace = "/nonexistent/ws" }
  T.eq(h, nil)
  T.eq(err, "workspace /nonexistent/ws: No such file or directory")
  T.eq(code, "ENOENT")
  h = harness.new{ workspace = "/tmp" }
  h:close()
  h:close()
  T.raises(function() h:read("x") end, "attempt to use a closed harness")
end)

T.test("1.2 files: read, atomic write, mkdir, list, stat, delete", function()
  local ws = workspace()
  local h = new(ws, { write = { "src/**" } })
  T.eq(h:read("src/a.txt"), "alpha\n")
  T.eq(h:read("./src/../src/a.txt"), "alpha\n")
  assert(os.execute("chmod 750 " .. T.q(ws .. "/src/a.txt")))
  T.eq(h:write("src/a.txt", "beta"), true)
  T.eq(T.read(ws .. "/src/a.txt"), "beta")
  T.eq(h:stat("src/a.txt").mode, tonumber("750", 8), "mode kept by the atomic write")
  T.eq(h:write("src/deep/er/b.txt", "b"), true)
  T.eq(h:mkdir("src/empty"), true)
  local st = h:stat("src/deep/er/b.txt")
  T.eq(st.type, "file")
  T.eq(st.size, 1)
  T.eq(h:stat("src/empty").type, "dir")
  T.eq(table.concat(h:list("src/**"), " "), "src src/a.txt src/deep src/deep/er src/deep/er/b.txt src/empty")
  T.eq(table.concat(h:list("**/*.txt"), " "), "src/a.txt src/deep/er/b.txt")
  T.eq(h:delete("src/deep/er/b.txt"), true)
  local ok, err, code = h:delete("src/deep")
  T.eq(ok, nil)
  T.eq(err, "ENOTEMPTY: directory src/deep is not empty")
  T.eq(code, "ENOTEMPTY")
  ok, err, code = h:read("src/missing")
  T.eq(err, "ENOENT: no such file: src/missing")
  T.eq(code, "ENOENT")
  T.nomatch(table.concat(h:list(), " "), "%.git", "the listing skips .git")
end)

T.test("1.2b rapid writes in one folder: each temporary name is new, none is left behind", function()
  local ws = workspace()
  local h = new(ws, { write = { "out/**" } })
  for round = 1, 3 do
    for i = 1, 100 do T.eq(h:write("out/f" .. i, round .. ":" .. i), true) end
  end
  local files = h:list("out/**")
  T.eq(#files, 101, "out and its 100 files, no .baton-tmp-*")
  T.eq(h:read("out/f7"), "3:7")
  local p = io.popen("ls -A " .. T.q(ws .. "/out") .. " | grep -c baton-tmp")
  T.eq(p:read("a"), "0\n")
  p:close()
end)

T.test("1.3 escapes: .., absolute paths and links leading outside are denied", function()
  local ws = workspace()
  assert(os.execute("ln -s /etc " .. T.q(ws .. "/etc_link") .. " && ln -s /etc/hostname " ..
    T.q(ws .. "/src/host") .. " && ln -s ../.git " .. T.q(ws .. "/src/gitlink")))
  local log = {}
  local h = new(ws, { write = { "**" } }, log)
  local cases = {
    { "read", "../../etc/passwd", "denied: ../../etc/passwd is outside the workspace" },
    { "read", "/etc/passwd", "denied: /etc/passwd is outside the workspace" },
    { "read", "src/../../x", "denied: src/../../x is outside the workspace" },
    { "read", "etc_link/passwd", "denied: etc_link/passwd leads outside the workspace" },
    { "read", "src/host", "denied: src/host leads outside the workspace" },
    { "write", "etc_link/evil", "denied: etc_link/evil passes through a symbolic link" },
    { "write", "src/gitlink/config", "denied: src/gitlink/config passes through a symbolic link" },
    { "write", ".git/config", "denied: .git/config is protected (.baton/ and .git/ are never writable by an agent)" },
    { "delete", ".baton", "denied: .baton is protected (.baton/ and .git/ are never writable by an agent)" },
    { "stat", "/", "denied: / is outside the workspace" },
  }
  for _, c in ipairs(cases) do
    local ok, err, code = h[c[1]](h, c[2], "x")
    T.eq(ok, nil, c[2])
    T.eq(err, c[3])
    T.eq(code, "denied")
  end
  T.eq(T.read(ws .. "/.git/config"), "[core]\n")
  T.eq(#log, #cases)
  T.eq(log[1].agent, "coder")
  T.eq(log[1].action, "read")
  T.eq(log[1].target, "../../etc/passwd")
  T.eq(log[1].decision, "deny")
  T.eq(log[1].summary, "denied: ../../etc/passwd is outside the workspace")
end)

T.test("1.4 policy: read/write globs, deny wins, links inside re-checked, caps", function()
  local ws = workspace()
  T.write(ws .. "/secret.env", "KEY=1")
  assert(os.execute("ln -s ../secret.env " .. T.q(ws .. "/src/alias")))
  local log = {}
  local h = new(ws, { read = { "**" }, write = { "tests/**" }, deny = { "secret.env" },
    max_read = 10, max_write = 4 }, log)
  local _, err = h:write("src/a.txt", "x")
  T.eq(err, "denied: src/a.txt is not writable under this agent's policy")
  _, err = h:read("secret.env")
  T.eq(err, "denied: secret.env matches a deny rule of this agent's policy")
  _, err = h:read("src/alias")
  T.eq(err, "denied: secret.env matches a deny rule of this agent's policy")
  T.eq(h:write("tests/t.lua", "1234"), true)
  local code
  _, err, code = h:write("tests/t.lua", "12345")
  T.eq(err, "too_large: 5 bytes for tests/t.lua, over the write cap of 4 bytes")
  T.eq(code, "too_large")
  T.write(ws .. "/src/big", string.rep("x", 11))
  _, err, code = h:read("src/big")
  T.eq(err, "too_large: src/big is 11 bytes, over the read cap of 10 bytes")
  T.eq(log[#log].decision, "deny")
  T.eq(log[4].action, "write")
  T.eq(log[4].decision, "allow")
  T.eq(log[4].summary, "4 bytes")
end)

T.test("2.1 commands: policy, scrubbed environment, private HOME, stdin", function()
  local ws = workspace()
  local log = {}
  local h = new(ws, { commands = { "env", "cat", { "git", args = { "status*" } } },
    env_pass = { "BATON_T_PASS", "MY_API_KEY" } }, log)
  local res, err, code = h:run{ "curl", "http://example.com" }
  T.eq(res, nil)
  T.eq(err, "denied: program curl is not allowed by this agent's policy")
  T.eq(code, "denied")
  _, err = h:run{ "sh", "-c", "true" }
  T.eq(err, "denied: sh is a shell and this agent's policy does not allow a shell")
  _, err = h:run{ "git", "-c", "core.pager=sh", "status" }
  T.eq(err, "denied: git -c is an escape hatch the policy does not allow")
  _, err = h:run{ "env" }
  T.eq(err, "denied: env runs other programs (an escape hatch) and the policy does not allow it")
  T.raises(function() h:run{} end, "bad argument #1 to 'run' (argv must hold at least the program name)")
  T.raises(function() h:run({ "cat" }, { timeout = 0 }) end, "bad argument #2 to 'run' (timeout must be positive)")
  res = h:run{ "cat" }
  T.eq(res.code, 0, "stdin is /dev/null")
  T.eq(res.stdout, "")
  T.eq(log[#log].action, "run")
  T.eq(log[#log].target, "cat")
  T.match(log[#log].summary, "^exit 0 after")
end)

T.test("2.2 a child printing $OPENAI_API_KEY sees nothing; passed variables arrive", function()
  local ws = workspace()
  local script = [[
    local h = require("baton.harness").new{ workspace = ..., policy = { shell = true,
      env_pass = { "BATON_T_PASS", "MY_API_KEY", "OPENAI_API_KEY" } } }
    local r = h:run{ "sh", "-c", 'echo "[$OPENAI_API_KEY][$MY_API_KEY][$BATON_T_PASS][$LANG][$PATH]"; env | sort' }
    io.write(r.stdout)
    h:close()
  ]]
  T.write(ws .. "/../env.lua", script)
  local r = T.baton({ "exec", ws .. "/../env.lua", ws },
    { env = { OPENAI_API_KEY = "sk-live", MY_API_KEY = "k", BATON_T_PASS = "yes", SECRET_X = "s" } })
  T.eq(r.code, 0, r.err)
  T.match(r.out, "^%[%]%[%]%[yes%]%[C%.UTF%-8%]%[/usr/local/bin:/usr/bin:/bin%]\n")
  T.nomatch(r.out, "sk%-live")
  T.nomatch(r.out, "SECRET_X")
  T.match(r.out, "HOME=/tmp/baton%-run%-")
end)

T.test("2.2b the child holds fds 0-2 only, no capabilities, no_new_privs; the parent's environ is out of reach", function()
  local ws = workspace()
  local keep = assert(io.open(ws .. "/README")) -- an fd the child must not inherit
  T.defer(function() keep:close() end)
  local h = new(ws, { shell = true })
  local pid = require("baton.sys").pid()
  local r = h:run{ "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; grep -E '^(CapEff|CapBnd|NoNewPrivs)' " ..
    "/proc/self/status | tr -s '\\t\\n' '  '; cat /proc/" .. pid .. "/environ 2>/dev/null | tr '\\0' '\\n' | " ..
    "grep -c KEY" }
  T.match(r.stdout, "^0 1 2 3 ") -- 3 is ls's own directory
  T.match(r.stdout, "CapEff: 0000000000000000 CapBnd: 0000000000000000 NoNewPrivs: 1 ")
  T.match(r.stdout, "0\n$")
  if probe.pidns and probe.mntns then
    r = h:run{ "sh", "-c", "ls /proc | grep -c '^[0-9]'" }
    T.ok(tonumber(r.stdout) < 10, "only the namespace's processes are visible: " .. r.stdout)
    r = h:run{ "sh", "-c", "cat /proc/1/environ" } -- the init is a copy of baton: out of reach
    T.ok(r.code ~= 0, "the init's environ is unreadable")
    T.match(r.stderr, "Permission denied")
  end
end)

T.test("2.3 root mode: write={'**'} may create top-level entries; .git and .baton stay read-only", function()
  if probe.landlock_abi == 0 or not probe.mntns then
    return skip("root mode needs Landlock and a mount namespace")
  end
  local ws = workspace()
  T.write(ws .. "/.git/HEAD", "ref: refs/heads/main\n")
  local h = new(ws, { shell = true, write = { "**" } })
  local r = h:run{ "sh", "-c", "echo top > newtop && mkdir newdir && rm README && echo ok" }
  T.eq(r.stdout, "ok\n", r.stderr)
  T.eq(T.read(ws .. "/newtop"), "top\n")
  local attacks = { "echo x >> .git/config", "echo x > .git/hooks", "mv .git .git2", "rm -rf .git",
    "rmdir .baton", "touch .baton/evil.lua", "ln .git/config cfg", "mv .baton b2" }
  for _, a in ipairs(attacks) do
    r = h:run{ "sh", "-c", a }
    T.ok(r.code ~= 0, a .. " must fail")
  end
  T.eq(T.read(ws .. "/.git/config"), "[core]\n")
  T.eq(T.read(ws .. "/.git/HEAD"), "ref: refs/heads/main\n")
  T.eq(io.open(ws .. "/.git/hooks"), nil)
  T.eq(io.open(ws .. "/.baton/evil.lua"), nil)
  T.eq(io.open(ws .. "/cfg"), nil)
  local tests_only = new(ws, { shell = true, write = { "tests/**" } }) -- per-entry mode
  r = tests_only:run{ "sh", "-c", "touch newfile" }
  T.ok(r.code ~= 0, "a tests/ role cannot create top-level files")
  r = tests_only:run{ "sh", "-c", "touch tests/t && touch src/x" }
  T.ok(r.code ~= 0, "nor write src/")
  T.ok(io.open(ws .. "/tests/t") ~= nil, "but may write tests/")
end)

T.test("2.4 Landlock: sh -c 'touch /tmp/escape' is blocked; .git and read-only roles too", function()
  if probe.landlock_abi == 0 then return skip("Landlock is not available on this kernel") end
  local ws = workspace()
  local target = "/tmp/baton-escape-" .. require("baton.sys").pid()
  os.remove(target)
  local h = new(ws, { shell = true, write = { "src/**" } })
  local r = h:run{ "sh", "-c", "touch " .. target }
  T.ok(r.code ~= 0, "touch outside must fail")
  T.match(r.stderr, "Permission denied")
  T.eq(io.open(target), nil, "the file was not created")
  r = h:run{ "sh", "-c", "ln -s /tmp src/out && echo x > src/out/" .. target:match("[^/]+$") }
  T.ok(r.code ~= 0, "a link made by the command does not lead out either")
  T.eq(io.open(target), nil, "the file was not created through the link")
  r = h:run{ "sh", "-c", "echo x >> .git/config" }
  T.ok(r.code ~= 0, ".git is not writable")
  r = h:run{ "sh", "-c", "echo x > README" }
  T.ok(r.code ~= 0, "README is outside the policy's write roots")
  r = h:run{ "sh", "-c", "echo made > src/new && mkdir -p src/d/e && echo $HOME > $HOME/f && cat $HOME/f" }
  T.eq(r.code, 0, r.stderr)
  T.eq(T.read(ws .. "/src/new"), "made\n")
  T.eq(T.read(ws .. "/.git/config"), "[core]\n")
  local reviewer = new(ws, { shell = true }) -- writes nothing
  r = reviewer:run{ "sh", "-c", "echo x > src/new" }
  T.ok(r.code ~= 0, "the read-only role cannot write")
  T.eq(T.read(ws .. "/src/new"), "made\n")
end)

-- A sleep length unique to this test process ("1000.25" -> "1000.25<pid>"):
-- running() looks at every process on the host, and another copy of this
-- suite running at the same time (make test beside make asan) must not count.
local RUN_ID = tostring(require("baton.sys").pid())
local function secs(s) return s .. RUN_ID end

-- Processes on this host whose command line is exactly argv.
local function running(argv)
  local want, n = table.concat(argv, "\0") .. "\0", 0
  local p = io.popen("ls /proc")
  for pid in p:lines() do
    if pid:match("^%d+$") then
      local f = io.open("/proc/" .. pid .. "/cmdline", "rb")
      if f then
        if f:read("a") == want then n = n + 1 end
        f:close()
      end
    end
  end
  p:close()
  return n
end

T.test("3.1 sleep 1000 with a 1 s timeout is killed with its grandchildren", function()
  local ws = workspace()
  local h = new(ws, { shell = true, commands = { "sleep" } })
  local t0 = loop.now()
  local r = h:run({ "sh", "-c", "sleep " .. secs("1000.25") .. " & sleep " .. secs("1000.5") }, { timeout = 1 })
  T.eq(r.timed_out, true)
  T.eq(r.code, nil)
  T.ok(r.signal == 15 or r.signal == 9, "killed by a signal")
  T.ok(loop.now() - t0 < 20, "returned promptly")
  if not probe.pidns and not probe.cgroup_pids then
    return skip("no pid namespace or pids cgroup: grandchildren may outlive the timeout")
  end
  T.eq(running{ "sleep", secs("1000.25") }, 0, "the grandchild is gone")
  T.eq(running{ "sleep", secs("1000.5") }, 0, "the child is gone")
end)

T.test("3.2 a fork bomb and a memory hog are contained", function()
  local ws = workspace()
  local h = new(ws, { shell = true, commands = { "tail" }, max_procs = 20, memory_mb = 64, timeout = 3 })
  if probe.cgroup_pids then -- without a pids cgroup nothing binds root: do not try
    local r = h:run{ "sh", "-c", "b() { b | b & }; b; sleep " .. secs("1.") .. "; echo done" }
    T.ok(r.duration < 30, "the bomb ended")
    T.eq(running{ "sh", "-c", "b() { b | b & }; b; sleep " .. secs("1.") .. "; echo done" }, 0, "nothing left")
  else
    skip("no pids cgroup: a fork bomb would not be contained for root")
  end
  local r = h:run{ "tail", "/dev/zero" }
  T.eq(r.timed_out, false)
  T.ok(r.code ~= 0, "the hog failed")
  T.match(r.stderr, "memory exhausted")
end)

local function rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end

T.test("3.3 100 MB of output is capped and costs no memory", function()
  local ws = workspace()
  local h = new(ws, { commands = { "head" }, output_cap = 1000000 })
  local before = rss_kb()
  local r = h:run{ "head", "-c", "100000000", "/dev/zero" }
  T.eq(r.code, 0)
  T.eq(r.truncated, true)
  T.eq(#r.stdout, 1000000 + #"\n[baton: output truncated at 1000000 bytes]\n")
  T.match(r.stdout, "\n%[baton: output truncated at 1000000 bytes%]\n$")
  T.ok(rss_kb() - before < 50 * 1024, "resident memory grew by less than 50 MB")
end)

T.test("3.4 with the network off a connect to a listening 127.0.0.1 port is refused", function()
  if not probe.netns and probe.landlock_abi < 4 then
    return skip("neither a network namespace nor Landlock ABI 4 is available")
  end
  local ws = workspace()
  local listener = io.popen([[python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4); s.settimeout(60)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); print("connected", flush=True)']])
  local port = listener:read("l")
  T.ok(port and port:match("^%d+$"), "listener started")
  local h = new(ws, { shell = true })
  local cmd = "exec 3<>/dev/tcp/127.0.0.1/" .. port .. " && echo open"
  for i = 1, 2 do -- the second command joins the namespace the first one made
    local r = h:run{ "bash", "-c", cmd }
    T.ok(r.code ~= 0, "connect refused " .. i)
    T.eq(r.stdout, "")
  end
  local open = new(ws, { shell = true, network = true })
  local r = open:run{ "bash", "-c", cmd } -- the control: allowed, it connects
  T.eq(r.stdout, "open\n", r.stderr)
  T.eq(listener:read("l"), "connected")
  listener:close()
end)

T.test("3.5 two commands in two loop tasks run concurrently", function()
  local ws = workspace()
  local h = new(ws, { commands = { "sleep" } })
  local t0 = loop.now()
  local a = loop.spawn(function() return h:run{ "sleep", "0.5" } end)
  local b = loop.spawn(function() return h:run{ "sleep", "0.5" } end)
  local res = loop.wait_all{ a, b }
  T.eq(res[1].ok, true)
  T.eq(res[1].values[1].code, 0)
  T.eq(res[2].values[1].code, 0)
  T.ok(loop.now() - t0 < 0.95, "both finished in about 0.5 s, not 1 s")
end)

T.test("3.6 cancelling a task kills its command", function()
  local ws = workspace()
  local h = new(ws, { commands = { "sleep" } })
  local t = loop.spawn(function() return h:run{ "sleep", secs("1000.75") } end)
  loop.spawn(function() loop.sleep(0.3); loop.cancel(t) end)
  loop.run()
  T.eq(running{ "sleep", secs("1000.75") }, 0)
end)

T.test("3.7 when baton is killed its commands die with it", function()
  local ws = workspace()
  T.write(ws .. "/../orphan.lua", [[
    local h = require("baton.harness").new{ workspace = ..., policy = { commands = { "sleep" } } }
    h:run{ "sleep", "1000.875" .. select(2, ...) }
  ]])
  local r = T.run{ "sh", "-c", T.q(T.bin) .. " exec " .. T.q(ws .. "/../orphan.lua") .. " " .. T.q(ws) .. " " .. RUN_ID ..
    " & b=$!; sleep 1; kill -9 $b; wait $b; echo $b; sleep 0.5" }
  T.eq(r.code, 0)
  T.eq(running{ "sleep", secs("1000.875") }, 0, "no orphaned command")
  local pid = r.out:match("^(%d+)")
  local function left()
    local p = io.popen("ls -d /tmp/baton-run-" .. pid .. "-* " .. (probe.cgroup_base or "/nonexistent") ..
      "/baton-" .. pid .. "-* 2>/dev/null")
    local out = p:read("a")
    p:close()
    return out
  end
  T.ok(left() ~= "", "a killed baton leaves its temp folder (and cgroup) behind")
  T.write(ws .. "/../sweep.lua", [[
    local h = require("baton.harness").new{ workspace = ..., policy = { commands = { "true" } } }
    h:run{ "true" }
    h:close()
  ]])
  T.eq(T.baton({ "exec", ws .. "/../sweep.lua", ws }).code, 0)
  T.eq(left(), "", "the next baton swept them")
end)

-- A listing of the tree with modes, link targets and content hashes.
local function tree(ws)
  local r = T.run({ "sh", "-c", "find . -path ./.baton -prune -o -path ./.git -prune -o " ..
    "-printf '%y %m %p %l\\n' | sort; find . -path ./.baton -prune -o -type f -print0 | " ..
    "sort -z | xargs -0 -r sha256sum" }, { cwd = ws })
  assert(r.code == 0, r.err)
  return r.out
end

T.test("4.1 rollback restores a byte-identical tree after writes, deletions and commands", function()
  local ws = workspace()
  assert(os.execute("cd " .. T.q(ws) .. " && mkdir -p src/sub lib && printf 'x' > src/sub/x && " ..
    "chmod 700 src/sub/x && ln -s a.txt src/link && mkdir -p lib/inner && " ..
    "printf '%s' \"$(seq 1 2000)\" > lib/inner/big"))
  local h = new(ws, { write = { "**" }, shell = true })
  local before = tree(ws)
  local ref, st = harness.snapshot(ws)
  T.match(ref, "^%x+$")
  T.eq(#ref, 64)
  T.eq(st.entries, 10)
  T.eq(h:write("src/a.txt", "changed"), true)
  T.eq(h:write("src/new/file", "n"), true)
  T.eq(h:delete("src/sub/x"), true)
  local r = h:run{ "sh", "-c", "rm -r lib/inner && chmod 600 README && ln -sf ../README src/link && " ..
    "mkdir src/made && echo y > src/made/y && printf 'alpha\\n' > tests/t" }
  T.eq(r.code, 0, r.stderr)
  T.ok(tree(ws) ~= before, "the tree changed")
  local ok, rs = harness.rollback(ws, ref)
  T.eq(ok, true)
  T.eq(tree(ws), before)
  T.ok(rs.removed >= 4, "removed the created entries")
  T.eq(T.read(ws .. "/.git/config"), "[core]\n", ".git untouched")
  ok, rs = harness.rollback(ws, ref) -- nothing left to do
  T.eq(rs.restored + rs.removed, 0)
end)

T.test("4.2 incremental snapshots read only changed files; errors", function()
  local ws = workspace()
  os.execute("sleep 0.3") -- older than the racy window
  local ref1, st1 = harness.snapshot(ws)
  T.eq(st1.hashed, 2)
  local ref2, st2 = harness.snapshot(ws)
  T.eq(st2.hashed, 0, "nothing re-read")
  T.eq(st2.stored, 0, "no new contents stored")
  T.write(ws .. "/src/a.txt", "beta\n")
  local _, st3 = harness.snapshot(ws)
  T.eq(st3.hashed, 1)
  T.ok(ref1 ~= ref2, "refs name manifests, which hold stat data")
  local ok, err, code = harness.rollback(ws, "xyz")
  T.eq(ok, nil)
  T.eq(err, "invalid snapshot ref 'xyz'")
  T.eq(code, "EINVAL")
  _, err, code = harness.rollback(ws, string.rep("0", 64))
  T.eq(err, "ENOENT: no such snapshot " .. string.rep("0", 64) .. " in " .. ws .. "/.baton/objects")
  T.eq(code, "ENOENT")
  T.write(ws .. "/we%rd\nname", "odd") -- '%' and a newline survive the manifest
  local odd = harness.snapshot(ws)
  os.remove(ws .. "/we%rd\nname")
  T.eq(harness.rollback(ws, odd), true)
  T.eq(T.read(ws .. "/we%rd\nname"), "odd")
  local blob = ws .. "/.baton/objects/" .. odd:sub(1, 2) .. "/" .. odd:sub(3)
  T.write(blob, T.read(blob):gsub("odd", "bad", 1) .. "x")
  _, err, code = harness.rollback(ws, odd)
  T.eq(err, "EIO: snapshot " .. odd:sub(1, 12) .. " is corrupt")
  T.eq(code, "EIO")
  local store = T.tmpdir()
  T.write(ws .. "/build.o", "obj")
  local ref = harness.snapshot(ws, { store = store, ignore = { "*.o" } })
  T.write(ws .. "/build.o", "obj2")
  T.write(ws .. "/src/a.txt", "gamma\n")
  T.eq(harness.rollback(ws, ref, { store = store, ignore = { "*.o" } }), true)
  T.eq(T.read(ws .. "/src/a.txt"), "beta\n")
  T.eq(T.read(ws .. "/build.o"), "obj2", "ignored files are left alone")
end)

-- The stat fields of path as the manifest writes them (lstat: a link is itself).
local function stat_fields(path)
  local p = io.popen("stat -c '%a %s %.9Y %.9Z %i' " .. T.q(path))
  local mode, size, mtime, ctime, ino = p:read("a"):match("^(%d+) (%d+) (%S+) (%S+) (%d+)")
  p:close()
  local function ns(t) -- "-315619199.500000000" -> -315619199500000000
    local sign, int, frac = t:match("^(%-?)(%d+)%.(%d+)$")
    return sign .. (int == "0" and "" or int) .. frac:gsub("^0+", int == "0" and "" or "%0")
  end
  return mode, size, ns(mtime), ns(ctime), ino
end

local function sha256(text)
  local path = T.tmpdir() .. "/blob"
  T.write(path, text)
  local p = io.popen("sha256sum " .. T.q(path))
  local hex = p:read("a"):match("^(%x+)")
  p:close()
  return hex
end

T.test("4.3 the manifest holds each entry's stat fields, exactly; negative times too", function()
  local ws, store = T.tmpdir(), T.tmpdir()
  assert(os.execute("mkdir " .. T.q(ws .. "/d") .. " && ln -s d/target " .. T.q(ws .. "/link")))
  T.write(ws .. "/d/old%25.txt", "from 1960\n")
  T.write(ws .. "/new.txt", "")
  assert(os.execute("touch -h -d '1960-01-01 00:00:00.25' " .. T.q(ws .. "/d/old%25.txt")))
  local ref = assert(harness.snapshot(ws, { store = store }))
  local text = T.read(store .. "/" .. ref:sub(1, 2) .. "/" .. ref:sub(3))
  T.eq(sha256(text), ref, "the ref is the manifest's hash")
  local first, rest = text:match("^(baton%-snapshot 1 %d+\n)(.*)$")
  T.ok(first, "header line")
  local lines = {}
  for line in rest:gmatch("[^\n]+") do lines[#lines + 1] = line end
  table.sort(lines)
  local function entry(ty, rel, hash, name)
    local mode, size, mtime, ctime, ino = stat_fields(ws .. "/" .. rel)
    if ty == "d" then size, mtime, ctime, ino = "0", "0", "0", "0" end
    return string.format("%s %s %s %s %s %s %s %s", ty, mode, size, mtime, ctime, ino, hash, name)
  end
  local want = {
    entry("d", "d", "-", "d"),
    entry("f", "d/old%25.txt", sha256("from 1960\n"), "d/old%2525.txt"),
    entry("l", "link", sha256("d/target"), "link"),
    entry("f", "new.txt", sha256(""), "new.txt"),
  }
  table.sort(want)
  T.eq(table.concat(lines, "\n"), table.concat(want, "\n"))
  T.match(text, "\nf %d+ 10 %-315619199750000000 ", "a time before 1970 is a negative count of ns")
end)

T.test("4.4 files with the same contents share one blob; each comes back on rollback", function()
  local ws, store = T.tmpdir(), T.tmpdir()
  for i = 1, 3 do T.write(ws .. "/same" .. i .. ".txt", "data\n") end
  T.write(ws .. "/other.txt", "other\n")
  local ref, st = assert(harness.snapshot(ws, { store = store }))
  T.eq(st.hashed, 4)
  T.eq(st.stored, 2, "two contents, two blobs (the manifest is not counted)")
  local p = io.popen("find " .. T.q(store) .. " -type f ! -name last | wc -l")
  T.eq(tonumber(p:read("a")), 3, "two blobs and the manifest")
  p:close()
  for i = 1, 3 do os.remove(ws .. "/same" .. i .. ".txt") end
  T.eq(harness.rollback(ws, ref, { store = store }), true)
  for i = 1, 3 do T.eq(T.read(ws .. "/same" .. i .. ".txt"), "data\n") end
end)

T.test("5.1 with every mechanism switched off the harness degrades, says so, still works", function()
  local ws = workspace()
  assert(os.execute("ln -s /etc " .. T.q(ws .. "/etc_link")))
  T.write(ws .. "/../fallback.lua", [[
    local harness = require "baton.harness"
    local ws, run_id = ...
    local function secs(s) return s .. run_id end
    local p = harness.probe()
    print(p.landlock_abi, p.netns, p.pidns, p.cgroup_pids, p.openat2)
    for _, m in ipairs(p.missing) do print(m) end
    local h = harness.new{ workspace = ws, policy = { shell = true, write = { "src/**" } } }
    print(h:read("src/a.txt"), select(2, h:read("etc_link/passwd")), select(2, h:read("../x")))
    print(h:write("src/sub/new", "n"), select(2, h:write("src/../.git/x", "n")))
    local r = h:run({ "sh", "-c", "sleep " .. secs("1000.125") .. " & sleep " .. secs("1000.375") }, { timeout = 1 })
    print(r.timed_out, r.signal)
    h:close()
  ]])
  local r = T.baton({ "exec", ws .. "/../fallback.lua", ws, RUN_ID },
    { env = { BATON_SANDBOX_DISABLE = "landlock,netns,pidns,mntns,cgroup,openat2" } })
  T.eq(r.code, 0, r.err)
  T.eq(r.out, table.concat({
    "0\tfalse\tfalse\tfalse\tfalse",
    "landlock: commands may write outside the workspace (policy checks only)",
    "network namespace: commands keep the network (Landlock blocks TCP only where ABI >= 4)",
    "pid namespace: a timeout kills the process group only",
    "mount namespace: commands cannot create entries in the workspace root",
    "pids cgroup: process counts rely on RLIMIT_NPROC (does not bind root)",
    "openat2: file paths are walked per component; every link is refused",
    "(BATON_SANDBOX_DISABLE=landlock,netns,pidns,mntns,cgroup,openat2 turned some of these off)",
    "alpha\n\tdenied: etc_link/passwd passes through a symbolic link\tdenied: ../x is outside the workspace\tdenied",
    "true\tdenied: .git/x is protected (.baton/ and .git/ are never writable by an agent)\tdenied",
    "true\t15", "" }, "\n"))
  T.eq(running{ "sleep", secs("1000.125") }, 0, "the process group was killed")
  local d = T.baton({ "doctor" }, { env = { BATON_SANDBOX_DISABLE = "landlock" } })
  T.match(d.out, "sandbox     missing landlock: commands may write outside the workspace")
end)
