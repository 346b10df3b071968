-- baton which MODULE: which file `require(MODULE)` loads, and what it
-- overrides, so users can see that their .baton/ or BATON_PATH file wins.
local errors = require "baton.errors"

-- Every file on package.path that could satisfy name, in search order.
local function candidates(name)
  local found, seen = {}, {}
  local path = name:gsub("%.", "/"):gsub("%%", "%%%%")
  for template in package.path:gmatch("[^;]+") do
    local file = template:gsub("%?", path)
    local f = io.open(file, "r")
    if f and not seen[file] then
      f:close()
      seen[file] = true
      found[#found + 1] = file
    end
  end
  return found
end

return {
  summary = "show which file a require loads (and what it overrides)",
  usage = "which MODULE",
  help = [[
Prints the file `require "MODULE"` would load, followed by the files it
overrides further down the search path (./.baton/, BATON_PATH, built-ins).

  baton which fsm              a controller policy
  baton which roles.planner    an agent role
  baton which baton.ssot       a module built into the executable]],
  run = function(_, pos)
    local name = pos[1]
    if not name then errors.usage("which needs a MODULE name (try 'baton help which')") end
    if package.preload[name] then
      io.stdout:write(name, ": built into the baton executable\n")
      return 0
    end
    local found = candidates(name)
    if #found == 0 then
      errors.raise(errors.FAILED, "module '%s' not found in ./.baton/, BATON_PATH or the built-in folders", name)
    end
    io.stdout:write(found[1], "\n")
    for i = 2, #found do io.stdout:write("  overrides ", found[i], "\n") end
    return 0
  end,
}
