-- bench/ssot_bench.lua: throughput of baton.ssot (see bench/README.md).
--   baton exec bench/ssot_bench.lua [DIR] [N]
-- Measures journaled status updates/s and claims/s in one process and with
-- four processes on one file. Wall time comes from /proc/uptime (10 ms).
local ssot = require "baton.ssot"

local function now()
  local f = assert(io.open("/proc/uptime"))
  local t = f:read("n")
  f:close()
  return t
end

local mode = ...
local function self_exe() -- the baton binary running this script
  local p = assert(io.popen("readlink /proc/" .. require("baton.sys").pid() .. "/exe"))
  local exe = p:read("l")
  p:close()
  return exe
end
local script = debug.getinfo(1, "S").source:sub(2)

-- child modes, run by the four-process measurements
if mode == "child-status" then
  local _, path, id, n, out = ...
  local db = assert(ssot.open(path, { busy_timeout_ms = 60000 }))
  local t0 = now()
  for _ = 1, tonumber(n) do
    local l = assert(db:claim(id, "bench"))
    assert(db:set_status(id, "BLOCKED"))
    assert(db:set_status(id, "PENDING"))
    assert(l)
  end
  local f = assert(io.open(out, "w"))
  f:write(t0, " ", now(), " ", 3 * tonumber(n), "\n")
  f:close()
  return
elseif mode == "child-claim" then
  local _, path, run, out = ...
  local db = assert(ssot.open(path, { busy_timeout_ms = 60000 }))
  local ids = {}
  for _, r in ipairs(db:reqs(run, { status = "PENDING" })) do ids[#ids + 1] = r.id end
  local t0, won = now(), 0
  for _, id in ipairs(ids) do
    local l, err, code = db:claim(id, "bench")
    if l then won = won + 1 elseif code ~= "not_pending" then error(err) end
  end
  local f = assert(io.open(out, "w"))
  f:write(t0, " ", now(), " ", #ids, " ", won, "\n")
  f:close()
  return
end

local bin = self_exe()
local dir = mode or "/tmp/ssot-bench"
local N = tonumber((select(2, ...))) or 20000
os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")

local function report(what, ops, secs)
  io.write(string.format("%-44s %8d ops %7.2f s %10.0f /s\n", what, ops, secs, ops / secs))
end

-- one process: claim -> BLOCKED -> PENDING, three journaled updates per round
do
  local db = assert(ssot.open(dir .. "/one.db"))
  local run = db:create_run { requirement = "bench" }
  local id = db:add_req(run.id, { description = "hot task" })
  local rounds = N // 3
  local t0 = now()
  for _ = 1, rounds do
    assert(db:claim(id, "bench"))
    assert(db:set_status(id, "BLOCKED"))
    assert(db:set_status(id, "PENDING"))
  end
  report("1 process: journaled status updates", 3 * rounds, now() - t0)
  t0 = now()
  for _ = 1, rounds // 100 do -- the same, 100 rounds per db:tx (one commit)
    db:tx(function()
      for _ = 1, 100 do
        assert(db:claim(id, "bench"))
        assert(db:set_status(id, "BLOCKED"))
        assert(db:set_status(id, "PENDING"))
      end
    end)
  end
  report("1 process: the same, 300 per db:tx", 300 * (rounds // 100), now() - t0)
  db:tx(function() for i = 1, N do db:add_req(run.id, { description = "t" .. i }) end end)
  local ids = {}
  for _, r in ipairs(db:reqs(run.id, { status = "PENDING" })) do ids[#ids + 1] = r.id end
  t0 = now()
  for _, rid in ipairs(ids) do assert(db:claim(rid, "bench")) end
  report("1 process: claims", #ids, now() - t0)
  db:close()
end

local function children(kind, args)
  local cmd = {}
  for i = 1, 4 do
    cmd[#cmd + 1] = string.format("'%s' exec '%s' %s %s '%s/out%d' &", bin, script, kind,
      args[i], dir, i)
  end
  assert(os.execute("sh -c \"" .. table.concat(cmd, " ") .. " wait\""))
  local t0, t1, ops = math.huge, 0, 0
  for i = 1, 4 do
    local f = assert(io.open(dir .. "/out" .. i))
    local a, b, n = f:read("n", "n", "n")
    f:close()
    t0, t1, ops = math.min(t0, a), math.max(t1, b), ops + n
  end
  return ops, t1 - t0
end

do -- four processes, each cycling its own task (one shared write lock)
  local path = dir .. "/four.db"
  local db = assert(ssot.open(path))
  local run = db:create_run { requirement = "bench" }
  local args = {}
  for i = 1, 4 do
    args[i] = string.format("'%s' %s %d", path, db:add_req(run.id, { description = "h" .. i }), N // 12)
  end
  db:close()
  local ops, secs = children("child-status", args)
  report("4 processes: journaled status updates", ops, secs)
end

do -- four processes claiming the same N tasks
  local path = dir .. "/claims.db"
  local db = assert(ssot.open(path))
  local run = db:create_run { requirement = "bench" }
  db:tx(function() for i = 1, N do db:add_req(run.id, { description = "t" .. i }) end end)
  db:close()
  local args = {}
  for i = 1, 4 do args[i] = string.format("'%s' %s", path, run.id) end
  local _, secs = children("child-claim", args)
  report("4 processes: claims (same tasks, each tried by all)", N, secs)
end
