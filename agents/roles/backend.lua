-- The backend engineer: server-side and library code, the command line.
local coder = require "roles.coder"
local role = {}
for k, v in pairs(coder) do role[k] = v end
role.name = "backend"
role.description = "implements libraries, command-line tools and server code"
role.keywords = { "backend", "api", "server", "library", "cli", "command", "function", "parse",
                  "count", "database", "c", "lua", "shell", "script" }
role.prompt = coder.prompt .. "\nYou own the implementation: source files, not tests."
return role
