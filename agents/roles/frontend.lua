-- The frontend engineer: user-facing output, pages, styles, formatting.
local coder = require "roles.coder"
local role = {}
for k, v in pairs(coder) do role[k] = v end
role.name = "frontend"
role.description = "implements user-facing pages, output formats and styling"
role.keywords = { "frontend", "ui", "html", "css", "page", "output", "format", "display", "usage",
                  "help", "json" }
role.prompt = coder.prompt .. "\nYou own what users see: output, pages, help texts."
return role
