-- tests/support/ssot/group_crasher.lua: the child of test_ssot_procs ssot-21.2.
-- Eight loop tasks write with the group commit on, forever: each unit is two
-- events in one db:tx; after db:sync() a task reports its unit in OUT. The
-- test kills it with SIGKILL and checks every reported unit is whole.
local loop = require "baton.loop"
local ssot = require "baton.ssot"
local path, out = ...
local db = assert(ssot.open(path, { busy_timeout_ms = 60000 }))
local run = db:latest_run()
local f = assert(io.open(out, "a"))
db:group(true)
local tasks = {}
for t = 1, 8 do
  tasks[t] = loop.spawn(function()
    for n = 1, math.huge do
      db:tx(function()
        db:event(run.id, "t" .. t, "u1", { t = t, n = n })
        db:event(run.id, "t" .. t, "u2", { t = t, n = n })
      end)
      db:event(run.id, "t" .. t, "solo", { t = t, n = n })
      assert(db:sync())
      f:write(string.format("unit %d %d\n", t, n))
      f:flush() -- in the kernel now: a SIGKILL cannot lose it
      if n % 3 == 0 then loop.sleep(0.001) end
    end
  end)
end
loop.wait_all(tasks)
