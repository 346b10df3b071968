-- tests/lua/test_progress.lua: baton.progress output (plain lines when
-- stderr is not a terminal, nothing with --quiet, JSON lines with --json),
-- run by the real binary in a child so stderr and stdout are its own; and
-- baton.util.readonly, the proxy policies and schedulers read the run through.
local T = ...
local json = require "baton.json"
local util = require "baton.util"

-- A script for `baton exec` that feeds progress a fixed sequence of events.
local FEED = [[
local progress = require "baton.progress"
local mode = ...
local p = progress.new { quiet = mode == "quiet", json = mode == "json" }
local e = { run = { id = "r1", iteration = 2, spent = { tokens = 5, usd = 0.5 } },
  view = { counts = { DONE = 1, total = 2 } } }
p:event("action", { action = "EXECUTE", reasoning = "two\n  tasks ready" }, e)
p:event("task.start", { task = "t1", agent = "worker" }, e)
p:event("llm", { agent = "worker", model = "m" }, e)
p:event("tool", { agent = "worker", tool = "write_file", target = "a b.txt" }, e)
p:event("task.end", { agent = "worker", task = "t1", status = "DONE", reason = "done" }, e)
p:event("action.done", { action = "EXECUTE", ok = true, summary = "1 task(s)" }, e)
p:event("action.done", { action = "VERIFY", ok = false, summary = "tests failed" }, e)
p:finish()
]]

local function feed(mode)
  local dir = T.tmpdir()
  T.write(dir .. "/feed.lua", FEED)
  local r = T.baton({ "exec", dir .. "/feed.lua", mode }, { cwd = dir, env = { NO_COLOR = false } })
  T.eq(r.code, 0, "exit (stderr: " .. r.err .. ")")
  return r
end

T.test("progress-1.1 not a terminal: one plain line per shown event, no status line", function()
  local r = feed("plain")
  T.eq(r.out, "")
  T.eq(r.err, table.concat({
    "▶ EXECUTE: two tasks ready",
    "  • worker works on t1",
    "    worker write_file a b.txt",
    "  • worker: t1 DONE (done)",
    "  ✓ 1 task(s)",
    "  ✗ tests failed", "" }, "\n"))
end)

T.test("progress-1.2 --quiet: nothing at all", function()
  local r = feed("quiet")
  T.eq(r.out, "")
  T.eq(r.err, "")
end)

T.test("progress-1.3 --json: one versioned line per event on stdout, nothing on stderr", function()
  local r = feed("json")
  T.eq(r.err, "")
  local kinds = {}
  for line in r.out:gmatch("[^\n]+") do
    local v = assert(json.decode(line))
    T.eq(v.v, 1)
    T.eq(v.run, "r1")
    T.eq(type(v.t), "number")
    kinds[#kinds + 1] = v.type
  end
  T.eq(table.concat(kinds, " "), "action task.start llm tool task.end action.done action.done")
end)

T.test("progress-2.1 readonly: reads go through, nested tables too, writes raise", function()
  local src = { a = 1, list = { { name = "x" }, { name = "y" } } }
  local ro = util.readonly(src)
  T.eq(ro.a, 1)
  T.eq(#ro.list, 2)
  T.eq(ro.list[2].name, "y")
  T.ok(rawequal(ro.list, ro.list), "one proxy per table")
  T.ok(rawequal(util.readonly(ro), ro), "a proxy is not wrapped again")
  local names = {}
  for i, v in ipairs(ro.list) do names[i] = v.name end
  T.eq(table.concat(names, ","), "x,y")
  local keys = {}
  for k, v in pairs(ro) do keys[#keys + 1] = k .. "=" .. type(v) end
  table.sort(keys)
  T.eq(table.concat(keys, " "), "a=number list=table")
  T.raises(function() ro.a = 2 end, "the view is read-only (tried to set 'a')")
  T.raises(function() ro.list[1].name = "z" end, "the view is read-only (tried to set 'name')")
  T.eq(src.list[1].name, "x")
  src.a = 3 -- a proxy reads the table as it is now
  T.eq(ro.a, 3)
  T.eq(getmetatable(ro), false)
  T.raises(function() setmetatable(ro, nil) end, "cannot change a protected metatable")
end)
