-- baton.errors: errors that end the program with a chosen exit code.
-- main.c prints `baton: <msg>` for these and exits with their code, so a
-- usage mistake is one line and exit 2, never a traceback.
local M = {}

M.USAGE, M.FAILED, M.PROVIDER, M.BUDGET, M.INTERRUPTED = 2, 1, 3, 4, 130

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.msg end

function M.raise(exit, fmt, ...)
  error(setmetatable({ exit = exit, msg = string.format(fmt, ...) }, Error), 0)
end

function M.usage(fmt, ...) M.raise(M.USAGE, fmt, ...) end

function M.is(e) return getmetatable(e) == Error end

return M
