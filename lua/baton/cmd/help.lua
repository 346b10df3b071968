-- baton help [CMD]: the overview, or the manual of one command.
return {
  summary = "show help for baton or for one command",
  usage = "help [COMMAND]",
  help = "Without a command, prints the overview with examples; with one, its manual.",
  run = function(_, pos)
    local cli = require "baton.cli"
    if pos[1] then return cli.command_help(pos[1]) end
    io.stdout:write(cli.usage_text())
    return 0
  end,
}
