-- bench/harness_bench.lua: speed of baton.harness's snapshots and sandbox.
--   baton exec bench/harness_bench.lua [DIR] [FILES] [BYTES_PER_FILE] [SPAWNS]
-- Builds a workspace of FILES files (default 10,000 x 10,000 bytes = 100 MB,
-- 100 per folder) under DIR (default /tmp), then times: the first snapshot,
-- a snapshot with nothing changed, an incremental snapshot after 10 files
-- changed, a rollback of those 10 changes, and the mean wall time of a
-- sandboxed `true` (policy check, fork into namespaces, Landlock, exec, reap),
-- measured first while the process is small.
local harness = require "baton.harness"
local loop = require "baton.loop"

local dir, nfiles, size, spawns = ...
dir = (dir or "/tmp") .. "/baton-bench-" .. require("baton.sys").pid()
nfiles, size, spawns = tonumber(nfiles) or 10000, tonumber(size) or 10000, tonumber(spawns) or 200

local function timed(label, fn)
  local t0 = loop.now()
  local a, b = fn()
  local dt = loop.now() - t0
  io.write(string.format("%-36s %9.1f ms\n", label, dt * 1000))
  return a, b, dt
end

local function rss_mb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

-- Spawn cost first, while this process is small (clone copies page tables,
-- so a bloated parent spawns slower; baton itself stays small).
local spawn_dir = dir .. "-spawn"
assert(os.execute("mkdir -p " .. spawn_dir .. "/src"))
local h = harness.new{ workspace = spawn_dir, policy = { commands = { "true" }, write = { "**" } } }
h:run{ "true" } -- warm up (private temp folder, page cache)
local _, _, total = timed(string.format("%d sandboxed `true`", spawns), function()
  for _ = 1, spawns do assert(h:run{ "true" }.code == 0) end
end)
io.write(string.format("%-36s %9.2f ms\n", "  per spawn", total / spawns * 1000))
local p = harness.probe()
io.write(string.format("  (landlock ABI %d, netns %s, pidns %s, pids cgroup %s)\n", p.landlock_abi,
  tostring(p.netns), tostring(p.pidns), tostring(p.cgroup_pids)))
h:close()
io.write(string.format("  (this process: %.0f MB resident)\n", rss_mb()))
assert(os.execute("rm -rf " .. spawn_dir))

assert(os.execute("mkdir -p " .. dir))
local chunk = string.rep("0123456789abcdef", size // 16 + 1):sub(1, size)
timed(string.format("create %d files x %d bytes", nfiles, size), function()
  for i = 0, nfiles - 1 do
    local sub = string.format("%s/d%03d", dir, i // 100)
    if i % 100 == 0 then assert(os.execute("mkdir -p " .. sub)) end
    local f = assert(io.open(string.format("%s/f%05d.txt", sub, i), "wb"))
    f:write(string.format("%08d", i), chunk:sub(9))
    f:close()
  end
end)
os.execute("sleep 0.3") -- let the files age past the snapshot's racy window

local ref1, st = timed("snapshot (first, hashes everything)", function() return harness.snapshot(dir) end)
io.write(string.format("  entries %d, hashed %d, stored %d\n", st.entries, st.hashed, st.stored))
local _, st2 = timed("snapshot (nothing changed)", function() return harness.snapshot(dir) end)
io.write(string.format("  hashed %d\n", st2.hashed))
for i = 1, 10 do
  local f = assert(io.open(string.format("%s/d%03d/f%05d.txt", dir, i * 7 % (nfiles // 100), i * 7 % (nfiles // 100) * 100), "r+b"))
  f:seek("set", 100)
  f:write("changed by the benchmark, file " .. i)
  f:close()
end
local _, st3 = timed("snapshot (10 files changed)", function() return harness.snapshot(dir) end)
io.write(string.format("  hashed %d, stored %d\n", st3.hashed, st3.stored))
local _, rs = timed("rollback of the 10 changes", function() return harness.rollback(dir, ref1) end)
io.write(string.format("  restored %d, removed %d\n", rs.restored, rs.removed))

io.write(string.format("  (this process: %.0f MB resident)\n", rss_mb()))
assert(os.execute("rm -rf " .. dir))
