-- tests/support/ssot/claimer.lua: one of the processes of test_ssot_procs
-- ssot-20.1. Waits for the start file, then tries to claim every child of
-- the root in the given order, writing "claimed ID EPOCH" for each win and
-- "ERR ..." for anything but a clean not_pending refusal.
local ssot = require "baton.ssot"
local path, run, agent, order, start, out = ...
local f = assert(io.open(out, "w"))
local db = assert(ssot.open(path, { busy_timeout_ms = 60000 }))
local root = db:run(run).root
local ids = {}
for _, r in ipairs(db:reqs(run, { parent = root })) do ids[#ids + 1] = r.id end
if order == "reverse" then
  for i = 1, #ids // 2 do ids[i], ids[#ids + 1 - i] = ids[#ids + 1 - i], ids[i] end
end
for _ = 1, 3000 do -- up to 30 s for the start signal
  local s = io.open(start)
  if s then s:close() break end
  os.execute("sleep 0.01")
end
for _, id in ipairs(ids) do
  local ok, lease, err, code = pcall(db.claim, db, id, agent)
  if not ok then f:write("ERR raised ", tostring(lease), "\n")
  elseif lease then f:write("claimed ", id, " ", lease.epoch, "\n")
  elseif code ~= "not_pending" then f:write("ERR ", tostring(err), " ", tostring(code), "\n") end
end
db:close()
f:write("END\n")
f:close()
