-- tests/lua/test_loop.lua: baton.loop: tasks, waits, sleeps, cancellation and
-- error reporting, on the real scheduler (core/wait.c) and loop (core/loop.c).
-- Time bounds are generous sanity checks; speed is measured in bench/.
local T = ...
local loop = require "baton.loop"

T.test("loop-1.1 sleep outside a task simply blocks", function()
  local t0 = loop.now()
  T.eq(select("#", loop.sleep(0.05)), 0, "sleep returns nothing")
  local took = loop.now() - t0
  T.ok(took >= 0.049 and took < 5, "slept " .. took)
end)

T.test("loop-1.2 spawn passes arguments; wait_all returns every outcome in order", function()
  local a = loop.spawn(function(x, y) loop.sleep(0.02) return x + y, nil, "z" end, 1, 2)
  local b = loop.spawn(function() return "b" end)
  T.eq(a:status(), "ready")
  local res = loop.wait_all { a, b }
  T.eq(#res, 2)
  T.eq(res[1].ok, true)
  T.eq(res[1].values.n, 3)
  T.eq(res[1].values[1], 3)
  T.eq(res[1].values[2], nil)
  T.eq(res[1].values[3], "z")
  T.eq(res[2].values[1], "b")
  T.eq(a:status(), "done")
  local ok, v1, v2, v3 = a:result()
  T.eq(ok, true) T.eq(v1, 3) T.eq(v2, nil) T.eq(v3, "z")
  T.match(tostring(a), "^baton%.loop%.task %(done%): ")
end)

T.test("loop-1.3 many sleeping tasks wait at once, on one thread", function()
  local tasks, t0 = {}, loop.now()
  for i = 1, 20 do tasks[i] = loop.spawn(function() loop.sleep(0.3) return i end) end
  local res = loop.wait_all(tasks)
  local took = loop.now() - t0
  for i = 1, 20 do T.eq(res[i].values[1], i) end
  T.ok(took >= 0.29 and took < 3, "20 x 0.3 s sleeps took " .. took) -- sequential: 6 s
end)

T.test("loop-1.4 an error in one task is reported with its traceback; others go on", function()
  local bad = loop.spawn(function() loop.sleep(0.01) error("boom") end)
  local good = loop.spawn(function() loop.sleep(0.05) return "fine" end)
  local res = loop.wait_all { bad, good }
  T.eq(res[1].ok, false)
  T.match(res[1].err, "^[^\n]*test_loop%.lua:%d+: boom\nstack traceback:\n")
  T.eq(res[2].ok, true)
  T.eq(res[2].values[1], "fine")
  T.eq(bad:status(), "failed")
  local ok, err = bad:result()
  T.eq(ok, false) T.match(err, "boom")
  local obj = loop.spawn(function() error({ msg = "typed failure", exit = 3 }) end)
  T.match(loop.wait_all({ obj })[1].err, "^typed failure\nstack traceback:")
end)

T.test("loop-1.5 wait_any returns the first task to finish", function()
  local slow = loop.spawn(function() loop.sleep(0.5) return "slow" end)
  local fast = loop.spawn(function() loop.sleep(0.01) return "fast" end)
  T.eq(loop.wait_any { slow, fast }, fast)
  T.eq(slow:status(), "waiting")
  T.eq(loop.wait_any { slow, fast }, fast, "an already finished task wins at once")
  T.eq(loop.cancel(slow), true)
end)

T.test("loop-1.6 cancel: a sleeping task ends as cancelled, its <close> variables run", function()
  local closed = false
  local t = loop.spawn(function()
    local guard <close> = setmetatable({}, { __close = function() closed = true end })
    loop.sleep(30)
    return "never"
  end)
  loop.sleep(0.01)
  T.eq(t:status(), "waiting")
  local t0 = loop.now()
  T.eq(loop.cancel(t), true)
  T.eq(t:cancel(), false, "cancelling twice")
  local res = loop.wait_all { t }
  T.eq(res[1].ok, false)
  T.eq(res[1].err, "cancelled")
  T.eq(t:status(), "cancelled")
  T.eq(closed, true, "<close> ran")
  T.ok(loop.now() - t0 < 5, "did not wait for the 30 s sleep")
  local never = loop.spawn(function() return 1 end)
  T.eq(loop.cancel(never), true, "a task that never started")
  T.eq(select(2, never:result()), "cancelled")
end)

T.test("loop-1.7 a task can cancel itself, and tasks can cancel each other", function()
  local after = false
  local self_t
  self_t = loop.spawn(function() loop.cancel(self_t) after = true end)
  local victim = loop.spawn(function() loop.sleep(30) end)
  local killer = loop.spawn(function() loop.sleep(0.01) return loop.cancel(victim) end)
  local res = loop.wait_all { self_t, victim, killer }
  T.eq(res[1].err, "cancelled") T.eq(after, false)
  T.eq(res[2].err, "cancelled")
  T.eq(res[3].values[1], true)
end)

T.test("loop-1.8 cancel_on_error cancels the others when one fails", function()
  local a = loop.spawn(function() loop.sleep(30) end)
  local b = loop.spawn(function() loop.sleep(0.01) error("fails", 0) end)
  local t0 = loop.now()
  local res = loop.wait_all({ a, b }, { cancel_on_error = true })
  T.ok(loop.now() - t0 < 5, "did not wait for the 30 s sleep")
  T.eq(res[1].err, "cancelled")
  T.match(res[2].err, "^fails\nstack traceback:")
end)

T.test("loop-1.9 tasks spawn and wait for tasks; a task's own waits yield", function()
  local parent = loop.spawn(function()
    local kids = {}
    for i = 1, 10 do kids[i] = loop.spawn(function() loop.sleep(0.3) return i * i end) end
    local sum = 0
    for _, r in ipairs(loop.wait_all(kids)) do sum = sum + r.values[1] end
    return sum
  end)
  local t0 = loop.now()
  local ok, sum = parent:wait()
  T.eq(ok, true) T.eq(sum, 385)
  T.ok(loop.now() - t0 < 2, "children slept at once (one after the other: 3 s)")
end)

T.test("loop-1.10 plain coroutines and coroutine.yield inside tasks", function()
  local log = {}
  local a = loop.spawn(function()
    -- a plain coroutine is not a task: its sleep blocks instead of yielding
    local co = coroutine.wrap(function() loop.sleep(0.01) coroutine.yield("inner") end)
    local v = co() -- b runs meanwhile: blocking still runs the other tasks
    log[#log + 1] = v
    coroutine.yield() -- a plain yield in a task lets the others run
    log[#log + 1] = "a"
  end)
  local b = loop.spawn(function() log[#log + 1] = "b" end)
  local c = loop.spawn(function() coroutine.yield() log[#log + 1] = "c" end)
  loop.wait_all { a, b, c }
  T.eq(table.concat(log, ","), "b,c,inner,a")
end)

T.test("loop-1.11 loop.run runs every task to its end", function()
  local n = 0
  for _ = 1, 3 do loop.spawn(function() loop.sleep(0.01) n = n + 1 end) end
  loop.run()
  T.eq(n, 3)
  loop.run() -- nothing left: returns at once
  local t = loop.spawn(function() loop.run() end)
  T.match(select(2, t:wait()), "^[^\n]*: loop%.run: cannot be called from inside a task\n")
end)

T.test("loop-1.12 a deadlock raises instead of hanging", function()
  local a, b
  a = loop.spawn(function() loop.sleep(0) loop.wait_all { b } end)
  b = loop.spawn(function() loop.sleep(0) loop.wait_all { a } end)
  T.raises(function() loop.wait_all { a, b } end,
    "deadlock: waiting with nothing left that could wake us")
  T.eq(a:status(), "waiting")
  loop.cancel(a) -- b then sees a finished and ends too
  loop.run()
  T.eq(b:status(), "done")
end)

T.test("loop-1.13 caller mistakes raise with a clear message", function()
  T.raises(function() loop.sleep(-1) end,
    "bad argument #1 to 'sleep' (seconds must not be negative)")
  T.raises(function() loop.sleep(0 / 0) end,
    "bad argument #1 to 'sleep' (seconds must not be negative)")
  T.raises(function() loop.spawn(42) end,
    "bad argument #1 to 'spawn' (function expected, got number)")
  T.raises(function() loop.wait_all { 1 } end, "loop.wait_all: item 1 is not a task (got number)")
  T.raises(function() loop.wait_any {} end, "loop.wait_any: no tasks given")
  T.raises(function() loop.cancel({}) end,
    "bad argument #1 to 'cancel' (baton.loop.task expected, got table)")
  local t = loop.spawn(function() loop.sleep(0.01) end)
  T.raises(function() t:result() end, "task has not finished (it is ready)")
  local selfwait
  selfwait = loop.spawn(function() loop.wait_all { selfwait } end)
  T.match(select(2, selfwait:wait()), "^[^\n]*loop%.wait_all: a task cannot wait for itself\n")
  T.eq(#loop.wait_all {}, 0, "waiting for no task returns at once")
  loop.run()
end)

T.test("loop-1.14 closing the Lua state cancels every pending wait", function()
  local dir = T.tmpdir()
  T.write(dir .. "/left.lua", [[
    local loop = require "baton.loop"
    local a = loop.spawn(function() loop.sleep(30) end)
    loop.spawn(function() loop.wait_all { a } end)
    loop.spawn(function() print("never started") end)
    local t = loop.spawn(function() coroutine.yield() loop.sleep(30) end)
    loop.sleep(0.01)
    print(a:status(), t:status())
  ]])
  local t0 = os.time()
  local r = T.baton({ "exec", dir .. "/left.lua" })
  T.eq(r.err, "")
  T.eq(r.out, "never started\nwaiting\twaiting\n")
  T.eq(r.code, 0)
  T.ok(os.time() - t0 < 10, "did not wait for the sleeps")
end)

T.test("loop-1.15 the loop is polled between ready tasks: a due timer does not wait for every busy task", function()
  local order = {}
  local waker = loop.spawn(function() loop.sleep(0) order[#order + 1] = "woke" end)
  local busy = {}
  for i = 1, 5 do
    busy[i] = loop.spawn(function()
      for _ = 1, 50 do coroutine.yield() end -- stays ready all along
      order[#order + 1] = "busy" .. i
    end)
  end
  busy[#busy + 1] = waker
  loop.wait_all(busy)
  T.eq(order[1], "woke", "the sleeper ran before the busy tasks finished: " .. table.concat(order, " "))
end)
