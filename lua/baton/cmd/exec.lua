-- baton exec FILE [ARGS]: run a Lua script with every baton module available,
-- like `nvim -l`. The script sees its arguments as `...` and in `arg`
-- (arg[0] is FILE). A syntax error is reported as FILE:LINE and exits 1.
local errors = require "baton.errors"

return {
  summary = "run a Lua script with the baton modules available",
  usage = "exec FILE.lua [ARGS...]",
  raw_args = true,
  help = [[
Runs FILE.lua in baton's Lua state: require "baton.ssot", "baton.harness",
"baton.http", "cjson" and every other module work as in the runtime. The
script's arguments are in `...` and in the global `arg` (arg[0] = FILE).
If the script returns an integer it becomes the exit code.

  baton exec bench/ssot_bench.lua /tmp/b 2000
  baton exec tests/lua/runner.lua tests/lua/test_cli.lua]],
  run = function(_, pos)
    local file = pos[1]
    if not file then errors.usage("exec needs a FILE.lua (try 'baton help exec')") end
    local chunk, err = loadfile(file, "t")
    if not chunk then errors.raise(errors.FAILED, "%s", err) end
    local script_args = table.move(pos, 2, #pos, 1, {})
    _G.arg = table.move(pos, 2, #pos, 1, { [0] = file })
    local rc = chunk(table.unpack(script_args))
    if math.type(rc) == "integer" then return rc end
    return 0
  end,
}
