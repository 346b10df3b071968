-- bench/llm_keys.lua: how fast baton.llm computes request keys (canonical
-- JSON + FNV-1a in C, run ids renamed as the engine does it: a table, or a
-- set compiled once) and answers offline calls. Run by hand:
--   build/baton exec bench/llm_keys.lua
local llm = require "baton.llm"

local function clock(n, fn)
  local t0 = os.clock()
  for _ = 1, n do fn() end
  return (os.clock() - t0) / n
end

local msgs = {}
for i = 1, 100 do
  msgs[i] = { role = i % 2 == 1 and "user" or "assistant", content = string.rep("word ", 400) .. i }
end
local big = { model = "openai:gpt-4o-mini", system = string.rep("rules ", 500), messages = msgs,
              tools = { { name = "write", parameters = { type = "object", properties = { path = { type = "string" } } } } } }
local bytes = #require("baton.json").encode { model = big.model, system = big.system, messages = msgs, tools = big.tools }
local t = clock(20, function() llm.request_key(big) end)
print(string.format("request_key: %d-byte request: %.2f ms (%.1f MB/s)", bytes, t * 1e3, bytes / t / 1e6))

-- a run of 256 tasks: 257 ids renamed in every key, ids all over the text
local aliases = { run4x9q2z = "RUN" }
for i = 1, 256 do aliases[string.format("r%05d", i)] = "T" .. i end
local set = require("baton.json").aliases(aliases)
big.key_aliases = aliases
t = clock(20, function() llm.request_key(big) end)
print(string.format("request_key, 257 aliases (table): %.2f ms (%.1f MB/s)", t * 1e3, bytes / t / 1e6))
t = clock(20, function() llm.request_key(big, set) end)
print(string.format("request_key, 257 aliases (compiled): %.2f ms (%.1f MB/s)", t * 1e3, bytes / t / 1e6))
big.key_aliases = nil

local small = { model = "offline", agent = "a", messages = { { role = "user", content = "hello" } } }
t = clock(2000, function() llm.request_key(small) end)
print(string.format("request_key: small request: %.1f us", t * 1e6))

llm.configure { offline = { turns = { { reply = { text = "ok" }, once = false } } } }
t = clock(2000, function() assert(llm.chat(small)) end)
print(string.format("offline llm.chat: %.1f us per call", t * 1e6))
