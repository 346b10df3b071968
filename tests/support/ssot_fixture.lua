-- tests/support/ssot_fixture.lua: what the SSOT test files share, loaded with
-- dofile(T.src .. "/tests/support/ssot_fixture.lua"):
--   fresh(T[, opts[, run_fields]]) -> db, run, dir: a new database (opened
--     with opts) in a fresh folder, closed when the test ends, holding one run
--     (run_fields, or a run with a policy, team, models, budgets and retries);
--   sh(cmd) -> its output and error output, as one string.
local ssot = require "baton.ssot"

local F = {}

local function default_run()
  return { requirement = "build a thing", policy = "fsm", team = "solo",
    models = { coder = "offline" }, budgets = { tokens = 1000, usd = 1.5 }, retry_max = 3 }
end

function F.fresh(T, opts, run_fields)
  local dir = T.tmpdir()
  local db = assert(ssot.open(dir .. "/.baton/baton.db", opts))
  T.defer(function() db:close() end)
  return db, db:create_run(run_fields or default_run()), dir
end

function F.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  p:close()
  return out
end

return F
