-- bench/transport_bench.lua: transport figures for baton.http + baton.loop
-- against tests/support/llm_server.py on 127.0.0.1. Run by hand:
--   build/baton exec bench/transport_bench.lua [N_SEQUENTIAL]
-- Prints: CPU per request of 1,000 sequential chat requests (JSON encode and
-- decode included) next to the curl command doing the same requests in one
-- process; wall time of 64 parallel requests at 50 ms server latency and of
-- 32 at 200 ms. CPU figures are this process only (the server is separate).
local http = require "baton.http"
local loop = require "baton.loop"
local cjson = require "cjson"

local src = os.getenv("BATON_SRC") or "."
local srv = dofile(src .. "/tests/support/llm_server.lua").start(nil, src)
local n = tonumber(arg and arg[1]) or 1000
local url = srv.url .. "/v1/chat/completions"
local body = cjson.encode { model = "m", messages = { { role = "user", content = "hello" } } }

local function chat()
  local b = cjson.encode { model = "m", messages = { { role = "user", content = "hello" } } }
  local res = assert(http.request { url = url, body = b, headers = { ["content-type"] = "application/json" } })
  assert(res.status == 200)
  return cjson.decode(res.body).choices[1].message.content
end

local function parallel(count, delay_ms)
  local tasks = {}
  local t0 = loop.now()
  for i = 1, count do
    tasks[i] = loop.spawn(function()
      local res = assert(http.request { url = srv.url .. "/echo", headers = { ["x-mock-mode"] = "delay:" .. delay_ms } })
      return res.status
    end)
  end
  for _, r in ipairs(loop.wait_all(tasks)) do assert(r.ok and r.values[1] == 200, r.err) end
  return loop.now() - t0
end

chat() -- warm up: connection, curl init
local c0, w0 = os.clock(), loop.now()
for _ = 1, n do chat() end
local cpu, wall = os.clock() - c0, loop.now() - w0
print(string.format("sequential  %d requests: %.1f us CPU/request, %.1f us wall/request",
  n, cpu / n * 1e6, wall / n * 1e6))

-- The curl command: one process, the same n requests over one connection.
local cfg = os.tmpname()
local f = assert(io.open(cfg, "w"))
for i = 1, n do
  f:write(string.format('%surl = "%s"\ndata = %q\nheader = "content-type: application/json"\noutput = "/dev/null"\n',
    i > 1 and "next\n" or "", url, body))
end
f:close()
local tf = os.tmpname()
os.execute(string.format([[bash -c 'TIMEFORMAT="%%U %%S %%R"; time curl -s -K %s' 2>%s]], cfg, tf))
local tfile = assert(io.open(tf))
local u, s, r = tfile:read("n", "n", "n")
tfile:close()
os.remove(cfg) os.remove(tf)
if u then
  print(string.format("curl cmd    %d requests: %.1f us CPU/request, %.1f us wall/request (one process)",
    n, (u + s) / n * 1e6, r / n * 1e6))
end

parallel(64, 50) -- warm up the connection pool
print(string.format("parallel    64 x 50 ms: %.0f ms wall", parallel(64, 50) * 1000))
print(string.format("parallel    32 x 200 ms: %.0f ms wall", parallel(32, 200) * 1000))
srv.stop()
