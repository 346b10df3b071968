-- tests/support/ssot/holder_dies.lua: claims the first N ready tasks of RUN
-- as agent "doomed", reports "ID EPOCH" lines in OUT (renamed into place so
-- the test sees them whole), then spins until the test kills it with SIGKILL.
local ssot = require "baton.ssot"
local path, run, n, out = ...
local db = assert(ssot.open(path))
local lines = {}
for _, r in ipairs(db:ready(run)) do
  if #lines == tonumber(n) then break end
  local lease = assert(db:claim(r.id, "doomed"))
  lines[#lines + 1] = r.id .. " " .. lease.epoch .. "\n"
end
local f = assert(io.open(out .. ".tmp", "w"))
f:write(table.concat(lines))
f:close()
assert(os.rename(out .. ".tmp", out))
local stop = os.time() + 60
while os.time() < stop do end -- never reached in the test: it is killed first
