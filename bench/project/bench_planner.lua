-- The built-in planner with one turn: one planner call, as the reference
-- workflow says (copied into a workspace as .baton/roles/bench_planner.lua).
local p = require "roles.planner"
local r = {} for k, v in pairs(p) do r[k] = v end
r.name, r.max_turns = "planner", 1
return r
