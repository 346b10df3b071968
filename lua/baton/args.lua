-- baton.args: command-line parsing for baton's commands.
-- A spec names each flag with its type; anything else is a usage error with a
-- hint, so a typo never silently changes what a run does.
--   spec = { name = "run", flags = { jobs = { type = "integer", short = "j" } } }
local errors = require "baton.errors"

local M = {}

local function convert(name, kind, value, cmd)
  if kind == "string" then return value end
  local n = tonumber(value)
  if kind == "number" and n then return n end
  if kind == "integer" and n and math.type(n) == "integer" then return n end
  errors.usage("option '--%s' needs %s, got '%s' (try 'baton help %s')",
    name, kind == "integer" and "a whole number" or "a number", value, cmd)
end

local function find_flag(spec, word)
  local flags = spec.flags or {}
  if flags[word] then return word, flags[word] end
  for name, f in pairs(flags) do
    if f.short == word then return name, f end
  end
end

-- Parses argv (an array of strings) against spec. Returns opts (flag values
-- by name, plus opts.help) and the array of positional arguments.
function M.parse(argv, spec)
  local opts, pos, i = {}, {}, 1
  local cmd = spec.name or "baton"
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      table.move(argv, i + 1, #argv, #pos + 1, pos)
      break
    elseif a == "-h" or a == "--help" then
      opts.help = true
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local word, value = a:match("^%-%-?([^=]+)=(.*)$")
      word = word or a:gsub("^%-%-?", "")
      local name, f = find_flag(spec, word)
      if not name then
        errors.usage("unknown option '%s' for 'baton %s' (try 'baton help %s')", a, cmd, cmd)
      end
      if f.type == "boolean" then
        if value then errors.usage("option '--%s' takes no value", name) end
        opts[name] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then
            errors.usage("option '--%s' needs a value (try 'baton help %s')", name, cmd)
          end
        end
        opts[name] = convert(name, f.type, value, cmd)
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

return M
