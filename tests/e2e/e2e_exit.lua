-- tests/e2e/e2e_exit.lua: the quick exit of `baton run` and `resume` (core/main.c,
-- quit_now): the process ends in the last finalizer, so what the run leaves
-- must be whole when it is gone: every row of its database, the summary on
-- stderr or stdout (a file: fully buffered), the harness's temp folder
-- removed, no command left running, a script's Lua files and pipes closed.
local T = ...
local E = dofile(T.src .. "/tests/e2e/support.lua")
local cjson = require "cjson"
local sys = require "baton.sys"

local TWO = {
  { key = "a", desc = "Write a.txt with alpha", file = "a.txt", content = "alpha\n" },
  { key = "b", desc = "Write b.txt with beta", file = "b.txt", content = "beta\n", deps = { "a" } },
}

-- The verifier's command leaves a file in its private TMPDIR and says where,
-- in notes/ (the sandbox lets it write below the workspace's entries only).
local NOTE_TMPDIR = { "sh", "-c", 'echo kept > "$TMPDIR/note" && echo "$TMPDIR" > notes/tmpdir.txt' }
local NOTES = { ["notes/.keep"] = "" }

local function exists(path) return os.execute("test -e " .. T.q(path)) == true end

-- Every row the run wrote is there, and says the run is over; more(db, run)
-- checks what else the caller wants to see.
local function check_db(ws, want_status, more)
  local db <close> = E.db(ws)
  local run = db:latest_run()
  T.eq(run.status, want_status, "run status")
  T.eq(run.controller_pid, 0, "controller released")
  local events = db:events(run.id)
  T.eq(events[#events].kind, "run.end", "last journal row")
  T.eq(events[#events].payload.status, want_status, "run.end status")
  for i, ev in ipairs(events) do
    if i > 1 then T.ok(ev.seq > events[i - 1].seq, "journal in order") end
  end
  if more then more(db, run) end
  return run
end

T.test("exit-1.1 after a run: the database is whole, status and log read it, temp folder gone", function()
  local ws = E.project(T, TWO, { test = NOTE_TMPDIR, files = NOTES })
  local r = T.baton({ "run", "write two files", "-q" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  T.match(r.err, "\n  report     baton report %w+ %-o report%.html   %(timeline, tree, diffs%)\n$",
    "the summary, to its last line")
  local run = check_db(ws, "DONE", function(db, run)
    local actions = db:actions(run.id, 1000)
    T.eq(actions[#actions].action, "DONE", "last action in the ledger")
    T.eq(actions[#actions].outcome, "ok", "its outcome")
    local done = 0
    for _, q in ipairs(db:reqs(run.id)) do
      if q.id ~= run.root and q.status == "DONE" then done = done + 1 end
    end
    T.eq(done, 2, "tasks done")
    T.eq(run.spent.requests, 7, "requests: 2 planner + 2 tasks x 2 + 1 review")
  end)
  local tmp = (T.read(ws .. "/notes/tmpdir.txt") or ""):match("^(/tmp/baton%-run%-%d+%-%w+)\n$")
  T.ok(tmp, "the verifier saw its temp folder")
  T.ok(not exists(tmp), "the harness removed " .. tmp)
  local st = T.baton({ "status" }, { cwd = ws })
  T.eq(st.code, 0, "status exit")
  T.match(st.out, "^run " .. run.id .. ": DONE")
  local log = T.baton({ "log" }, { cwd = ws })
  T.eq(log.code, 0, "log exit")
  T.match(log.out, "run%.end")
end)

T.test("exit-1.2 --json: the summary object is the last line of a redirected stdout", function()
  local ws = E.project(T, TWO)
  local r = T.baton({ "run", "write two files", "--json" }, { cwd = ws })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  local last = r.out:match("([^\n]+)\n$")
  local s = cjson.decode(last)
  T.eq(s.type, "summary", "last line")
  T.eq(s.status, "DONE", "status")
  T.eq(s.tasks_done, 2, "tasks done")
  check_db(ws, "DONE")
end)

-- Whether a process runs `sleep 5.0<digits>` (the pattern's "\." keeps
-- grep's own command line from matching).
local function running(digits)
  local p = io.popen("grep -l -a -E -e " .. T.q("sleep.5\\.0" .. digits) ..
    " /proc/[0-9]*/cmdline 2>/dev/null")
  local found = p:read("a")
  p:close()
  return found ~= ""
end

-- The engine stops between steps: a command it runs finishes first (here a
-- 5 s sleep, long enough for the signal to come while it runs).
T.test("exit-1.3 Ctrl-C while the verifier's command runs: exit 130, its folder gone, no child left", function()
  local marker = tostring(sys.pid()) -- sleep 5.0<pid>: nobody else runs it
  local ws = E.project(T, TWO, { files = NOTES, test = { "sh", "-c",
    'echo "$TMPDIR" > notes/tmpdir.txt; exec sleep 5.0' .. marker } })
  local p = io.popen("cd " .. T.q(ws) .. " && (" .. T.q(T.bin) .. " run 'write two files' -q " ..
    ">/dev/null 2>err.txt; echo $? > code.txt) & echo $!")
  p:read("l") -- the subshell's pid: read, so that echo has somewhere to write
  p:close()
  local pid
  for _ = 1, 3000 do -- the command has started once it wrote tmpdir.txt
    if exists(ws .. "/notes/tmpdir.txt") and running(marker) then
      local db <close> = E.db(ws)
      pid = db:latest_run().controller_pid
      break
    end
    os.execute("sleep 0.02")
  end
  T.ok(pid and pid > 0, "the verifier's command is running")
  sys.kill(pid, 2)
  for _ = 1, 3000 do
    if exists(ws .. "/code.txt") and T.read(ws .. "/code.txt") ~= "" then break end
    os.execute("sleep 0.02")
  end
  T.eq(T.read(ws .. "/code.txt"), "130\n", "exit code")
  local err = T.read(ws .. "/err.txt")
  T.match(err, ": STOPPED — interrupted; state saved, continue with `baton resume %w+`\n")
  T.match(err, "\n  report     baton report %w+ %-o report%.html   %(timeline, tree, diffs%)\n$", "summary")
  T.ok(not running(marker), "the command was ended")
  local tmp = T.read(ws .. "/notes/tmpdir.txt"):match("^(%S+)\n$")
  T.ok(not exists(tmp), "the harness removed " .. tmp)
  check_db(ws, "STOPPED")
end)

-- A script that asks for the quick exit (as runner.drive does) with a Lua
-- file and a pipe open: their finalizers run before the process ends, so the
-- file is written out and pclose waits for the pipe's reader, which renames
-- its output only after a pause: a process that ended without closing them
-- would leave neither.
local SCRIPT = [[
local dir, quick = ...
KEEP = { io.open(dir .. "/file.txt", "w"), io.popen("cat > " .. dir .. "/piped.tmp && sleep 0.3 && mv " ..
  dir .. "/piped.tmp " .. dir .. "/piped.txt", "w") }
KEEP[1]:write("written, never closed\n")
KEEP[2]:write("piped, never closed\n")
io.stdout:write("to stdout\n")
if quick == "quick" then debug.getregistry()["baton.host"].fast_exit() end
return 7
]]

T.test("exit-1.4 the quick exit closes a script's files and pipes first; so does the normal one", function()
  for _, mode in ipairs { "quick", "normal" } do
    local dir = T.tmpdir()
    T.write(dir .. "/s.lua", SCRIPT)
    local r = T.baton({ "exec", dir .. "/s.lua", dir, mode })
    T.eq(r.code, 7, mode .. " exit (stderr: " .. r.err .. ")")
    T.eq(r.out, "to stdout\n", mode .. " stdout")
    T.eq(T.read(dir .. "/file.txt"), "written, never closed\n", mode .. " file")
    T.eq(T.read(dir .. "/piped.txt"), "piped, never closed\n", mode .. " pipe")
  end
end)

T.test("exit-1.5 an error after the run is over still prints and sets the exit code", function()
  local dir = T.tmpdir()
  T.write(dir .. "/s.lua", 'debug.getregistry()["baton.host"].fast_exit()\nerror("late trouble")\n')
  local r = T.baton({ "exec", dir .. "/s.lua" })
  T.eq(r.code, 1, "exit")
  T.match(r.err, "^baton: .*s%.lua:2: late trouble\n$")
end)

-- Objects made after the quick exit was asked for are finalized before the
-- sentinel too, a finalizer that fails does not stop the ones after it, and
-- SQLite still writes (and keeps its rows) once its frees do nothing.
local LATE = [[
local dir, quick = ...
if quick == "quick" then debug.getregistry()["baton.host"].fast_exit() end
local ssot = require "baton.ssot"
LATE = setmetatable({}, { __gc = function()
  local db = assert(ssot.open(dir .. "/late.db"))
  local run = db:create_run { requirement = "written by a finalizer" }
  for i = 1, 100 do assert(db:add_req(run.id, { description = ("x"):rep(500) .. i })) end
  db:close()
  local f = assert(io.open(dir .. "/late.txt", "w"))
  f:write("late\n")
  f:close()
end })
BAD = setmetatable({}, { __gc = function() error("finalizer trouble") end }) -- finalized first
io.stdout:setvbuf("full")
io.stdout:write("buffered\n")
return 6
]]

T.test("exit-1.6 objects made after fast_exit, a failing finalizer, SQLite in a finalizer", function()
  for _, mode in ipairs { "quick", "normal" } do
    local dir = T.tmpdir()
    T.write(dir .. "/s.lua", LATE)
    local r = T.baton({ "exec", dir .. "/s.lua", dir, mode })
    T.eq(r.code, 6, mode .. " exit (stderr: " .. r.err .. ")")
    T.eq(r.out, "buffered\n", mode .. " stdout")
    T.eq(T.read(dir .. "/late.txt"), "late\n", mode .. " the late finalizer ran to its end")
    local db <close> = assert(require("baton.ssot").open(dir .. "/late.db"))
    T.eq(#db:reqs(db:latest_run().id), 101, mode .. " its rows: the root and 100")
  end
end)
