-- tests/support/llm_server.lua: starts tests/support/llm_server.py for a Lua
-- test or benchmark and stops it again. Usage:
--   local srv = dofile(src .. "/tests/support/llm_server.lua").start(T)
--   srv.url .. "/v1/chat/completions" ; srv.port ; srv.stop()
-- With the runner's T, the server is stopped and reaped when the case ends
-- (T.defer); without it, call srv.stop() yourself.
local sys = require "baton.sys"

local M = {}

function M.start(T, src)
  src = src or (T and T.src) or os.getenv("BATON_SRC") or "."
  local script = src .. "/tests/support/llm_server.py"
  local f = assert(io.popen("exec python3 '" .. script .. "'", "r"))
  local line = f:read("l")
  local port, pid = (line or ""):match("^(%d+) (%d+)$")
  if not port then
    f:close()
    error("llm_server.py did not start (first line: " .. tostring(line) .. ")")
  end
  local srv = { port = tonumber(port), pid = tonumber(pid) }
  srv.url = "http://127.0.0.1:" .. port
  local stopped = false
  function srv.stop()
    if stopped then return end
    stopped = true
    sys.kill(srv.pid, 15)
    f:close() -- pclose waits for the server and reaps it
  end
  if T and T.defer then T.defer(srv.stop) end
  return srv
end

return M
