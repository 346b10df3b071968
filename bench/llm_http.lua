-- bench/llm_http.lua: llm.chat over real HTTP against tests/support/llm_server.py:
-- N calls one after another, then N concurrent calls in baton.loop tasks each
-- waiting DELAY ms on the server (shows that waits overlap). Run by hand:
--   BATON_SRC=$PWD build/baton exec bench/llm_http.lua [N] [DELAY_MS]
local loop = require "baton.loop"
local llm = require "baton.llm"
local wire = require "baton.llm.wire"

local n, delay = tonumber((...)) or 50, tonumber(select(2, ...)) or 200
local srv = dofile((os.getenv("BATON_SRC") or ".") .. "/tests/support/llm_server.lua").start(nil)
wire.getenv = function(name)
  return ({ OPENAI_API_KEY = "sk-bench", OPENAI_BASE_URL = srv.url .. "/v1" })[name]
end
local function ask(i, mode, stream)
  return assert(llm.chat { model = "openai:gpt-4o-mini", messages = { { role = "user", content = "n" .. i } },
                           headers = mode and { ["x-mock-mode"] = mode } or nil,
                           on_delta = stream and function() end or nil })
end

local t0 = loop.now()
for i = 1, n do ask(i) end
local seq = loop.now() - t0
t0 = loop.now()
for i = 1, n do ask(i, nil, true) end
local seq_stream = loop.now() - t0
local tasks = {}
t0 = loop.now()
for i = 1, n do tasks[i] = loop.spawn(ask, i, "delay:" .. delay) end
for _, r in ipairs(loop.wait_all(tasks)) do assert(r.ok, r.err) end
local par = loop.now() - t0
srv.stop()
print(string.format("sequential: %d calls in %.3f s (%.2f ms/call)", n, seq, seq / n * 1e3))
print(string.format("sequential streamed: %d calls in %.3f s (%.2f ms/call)", n, seq_stream, seq_stream / n * 1e3))
print(string.format("concurrent: %d calls with %d ms server delay each in %.3f s (serial would be >= %.1f s)",
  n, delay, par, n * delay / 1e3))
