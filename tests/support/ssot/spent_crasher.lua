-- tests/support/ssot/spent_crasher.lua: the child of test_ssot_procs ssot-21.3.
-- Four loop tasks make "requests" with the group commit on, forever, as
-- baton.llmcall does: a ledger row and the run's new spent in one db:tx (the
-- spent is held in memory until the group commits). After db:sync() a task
-- reports the count it synced in OUT. The test kills it with SIGKILL.
local loop = require "baton.loop"
local ssot = require "baton.ssot"
local path, out = ...
local db = assert(ssot.open(path, { busy_timeout_ms = 60000 }))
local run = db:latest_run()
local f = assert(io.open(out, "a"))
db:group(true)
local total = 0
local tasks = {}
for t = 1, 4 do
  tasks[t] = loop.spawn(function()
    for n = 1, math.huge do
      db:tx(function()
        db:llm_record(run.id, { agent = "t" .. t, input_tokens = 2, status = "ok" })
        total = total + 1
        db:update_run(run.id, { spent = { requests = total, tokens = 2 * total } })
      end)
      local mine = total
      assert(db:sync())
      f:write(string.format("synced %d\n", mine))
      f:flush()
      if n % 5 == 0 then loop.sleep(0.001) end
    end
  end)
end
loop.wait_all(tasks)
