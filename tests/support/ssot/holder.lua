-- tests/support/ssot/holder.lua: holds the write lock of a baton database
-- for SECONDS inside db:tx (touching SIGNAL once it has it), so the test can
-- check that a writer gives up after its busy timeout with nil, msg, "busy".
local ssot = require "baton.ssot"
local path, signal, seconds = ...
local db = assert(ssot.open(path))
db:tx(function()
  db:event(db:latest_run().id, "holder", "hold")
  local f = assert(io.open(signal, "w"))
  f:close()
  os.execute("sleep " .. seconds)
end)
db:close()
