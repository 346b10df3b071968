-- tests/lua/test_ssot_group.lua: baton.ssot's group commit (db:group,
-- db:sync) with real loop tasks: a task's writes wait for the loop's next
-- idle point, a failed unit rolls back alone, db:sync is the barrier, and
-- turning the group off or closing commits what is pending. A second
-- connection shows what is committed. The SIGKILL test is in
-- test_ssot_procs.lua (ssot-21.2), the disk-full one in tests/c/test_ssot.c.
local T = ...
local ssot = require "baton.ssot"

local F = dofile(T.src .. "/tests/support/ssot_fixture.lua")
local function fresh() return F.fresh(T, nil, { requirement = "group" }) end

local loop = require "baton.loop"

local function committed(path, run, kind)
  local other <close> = assert(ssot.open(path))
  return #other:events(run, { kind = kind })
end

T.test("ssot-24.1 group: tasks' writes commit when the loop idles; the controller's at once", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  T.eq(db:group(true), true)
  local seen = {}
  local tasks = {}
  for i = 1, 3 do
    tasks[i] = loop.spawn(function()
      db:event(run.id, "t" .. i, "g", { i = i })
      db:tx(function() db:event(run.id, "t" .. i, "g", { i = i, second = true }) end)
      seen[i] = committed(path, run.id, "g") -- tasks are ready all along: nothing idled yet
    end)
  end
  loop.wait_all(tasks)
  T.eq(table.concat(seen, " "), "0 0 0")
  T.eq(committed(path, run.id, "g"), 6, "the join commits the group when the loop idles")
  db:event(run.id, "controller", "main", {})
  T.eq(committed(path, run.id, "main"), 1, "outside tasks a write is durable on return")
  -- a controller write commits a group left pending by tasks
  loop.wait_all { loop.spawn(function() db:event(run.id, "t", "late", {}) end) }
  T.eq(committed(path, run.id, "late"), 1, "the join settles the group when it returns")
  local t = loop.spawn(function() db:event(run.id, "t", "later", {}) end)
  loop.run()
  T.eq(committed(path, run.id, "later"), 1, "loop.run settles it too")
end)

T.test("ssot-24.2 group: a failed unit rolls back alone; the others' writes stay", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  db:group(true)
  local errs = {}
  loop.wait_all {
    loop.spawn(function() db:event(run.id, "a", "keep", {}) end),
    loop.spawn(function()
      errs[1] = select(2, pcall(db.tx, db, function()
        db:event(run.id, "b", "drop", {})
        error("unit fails", 0)
      end))
    end),
    loop.spawn(function() db:tx(function() db:event(run.id, "c", "keep", {}) end) end),
    loop.spawn(function() errs[2] = select(2, pcall(db.claim, db, "nosuch", "x")) end),
  }
  T.eq(errs[1], "unit fails")
  T.eq(errs[2], "unknown requirement 'nosuch'")
  T.eq(committed(path, run.id, "keep"), 2)
  T.eq(committed(path, run.id, "drop"), 0)
end)

T.test("ssot-24.3 db:sync waits for the group commit in a task, commits at once elsewhere", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  db:group(true)
  local after = {}
  local tasks = {}
  for i = 1, 4 do
    tasks[i] = loop.spawn(function()
      db:event(run.id, "t", "s", { i = i })
      T.eq(db:sync(), true)
      after[i] = committed(path, run.id, "s") -- every task's row: one commit for all
    end)
  end
  loop.wait_all(tasks)
  T.eq(table.concat(after, " "), "4 4 4 4")
  T.eq(db:sync(), true, "nothing pending")
  local err
  loop.wait_all { loop.spawn(function()
    db:event(run.id, "t", "x", {})
    err = select(2, pcall(db.tx, db, function() return db:sync() end))
  end) }
  T.match(err, ": db:sync: inside a transaction$")
  T.raises(function() db:group("yes") end, "bad argument #1 to 'group' (boolean expected, got string)")
end)

T.test("ssot-24.4 group: turning it off and closing commit what is pending", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  db:group(true)
  local co = coroutine.wrap(function() db:event(run.id, "co", "off", {}) end)
  co() -- a plain coroutine is yieldable: its write joins the group too
  T.eq(committed(path, run.id, "off"), 0)
  T.eq(db:group(false), true)
  T.eq(committed(path, run.id, "off"), 1)
  db:group(true)
  coroutine.wrap(function() db:event(run.id, "co", "closed", {}) end)()
  db:close()
  T.eq(committed(path, run.id, "closed"), 1, "close commits the group")
end)

-- the spent the run row holds, as another connection sees it (committed)
local function committed_spent(path, run)
  local other <close> = assert(ssot.open(path))
  return other:run(run).spent.requests
end

T.test("ssot-24.5 group: spending is held until the group commits, with its ledger rows", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  db:group(true)
  local total, seen = 0, {}
  local function request(agent) -- what llmcall.chat does: ledger row and spent, one unit
    db:tx(function()
      db:llm_record(run.id, { agent = agent, input_tokens = 1 })
      total = total + 1
      db:update_run(run.id, { spent = { requests = total } })
    end)
  end
  local tasks = {}
  for i = 1, 3 do
    tasks[i] = loop.spawn(function()
      request("t" .. i)
      local mine = db:run(run.id).spent.requests == total
      seen[i] = committed_spent(path, run.id) .. "/" .. tostring(mine)
      request("t" .. i)
    end)
  end
  loop.wait_all(tasks)
  T.eq(table.concat(seen, " "), "0/true 0/true 0/true", "others see the last commit; this connection all")
  T.eq(committed_spent(path, run.id), 6, "the group commit wrote the last value")
  T.eq(db:llm_totals(run.id).calls, 6)
  -- a unit that fails takes its spending with it; a failed inner unit only its own
  loop.wait_all { loop.spawn(function()
    db:update_run(run.id, { spent = { requests = 7 } })
    T.eq(pcall(db.tx, db, function()
      db:update_run(run.id, { spent = { requests = 8 } })
      error("unit fails", 0)
    end), false)
    db:tx(function()
      db:update_run(run.id, { spent = { requests = 9 } })
      T.eq(pcall(db.tx, db, function()
        db:update_run(run.id, { spent = { requests = 10 } })
        error("inner fails", 0)
      end), false)
    end)
  end) }
  T.eq(committed_spent(path, run.id), 9)
  -- an update of several fields writes spent at once; a held older value cannot overwrite it
  loop.wait_all { loop.spawn(function()
    db:tx(function()
      db:update_run(run.id, { spent = { requests = 11 } })
      db:update_run(run.id, { spent = { requests = 12 }, iteration = 3 })
    end)
    db:update_run(run.id, { iteration = 4 })
  end) }
  local r = db:run(run.id)
  T.eq(r.spent.requests .. " " .. r.iteration, "12 4")
  T.eq(committed_spent(path, run.id), 12)
  -- a snapshot records the held value; the controller's write commits it at once
  loop.wait_all { loop.spawn(function() db:update_run(run.id, { spent = { requests = 13 } }) end) }
  local sid = db:snapshot(run.id, "s", nil)
  T.eq(db:snapshots(run.id)[1].spent.requests, 13)
  T.eq(sid > 0, true)
  db:update_run(run.id, { spent = { requests = 14 } })
  T.eq(committed_spent(path, run.id), 14, "outside tasks the spending is durable on return")
end)

T.test("ssot-24.6 nested units open their savepoint at their first write: each undo is exact", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  local function ev(kind) db:event(run.id, "t", kind, {}) end
  local function fails(fn) T.eq(pcall(db.tx, db, function() fn() error("fails", 0) end), false) end
  local function scenarios(tag)
    -- an inner unit writes first and fails: the outer goes on from where it began
    db:tx(function()
      db:reqs(run.id) -- a read opens no savepoint
      fails(function() ev("drop" .. tag) end)
      ev("keep" .. tag)
    end)
    -- an inner unit writes first and commits; the outer then fails: both undone
    fails(function() db:tx(function() ev("drop" .. tag) end) end)
    -- the outer wrote first: the failing inner unit takes only its own rows
    db:tx(function()
      ev("keep" .. tag)
      fails(function() ev("drop" .. tag) end)
      db:tx(function() ev("keep" .. tag) end)
    end)
    -- three levels, the innermost writes first and commits, the middle fails
    db:tx(function()
      fails(function() db:tx(function() ev("drop" .. tag) end) end)
      db:tx(function() db:tx(function() ev("keep" .. tag) end) end)
      fails(function() end) -- a unit that wrote nothing fails: nothing to undo
      ev("keep" .. tag)
    end)
    fails(function() db:reqs(run.id) end)
  end
  scenarios("-plain")
  db:group(true)
  loop.wait_all { loop.spawn(function() scenarios("-task") end),
    loop.spawn(function() ev("other") end) }
  for _, tag in ipairs { "-plain", "-task" } do
    T.eq(committed(path, run.id, "keep" .. tag), 5, tag)
    T.eq(committed(path, run.id, "drop" .. tag), 0, tag)
  end
  T.eq(committed(path, run.id, "other"), 1)
end)

T.test("ssot-24.7 db:close() inside a unit undoes that unit only: the group's finished units commit", function()
  local dir = T.tmpdir()
  local path = dir .. "/.baton/baton.db"
  local db = assert(ssot.open(path))
  local run = db:create_run { requirement = "close inside" }
  db:group(true)
  local synced, closed
  loop.wait_all {
    loop.spawn(function() synced = { db:sync() } end), -- waits for the group's commit
    loop.spawn(function()
      db:tx(function() -- a finished unit: the task was told it is done
        db:llm_record(run.id, { agent = "a", input_tokens = 1 })
        db:update_run(run.id, { spent = { requests = 1 } })
      end)
      closed = { pcall(db.tx, db, function()
        db:update_run(run.id, { spent = { requests = 2 } })
        db:event(run.id, "a", "unfinished", {})
        db:close()
      end) }
    end),
  }
  T.eq(closed[1], false)
  T.eq(closed[2], "attempt to use a closed ssot database")
  T.eq(synced[1], true, "the waiter hears that the group committed")
  local other <close> = assert(ssot.open(path))
  T.eq(other:run(run.id).spent.requests, 1)
  T.eq(other:llm_totals(run.id).calls, 1)
  T.eq(#other:events(run.id, { kind = "unfinished" }), 0)
end)
