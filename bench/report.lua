-- bench/report.lua: how fast `baton report` handles a large run: a real
-- SSOT database with 1,000 tasks and ~10,000 journal events (the synthetic
-- journal of tests/support/report/synth.lua), then collect(), render() and,
-- when chromium is installed, the page's load and draw time. Run by hand:
--   BATON_SRC=$PWD build/baton exec bench/report.lua [TASKS]
local report = require "baton.report"
local ssot = require "baton.ssot"
local sys = require "baton.sys"

local src = os.getenv("BATON_SRC") or "."
local S = dofile(src .. "/tests/support/report/synth.lua")
local n = tonumber(arg and arg[1] or ...) or 1000
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local T = { q = q, tmpdir = function() return dir end }
function T.write(p, s) local f = assert(io.open(p, "wb")) f:write(s) f:close() end
function T.read(p) local f = io.open(p, "rb") if not f then return nil end local s = f:read("a") f:close() return s end

local function timed(what, fn)
  local t = sys.clock()
  local r = fn()
  print(string.format("%-34s %8.3f s", what, sys.clock() - t))
  return r
end

local db = assert(ssot.open(dir .. "/.baton/baton.db"))
local run = db:create_run { requirement = "a large synthetic run", workspace = dir }
local ids = {}
timed("fill: tasks + events (setup)", function()
  db:tx(function()
    for i = 1, n do ids[string.format("t%04d", i)] = db:add_req(run.id, { parent = run.root, description = "task " .. i }) end
    for _, ev in ipairs(S.events(n)) do
      local p = ev.payload
      if p.task then p.task = ids[p.task] end
      db:event(run.id, ev.actor, ev.kind, p)
      if ev.kind == "action.end" then
        db:record_action(run.id, { action = p.action, reasoning = "synthetic", outcome = "ok", detail = p.summary })
      end
    end
  end)
end)
local data = timed("collect", function() return report.collect(db, run.id, dir) end)
local html = timed("render", function() return report.render(data) end)
print(string.format("%d tasks, %d events, %d spans, %d actions, %.1f MB of HTML", #data.tasks, data.counts.events,
  #data.spans, #data.actions, #html / 1e6))
T.write(dir .. "/report.html", html)
local res = S.chromium(T, dir .. "/report.html")
if not res then
  print("chromium not installed: no load time")
else
  print(string.format("%-34s %8.3f s (exit %s)", "chromium: start, load, dump DOM", res.seconds, tostring(res.code)))
  print("page: " .. ((res.dom:match("<body[^>]*>")) or "?"))
end
db:close()
os.execute("rm -rf " .. q(dir))
