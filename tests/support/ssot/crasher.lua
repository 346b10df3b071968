-- tests/support/ssot/crasher.lua: the child of test_ssot_procs ssot-21.1.
-- Runs bursts of transactions on the latest run forever, appending a line
-- to OUT after each one commits; the test kills it with SIGKILL at a random
-- moment and checks that every reported transaction is in the database.
local ssot = require "baton.ssot"
local path, out = ...
local db = assert(ssot.open(path, { busy_timeout_ms = 60000 }))
local run = db:latest_run()
local f = assert(io.open(out, "a"))
local function report(...)
  f:write(table.concat({ ... }, " "), "\n")
  f:flush() -- in the kernel now: a SIGKILL cannot lose it
end
for i = 1, math.huge do
  local id = assert(db:add_req(run.id, { description = "task " .. i, acceptance = { "a" } }))
  report("req", id)
  local lease = assert(db:claim(id, "crasher"))
  assert(db:complete(id, "crasher", lease.epoch, "DONE", "ok"))
  report("done", id)
  local seq = db:tx(function()
    db:event(run.id, "crasher", "burst", { i = i })
    db:record_action(run.id, { action = "burst", target = id })
    db:update_run(run.id, { iteration = i })
    return db:event(run.id, "crasher", "burst2", { i = i })
  end)
  report("ev", seq, i)
end
