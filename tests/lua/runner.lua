-- tests/lua/runner.lua: the Lua test runner, run by the real binary:
--   baton exec tests/lua/runner.lua tests/lua/test_x.lua [NAME-PATTERN]
-- A test file receives the api table T as `...` and registers numbered
-- cases with T.test. Each case is reported TAP-style; a case fails if it
-- raises or leaves a child process behind (the leak is killed and named).
local sys = require "baton.sys"

local file, only = ...
assert(file, "usage: runner.lua TESTFILE [PATTERN]")

local T = { bin = os.getenv("BATON_BIN"), src = os.getenv("BATON_SRC") }
local cases, cleanups = {}, {}

local function fail(fmt, ...) error(string.format(fmt, ...), 3) end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.test(name, fn) cases[#cases + 1] = { name = name, fn = fn } end
function T.ok(v, what) if not v then fail("expected a true value: %s", what or "") end return v end
function T.eq(got, want, what)
  if got ~= want then fail("%s: got %s, want %s", what or "value", show(got), show(want)) end
end
function T.match(s, pattern, what)
  if type(s) ~= "string" or not s:find(pattern) then
    fail("%s: %s does not match %q", what or "text", show(s), pattern)
  end
end
function T.nomatch(s, pattern, what)
  if type(s) == "string" and s:find(pattern) then
    fail("%s: %s should not match %q", what or "text", show(s), pattern)
  end
end
-- fn must raise exactly the message want (a C error has no position; a Lua
-- error's "file:line: " prefix is stripped before comparing).
function T.raises(fn, want)
  local ok, err = pcall(fn)
  if ok then fail("expected the error %s, got success", show(want)) end
  local msg = tostring(err):gsub("^[^:\n]+:%d+: ", "")
  if msg ~= want then fail("wrong error:\n  got  %s\n  want %s", show(msg), show(want)) end
end
function T.defer(fn) cleanups[#cleanups + 1] = fn end

function T.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local tmp_root = (os.getenv("BATON_TEST_TMP") or "/tmp") .. "/" ..
  file:match("([^/]+)%.lua$") .. "-" .. sys.pid()
local tmp_count = 0
-- A fresh empty folder, removed when the file's cases are done.
function T.tmpdir()
  tmp_count = tmp_count + 1
  local dir = tmp_root .. "/" .. tmp_count
  assert(os.execute("mkdir -p " .. T.q(dir)))
  return dir
end
function T.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end
function T.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Runs argv (argv[1] defaults to the baton binary when it is a baton
-- subcommand list: use T.baton) in opts.cwd with opts.env changes
-- (a false value unsets). Returns {code=, out=, err=}.
function T.run(argv, opts)
  opts = opts or {}
  local dir = T.tmpdir()
  local parts = { "cd", T.q(opts.cwd or dir), "&&", "env" }
  local sets = {}
  for k, v in pairs(opts.env or {}) do -- env wants every -u before NAME=VALUE
    if v == false then parts[#parts + 1] = "-u " .. T.q(k) else sets[#sets + 1] = T.q(k .. "=" .. v) end
  end
  table.move(sets, 1, #sets, #parts + 1, parts)
  for _, a in ipairs(argv) do parts[#parts + 1] = T.q(a) end
  parts[#parts + 1] = string.format("<%s >%s 2>%s", opts.stdin or "/dev/null",
    T.q(dir .. "/out"), T.q(dir .. "/err"))
  local _, how, code = os.execute(table.concat(parts, " "))
  return { code = how == "exit" and code or 128 + code, out = T.read(dir .. "/out"),
           err = T.read(dir .. "/err") }
end
function T.baton(argv, opts)
  return T.run(table.move(argv, 1, #argv, 2, { T.bin }), opts)
end

local function reap_leaks()
  local leaked = {}
  for _, pid in ipairs(sys.children() or {}) do
    if not sys.reap(pid) then
      leaked[#leaked + 1] = pid
      sys.kill(pid, 9)
      for _ = 1, 100 do if sys.reap(pid) then break end os.execute("sleep 0.01") end
    end
  end
  return leaked
end

local chunk = assert(loadfile(file, "t"))
chunk(T)
local passed, failed = 0, 0
io.stdout:write(string.format("1..%d\n", #cases))
for i, c in ipairs(cases) do
  if not only or c.name:find(only, 1, true) then
    cleanups = {}
    local ok, err = xpcall(c.fn, debug.traceback)
    for j = #cleanups, 1, -1 do pcall(cleanups[j]) end
    local leaked = reap_leaks()
    if ok and #leaked > 0 then
      ok, err = false, "leaked child process(es): " .. table.concat(leaked, ", ")
    end
    if ok then
      passed = passed + 1
      io.stdout:write(string.format("ok %d - %s\n", i, c.name))
    else
      failed = failed + 1
      io.stdout:write(string.format("not ok %d - %s\n#   %s\n", i, c.name,
        tostring(err):gsub("\n", "\n#   ")))
    end
    io.stdout:flush()
  end
end
if failed == 0 then os.execute("rm -rf " .. T.q(tmp_root)) end
io.stdout:write(string.format("# %d passed, %d failed\n", passed, failed))
return failed == 0 and 0 or 1
