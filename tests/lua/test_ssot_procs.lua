-- tests/lua/test_ssot_procs.lua: baton.ssot across real processes: four
-- processes claiming the same 500 tasks (each claimed exactly once, no
-- error escapes), a writer killed with SIGKILL at random moments (the file
-- stays sound and keeps every transaction it reported), and a writer that
-- gives up after its busy timeout. ssot-21.3 kills a writer whose spending
-- is held until its group commits. Children: tests/support/ssot/*.lua.
local T = ...
local ssot = require "baton.ssot"

local support = T.src .. "/tests/support/ssot/"

local sh = dofile(T.src .. "/tests/support/ssot_fixture.lua").sh

local function lines(path)
  local t = {}
  for line in (T.read(path) or ""):gmatch("([^\n]*)\n") do t[#t + 1] = line end
  return t
end

-- Runs support/<child> on path, and SIGKILLs it a random moment (up to
-- max_delay s) after it reported its first commit in the file out.
local function kill_after_report(child, path, out, max_delay)
  local script = string.format("%s exec %s %s %s & p=$!; i=0; while [ ! -s %s ] && " ..
    "[ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; sleep %.3f; kill -9 $p; wait $p",
    T.q(T.bin), T.q(support .. child), T.q(path), T.q(out), T.q(out), math.random() * max_delay)
  os.execute("sh -c " .. T.q(script) .. " 2>/dev/null")
end

T.test("ssot-20.1 four processes claim the same 500 tasks: each exactly once", function()
  local dir = T.tmpdir()
  local path = dir .. "/baton.db"
  local db = assert(ssot.open(path))
  T.defer(function() db:close() end)
  local run = db:create_run { requirement = "many tasks" }
  db:tx(function()
    for i = 1, 500 do db:add_req(run.id, { description = "task " .. i }) end
  end)
  local cmd = {}
  for i = 1, 4 do
    cmd[#cmd + 1] = string.format("%s exec %s %s %s agent%d %s %s %s &", T.q(T.bin),
      T.q(support .. "claimer.lua"), T.q(path), run.id, i, i % 2 == 0 and "reverse" or "forward",
      T.q(dir .. "/start"), T.q(dir .. "/out" .. i))
  end
  local script = table.concat(cmd, " ") .. " sleep 0.5; touch " .. T.q(dir .. "/start") .. "; wait"
  T.eq(os.execute("sh -c " .. T.q(script)), true, "children ran")
  local owner, total = {}, 0
  for i = 1, 4 do
    local out = lines(dir .. "/out" .. i)
    T.eq(out[#out], "END", "child " .. i .. " finished")
    for _, line in ipairs(out) do
      T.nomatch(line, "^ERR", "child " .. i)
      local id, epoch = line:match("^claimed (%S+) (%d+)$")
      if id then
        T.eq(owner[id], nil, "claimed twice: " .. id)
        T.eq(epoch, "1", "first lease")
        owner[id] = "agent" .. i
        total = total + 1
      end
    end
  end
  T.eq(total, 500, "every task claimed")
  local inprog = db:reqs(run.id, { status = "IN_PROGRESS" })
  T.eq(#inprog, 500)
  for _, r in ipairs(inprog) do T.eq(r.assignee, owner[r.id], r.id) end
  T.eq(#db:events(run.id, { kind = "status" }), 500, "one journal line per claim")
end)

T.test("ssot-21.1 SIGKILL at random points: the file is sound and keeps what was reported", function()
  local dir = T.tmpdir()
  local path = dir .. "/baton.db"
  do
    local db <close> = assert(ssot.open(path))
    db:create_run { requirement = "crash me" }
  end
  math.randomseed(os.time())
  for round = 1, 4 do
    -- kill at a random moment once the child has reported its first commit
    local out = dir .. "/reported" .. round
    kill_after_report("crasher.lua", path, out, 0.4)
    T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA integrity_check'"), "ok\n", "round " .. round)
    local db <close> = assert(ssot.open(path))
    local run = db:latest_run()
    local reqs, dones, evs = 0, 0, 0
    local reported = {}
    for r = 1, round do
      for _, line in ipairs(lines(dir .. "/reported" .. r)) do reported[#reported + 1] = line end
    end
    T.ok(#lines(out) > 0, "the child reported commits before the kill")
    for _, line in ipairs(reported) do
      local kind, a = line:match("^(%S+) (%S+)")
      if kind == "req" then
        reqs = reqs + 1
        T.ok(db:req(a), "reported req " .. a)
      elseif kind == "done" then
        dones = dones + 1
        T.eq(db:req(a).status, "DONE", "reported done " .. a)
      elseif kind == "ev" then
        evs = evs + 1
        local e = db:events(run.id, { since = tonumber(a) - 1, limit = 1 })[1]
        T.eq(e and e.kind, "burst2", "reported event " .. a)
      end
    end
    -- transactions are all or nothing: a burst is whole or absent
    local b1 = #db:events(run.id, { kind = "burst" })
    T.eq(#db:events(run.id, { kind = "burst2" }), b1, "whole bursts only")
    T.eq(#db:actions(run.id), b1, "one action per burst")
    T.ok(b1 >= evs, "nothing reported is missing")
    local last = db:events(run.id, { kind = "burst2" })[b1]
    T.eq(db:run(run.id).iteration, last and last.payload.i or 0, "run updated in the same transaction")
    T.ok(reqs > 0, "reported lines checked")
  end
end)

T.test("ssot-21.2 SIGKILL with the group commit on: every synced unit is there, whole", function()
  local dir = T.tmpdir()
  local path = dir .. "/baton.db"
  for round = 1, 3 do
    do -- a run per round: the child writes into the latest
      local db <close> = assert(ssot.open(path))
      db:create_run { requirement = "crash the group " .. round }
    end
    local out = dir .. "/synced" .. round
    kill_after_report("group_crasher.lua", path, out, 0.3)
    T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA integrity_check'"), "ok\n", "round " .. round)
    local db <close> = assert(ssot.open(path))
    local run = db:latest_run()
    local have = {}
    for _, kind in ipairs { "u1", "u2", "solo" } do
      for _, e in ipairs(db:events(run.id, { kind = kind })) do
        have[kind .. " " .. e.payload.t .. " " .. e.payload.n] = true
      end
    end
    local n = 0
    for _, line in ipairs(lines(out)) do
      local unit = line:match("^unit (%d+ %d+)$")
      T.ok(unit, "a whole line: " .. line)
      for _, kind in ipairs { "u1", "u2", "solo" } do T.ok(have[kind .. " " .. unit], kind .. " of " .. line) end
      n = n + 1
    end
    T.ok(n > 0, "the child reported synced units before the kill")
    T.eq(#db:events(run.id, { kind = "u1" }), #db:events(run.id, { kind = "u2" }), "units whole")
  end
end)

T.test("ssot-21.3 SIGKILL while spending is held: the run's spent matches its ledger", function()
  local dir = T.tmpdir()
  local path = dir .. "/baton.db"
  for round = 1, 3 do
    do
      local db <close> = assert(ssot.open(path))
      db:create_run { requirement = "crash the spending " .. round }
    end
    local out = dir .. "/spent" .. round
    kill_after_report("spent_crasher.lua", path, out, 0.3)
    T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA integrity_check'"), "ok\n", "round " .. round)
    local db <close> = assert(ssot.open(path))
    local run = db:latest_run()
    local calls = db:llm_totals(run.id).calls
    T.eq(run.spent.requests, calls, "round " .. round .. ": spent and ledger committed together")
    T.eq(run.spent.tokens, 2 * calls)
    local reported = 0
    for _, line in ipairs(lines(out)) do
      reported = math.max(reported, tonumber(T.ok(line:match("^synced (%d+)$"), line)))
    end
    T.ok(reported > 0, "the child reported synced requests before the kill")
    T.ok(calls >= reported, "nothing synced is missing: " .. calls .. " >= " .. reported)
  end
end)

T.test("ssot-22.1 a writer gives up after its busy timeout: nil, message, busy", function()
  local dir = T.tmpdir()
  local path = dir .. "/baton.db"
  local db = assert(ssot.open(path, { busy_timeout_ms = 300 }))
  T.defer(function() db:close() end)
  local run = db:create_run { requirement = "contended" }
  local p = assert(io.popen(string.format("%s exec %s %s %s 4", T.q(T.bin),
    T.q(support .. "holder.lua"), T.q(path), T.q(dir .. "/locked"))))
  T.defer(function() if io.type(p) == "file" then p:close() end end)
  for _ = 1, 2000 do
    if T.read(dir .. "/locked") then break end
    os.execute("sleep 0.01")
  end
  T.ok(T.read(dir .. "/locked"), "the holder has the lock")
  local ok, err, code = db:event(run.id, "me", "blocked")
  T.eq(ok, nil)
  T.eq(err, "ssot: database is busy (waited 300 ms)")
  T.eq(code, "busy")
  local lease, err2, code2 = db:claim(run.root, "me")
  T.eq(lease, nil)
  T.eq(err2 .. code2, "ssot: database is busy (waited 300 ms)busy")
  T.eq(db:req(run.root).status, "PENDING", "reads still work during the wait")
  p:close()
  T.ok(db:event(run.id, "me", "after"), "writes work once the lock is free")
end)

T.test("ssot-23.1 resume: a killed holder's claims are released and it cannot complete", function()
  local dir = T.tmpdir()
  local path, out = dir .. "/baton.db", dir .. "/claims"
  local db = assert(ssot.open(path))
  T.defer(function() db:close() end)
  local run = db:create_run { requirement = "resume me" }
  for i = 1, 5 do db:add_req(run.id, { description = "task " .. i }) end
  local mine = assert(db:claim(run.root, "survivor"))
  local script = string.format("%s exec %s %s %s 3 %s & p=$!; i=0; while [ ! -s %s ] && " ..
    "[ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; kill -9 $p; wait $p",
    T.q(T.bin), T.q(support .. "holder_dies.lua"), T.q(path), run.id, T.q(out), T.q(out))
  os.execute("sh -c " .. T.q(script) .. " 2>/dev/null")
  local held = lines(out)
  T.eq(#held, 3, "the doomed child claimed three tasks")
  T.eq(#db:reqs(run.id, { status = "IN_PROGRESS" }), 4)
  T.eq(db:release_claims(run.id, { dead_only = true }), 3, "only the dead holder's claims")
  T.eq(db:req(run.root).status, "IN_PROGRESS", "a live holder keeps its claim")
  for _, line in ipairs(held) do
    local id, epoch = line:match("^(%S+) (%d+)$")
    local r = db:req(id)
    T.eq(r.status, "PENDING", id)
    T.eq(r.lease_epoch, tonumber(epoch) + 1, "the epoch grew")
    local ok, err, code = db:complete(id, "doomed", tonumber(epoch), "DONE")
    T.eq(code, "lease_lost", "the old holder cannot complete " .. id)
    local lease = assert(db:claim(id, "successor"))
    T.eq(lease.epoch, tonumber(epoch) + 2)
  end
  T.eq(db:complete(run.root, "survivor", mine.epoch, "DONE"), true)
end)
