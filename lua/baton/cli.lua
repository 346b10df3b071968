-- baton.cli: the command line. main.c calls cli.main(host) with host =
-- {argv=, exe=, root=, version=, debug=, fast_exit=} and exits with its
-- result (fast_exit(): see runner.drive and core/main.c).
-- Each command lives in lua/baton/cmd/<name>.lua and returns
-- { summary=, usage=, help=, flags=, run=function(opts, args, host) }.
local args = require "baton.args"
local errors = require "baton.errors"

local M = {}

-- The commands in the order --help lists them.
M.COMMANDS = { "run", "resume", "status", "tasks", "log", "runs", "report", "doctor", "exec", "which", "help" }

local EXAMPLES = [[
baton: an agent team that takes a requirement to verified code, scripted in Lua.

Examples:
  baton run "add a --json flag to the CLI"   take a requirement to verified code (offline model
                                    unless --model or the team says otherwise)
  baton run "..." --model openai:gpt-4o-mini --max-cost 0.50
  baton resume                      continue the last run after a crash or Ctrl-C
  baton status; baton tasks --tree; baton log --follow
  baton doctor                      what this machine offers (libraries, sandbox, keys)
  baton exec script.lua a b         run a Lua script with every baton module loaded
  baton which fsm                   which file `require "fsm"` loads (shows overrides)
  baton help run                    the manual of one command
]]

local function load_command(name)
  for _, c in ipairs(M.COMMANDS) do
    if c == name then return require("baton.cmd." .. name) end
  end
end

function M.usage_text()
  local lines = { EXAMPLES, "Commands:" }
  for _, name in ipairs(M.COMMANDS) do
    lines[#lines + 1] = string.format("  %-10s %s", name, load_command(name).summary)
  end
  lines[#lines + 1] = [[

Options:
  -h, --help       show this help (or `baton help CMD` for one command; `baton help
                   policies|teams|providers|security|reports` for the guides)
  --version        print the version and exit
  --debug          print full tracebacks on errors (also BATON_DEBUG=1)

Lua files are searched in ./.baton/, then each folder of BATON_PATH, then the
built-in lua/, policies/ and agents/ folders. NO_COLOR turns colours off.
]]
  return table.concat(lines, "\n")
end

-- Help topics: the documents in docs/, by a short name.
M.TOPICS = { policies = "writing-policies.md", teams = "writing-teams.md", providers = "providers.md",
  security = "security.md", reports = "reports.md", architecture = "ARCHITECTURE.md", modules = "modules.md" }

local function topic_help(name)
  local host = debug.getregistry()["baton.host"]
  local f = M.TOPICS[name] and host and io.open(host.root .. "/docs/" .. M.TOPICS[name], "r")
  if not f then return nil end
  io.stdout:write(f:read("a"))
  f:close()
  return 0
end

-- Prints the manual of one command or topic; raises a usage error for unknown ones.
function M.command_help(name)
  local cmd = load_command(name)
  if not cmd then
    local rc = topic_help(name)
    if rc then return rc end
    local topics = {}
    for t in pairs(M.TOPICS) do topics[#topics + 1] = t end
    table.sort(topics)
    errors.usage("unknown command or topic '%s' (commands: see 'baton --help'; topics: %s)",
      tostring(name), table.concat(topics, ", "))
  end
  io.stdout:write("usage: baton ", cmd.usage, "\n\n", cmd.help, "\n")
  return 0
end

function M.main(host)
  local argv = {}
  for _, a in ipairs(host.argv) do
    if a ~= "--debug" then argv[#argv + 1] = a end
  end
  local first = argv[1]
  if first == nil or first == "-h" or first == "--help" then
    io.stdout:write(M.usage_text())
    return first and 0 or 2
  elseif first == "--version" or first == "-V" then
    io.stdout:write("baton ", host.version, "\n")
    return 0
  elseif first:sub(1, 1) == "-" then
    errors.usage("unknown option '%s' (try 'baton --help')", first)
  end
  local cmd = load_command(first)
  if not cmd then
    errors.usage("unknown command '%s' (try 'baton --help')", first)
  end
  local rest = table.move(argv, 2, #argv, 1, {})
  local opts, pos
  if cmd.raw_args then -- exec passes everything after FILE to the script
    opts, pos = {}, rest
    if rest[1] == "-h" or rest[1] == "--help" then opts.help = true end
  else
    opts, pos = args.parse(rest, { name = first, flags = cmd.flags })
  end
  if opts.help then return M.command_help(first) end
  return cmd.run(opts, pos, host) or 0
end

return M
