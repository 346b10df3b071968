-- tests/lua/test_ssot.lua: baton.ssot on real SQLite files, in one process:
-- open and refusals, runs, requirements and ids, the transition table
-- (exhaustively), claims and leases, dependencies and cycles, contracts and
-- the validator, snapshots. The journal, the LLM ledger and bad input are in
-- test_ssot_journal.lua, the multi-process and crash tests in
-- test_ssot_procs.lua, the group commit ones in test_ssot_group.lua.
local T = ...
local ssot = require "baton.ssot"
local sys = require "baton.sys"

local F = dofile(T.src .. "/tests/support/ssot_fixture.lua")
local function fresh(opts) return F.fresh(T, opts) end
local sh = F.sh

T.test("ssot-1.1 open creates the folder, WAL mode, <close> and use after close", function()
  local dir = T.tmpdir()
  local path = dir .. "/a/b/baton.db"
  do
    local db <close> = assert(ssot.open(path))
    db:create_run { requirement = "x" }
    T.ok(T.read(path .. "-wal"), "a WAL file while open")
    T.match(tostring(db), "^ssot%.db %(.*/a/b/baton%.db%)$")
  end
  T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA journal_mode; PRAGMA user_version'"), "wal\n2\n")
  local db = assert(ssot.open(path))
  T.eq(#db:runs(), 1, "runs survive")
  T.eq(db:close(), true)
  T.eq(db:close(), true, "close is idempotent")
  T.eq(tostring(db), "ssot.db (closed)")
  T.raises(function() db:runs() end, "attempt to use a closed ssot database")
end)

T.test("ssot-1.2 a file that is not a baton database is refused", function()
  local dir = T.tmpdir()
  T.write(dir .. "/text.db", string.rep("this is not sqlite\n", 100))
  local db, err, code = ssot.open(dir .. "/text.db")
  T.eq(db, nil)
  T.eq(err, "ssot: " .. dir .. "/text.db is not a baton database (not an SQLite file)")
  T.eq(code, "notadb")
  sh("sqlite3 " .. T.q(dir .. "/other.db") .. " 'CREATE TABLE t(x)'")
  db, err, code = ssot.open(dir .. "/other.db")
  T.eq(err, "ssot: " .. dir .. "/other.db is not a baton database (it holds another application's data)")
  T.eq(code, "notadb")
  T.eq(sh("sqlite3 " .. T.q(dir .. "/other.db") .. " 'PRAGMA journal_mode'"), "delete\n",
    "a refused file is left as it was")
end)

T.test("ssot-1.3 a database from a newer baton is refused; bad open arguments", function()
  local dir = T.tmpdir()
  local path = dir .. "/b.db"
  assert(ssot.open(path)):close()
  sh("sqlite3 " .. T.q(path) .. " 'PRAGMA user_version=7'")
  local db, err, code = ssot.open(path)
  T.eq(db, nil)
  T.eq(err, "ssot: " .. path .. " was written by a newer baton (schema 7; this baton knows up to 2)")
  T.eq(code, "newer")
  T.raises(function() ssot.open() end, "bad argument #1 to 'open' (string expected, got no value)")
  T.raises(function() ssot.open("") end, "bad argument #1 to 'open' (empty path)")
  T.raises(function() ssot.open(path, { busy_timeout_ms = "x" }) end,
    "option 'busy_timeout_ms' must be a number, got string")
  T.raises(function() ssot.open(path, { busy_timeout_ms = 0 }) end,
    "bad argument #2 to 'open' (busy_timeout_ms must be 1..3600000)")
  db, err, code = ssot.open("/proc/nope/x.db")
  T.eq(db, nil)
  T.match(err, "^ssot: cannot create the folder of /proc/nope/x%.db: ")
  T.eq(code, "open")
end)

T.test("ssot-1.6 an older baton database is migrated forward", function()
  local path = T.tmpdir() .. "/old.db"
  -- schema 0: a baton file (application_id 'BTN1') whose tables were never made
  sh("sqlite3 " .. T.q(path) .. " 'PRAGMA application_id=1112821297'")
  local db = assert(ssot.open(path))
  T.eq(db:create_run { requirement = "x" }.status, "RUNNING")
  db:close()
  T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA user_version; PRAGMA application_id'"),
    "2\n1112821297\n")
end)

T.test("ssot-1.7 schema 1 -> 2: the status CHECKs become OR chains, the data stays, a reader reparses", function()
  local path = T.tmpdir() .. "/v1.db"
  local db = assert(ssot.open(path))
  local run = db:create_run { requirement = "x" }
  local id = db:add_req(run.id, { description = "a" })
  db:close()
  -- make it the schema 1 file an older baton wrote (IN lists)
  T.eq(sh("sqlite3 " .. T.q(path) .. [[ "PRAGMA writable_schema=ON;
    UPDATE sqlite_master SET sql = replace(sql, 'CHECK(status = ''PENDING'' OR status = ''IN_PROGRESS'' OR status = ''DONE'' OR status = ''BLOCKED'')', 'CHECK(status IN (''PENDING'',''IN_PROGRESS'',''DONE'',''BLOCKED''))') WHERE name = 'reqs';
    UPDATE sqlite_master SET sql = replace(sql, 'CHECK(status = ''RUNNING'' OR status = ''DONE'' OR status = ''FAILED'' OR status = ''STOPPED'')', 'CHECK(status IN (''RUNNING'',''DONE'',''FAILED'',''STOPPED''))') WHERE name = 'runs';
    PRAGMA writable_schema=OFF; PRAGMA user_version=1;"]]), "")
  T.match(sh("sqlite3 " .. T.q(path) .. " '.schema reqs'"), "CHECK%(status IN %(")
  local reader = assert(ssot.open(path)) -- migrates; a second connection must see the new text
  local writer = assert(ssot.open(path))
  T.eq(writer:req(id).status, "PENDING", "data kept")
  T.ok(writer:claim(id, "a"), "a status change under the new CHECK")
  T.eq(reader:req(id).status, "IN_PROGRESS")
  reader:close()
  writer:close()
  T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA user_version'"), "2\n")
  local schema = sh("sqlite3 " .. T.q(path) .. " .schema")
  T.nomatch(schema, "IN %(")
  T.match(schema, "CHECK%(status = 'PENDING' OR status = 'IN_PROGRESS' OR status = 'DONE' OR status = 'BLOCKED'%)")
  T.match(schema, "CHECK%(status = 'RUNNING' OR status = 'DONE' OR status = 'FAILED' OR status = 'STOPPED'%)")
  T.match(sh("sqlite3 " .. T.q(path) .. " \"UPDATE reqs SET status = 'NOPE'\""), "CHECK constraint failed")
  T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA integrity_check'"), "ok\n")
end)

T.test("ssot-1.4 a read-only file: writes come back as nil, message, readonly", function()
  local dir = T.tmpdir()
  local path = dir .. "/ro.db"
  local db = assert(ssot.open(path))
  local run = db:create_run { requirement = "x" }
  db:close()
  sh("chmod 0444 " .. T.q(path))
  db = assert(ssot.open(path))
  T.defer(function() db:close() end)
  T.eq(db:run(run.id).requirement, "x", "reads work")
  local ok, err, code = db:event(run.id, "me", "note", { a = 1 })
  if sh("id -u") == "0\n" then return end -- root writes anyway
  T.eq(ok, nil)
  T.eq(code, "readonly")
  T.match(err, "^ssot: attempt to write a readonly database")
  T.eq(#db:events(run.id, { kind = "note" }), 0)
end)

T.test("ssot-1.5 a corrupted file: nil, message, corrupt (never a crash)", function()
  local path = T.tmpdir() .. "/c.db"
  local db = assert(ssot.open(path))
  local run = db:create_run { requirement = "x" }
  db:tx(function() for i = 1, 300 do db:add_req(run.id, { description = "task number " .. i }) end end)
  db:close()
  -- baton leaves the WAL in place on close; fold it into the file to corrupt that
  T.eq(sh("sqlite3 " .. T.q(path) .. " 'PRAGMA wal_checkpoint(TRUNCATE)'"), "0|0|0\n")
  local f = assert(io.open(path, "r+b"))
  for page = 2, 12 do
    f:seek("set", page * 4096)
    f:write(string.rep("\xA5", 4096))
  end
  f:close()
  db = assert(ssot.open(path))
  T.defer(function() db:close() end)
  local ok, err, code = db:reqs(run.id)
  T.eq(ok, nil)
  T.eq(err, "ssot: database disk image is malformed")
  T.eq(code, "corrupt")
  ok, err, code = db:add_req(run.id, { description = "more" })
  T.eq(code, "corrupt")
end)

T.test("ssot-2.1 runs: create, get by prefix, latest, list, update", function()
  local db, run = fresh()
  T.match(run.id, "^run[0-9a-z]+$")
  T.eq(run.status, "RUNNING")
  T.eq(run.iteration, 0)
  T.eq(run.retry_used, 0)
  T.eq(run.retry_max, 3)
  T.eq(run.models.coder, "offline")
  T.eq(run.budgets.usd, 1.5)
  T.eq(run.spent.tokens, 0)
  T.eq(math.type(run.budgets.tokens), "integer", "JSON integers come back as integers")
  T.eq(math.type(run.budgets.usd), "float")
  T.eq(db:req(run.root).description, "build a thing", "the root requirement")
  local run2 = db:create_run { requirement = "second", meta = { note = "n" } }
  T.eq(db:latest_run().id, run2.id)
  T.eq(#db:runs(), 2)
  T.eq(db:runs()[1].id, run.id, "oldest first")
  T.eq(db:run(run2.id:sub(1, 8)).meta.note, "n")
  T.eq(db:run("runzzzzzzz"), nil, "unknown run")
  T.eq(db:update_run(run.id, { status = "STOPPED", iteration = 4, retry_used = 2,
    spent = { tokens = 10, usd = 0.5, requests = 1 }, controller_pid = 123,
    meta = { a = { 1, 2 } } }), true)
  local r = db:run(run.id)
  T.eq(r.status, "STOPPED")
  T.eq(r.iteration, 4)
  T.eq(r.spent.usd, 0.5)
  T.eq(r.controller_pid, 123)
  T.eq(r.meta.a[2], 2)
  T.ok(r.updated_at >= r.created_at)
  T.raises(function() db:update_run(run.id, { status = "WEIRD" }) end,
    "invalid run status 'WEIRD' (RUNNING, DONE, FAILED or STOPPED)")
  T.raises(function() db:update_run(run.id, { colour = 1 }) end, "unknown run field 'colour'")
  T.raises(function() db:update_run(run.id, { iteration = 1.5 }) end,
    "run field 'iteration' must be an integer, got number")
  T.raises(function() db:update_run("nope", { iteration = 1 }) end, "unknown run 'nope'")
  T.raises(function() db:create_run {} end, "a run needs a requirement (a non-empty string)")
  T.raises(function() db:create_run { requirement = "x", models = { f = print } } end,
    "run option 'models': cannot encode a function value as JSON")
end)

T.test("ssot-2.2 the action history, newest last", function()
  local db, run = fresh()
  for i = 1, 5 do
    T.eq(db:record_action(run.id, { action = "assign", target = "r" .. i, role = "coder",
      reasoning = "why " .. i, outcome = "ok", detail = { n = i } }), i)
  end
  local all = db:actions(run.id)
  T.eq(#all, 5)
  T.eq(all[5].detail.n, 5)
  local last2 = db:actions(run.id, 2)
  T.eq(#last2, 2)
  T.eq(last2[1].seq, 4)
  T.eq(last2[2].reasoning, "why 5")
  T.raises(function() db:record_action(run.id, { verb = "x" }) end, "unknown action field 'verb'")
end)

T.test("ssot-3.1 requirements: add, get, list by status and parent, prefixes", function()
  local db, run = fresh()
  local a = db:add_req(run.id, { description = "A", acceptance = { "compiles", "tests pass" },
    role = "coder" })
  local b = db:add_req(run.id, { parent = a, description = "B", deps = { a } })
  T.match(a, "^r[0-9a-z]+$")
  T.ok(#a <= 7, "short ids")
  local ra = db:req(a)
  T.eq(ra.parent, run.root, "default parent is the root")
  T.eq(ra.acceptance[2], "tests pass")
  T.eq(ra.role, "coder")
  T.eq(ra.status, "PENDING")
  T.eq(ra.lease_epoch, 0)
  T.eq(#ra.deps, 0)
  T.eq(db:req(b).deps[1], a)
  T.eq(db:req(b).parent, a)
  T.eq(#db:reqs(run.id), 3)
  T.eq(#db:reqs(run.id, { parent = a }), 1)
  T.eq(#db:reqs(run.id, { status = "DONE" }), 0)
  T.eq(db:req("rzzzzzzz"), nil)
  -- a unique prefix works; an ambiguous one names the matches
  local p = a
  while true do
    local n = 0
    for _, r in ipairs(db:reqs(run.id)) do if r.id:sub(1, #p - 1) == p:sub(1, -2) then n = n + 1 end end
    if n > 1 or #p == 2 then break end
    p = p:sub(1, -2)
  end
  T.eq(db:req(p).id, a)
  local ids = {}
  for _, r in ipairs(db:reqs(run.id)) do ids[#ids + 1] = r.id end
  table.sort(ids)
  T.raises(function() db:req("r") end, "ambiguous id prefix 'r' (matches " .. table.concat(ids, ", ") .. ")")
  T.raises(function() db:set_status("nope", "DONE") end, "unknown requirement 'nope'")
  T.eq(db:set_description(a, "A, clarified"), true)
  T.eq(db:req(a).description, "A, clarified")
  T.eq(db:set_transcript(a, '[{"role":"user"}]'), true)
  T.eq(db:req(a).transcript, '[{"role":"user"}]')
  T.raises(function() db:set_description(a, "") end, "a description must be a non-empty string")
  T.raises(function() db:add_req(run.id, { description = "" }) end,
    "a requirement needs a description (a non-empty string)")
  T.raises(function() db:add_req(run.id, { description = "x", acceptance = "one" }) end,
    "requirement option 'acceptance' must be a table, got string")
  T.raises(function() db:add_req(run.id, { description = "x", acceptance = { 1 } }) end,
    "acceptance[1] must be a string, got number")
  T.raises(function() db:add_req(run.id, { description = "x", colour = 1 }) end,
    "unknown requirement option 'colour'")
  T.raises(function() db:reqs(run.id, { status = "LATE" }) end,
    "invalid status 'LATE' (PENDING, IN_PROGRESS, DONE or BLOCKED)")
end)

T.test("ssot-3.2 ready set: PENDING with every dependency DONE", function()
  local db, run = fresh()
  local function ready()
    local s = {}
    for _, r in ipairs(db:ready(run.id)) do s[#s + 1] = r.description end
    return table.concat(s, ",")
  end
  local a = db:add_req(run.id, { description = "a", acceptance = { "x" } })
  local b = db:add_req(run.id, { description = "b", acceptance = { "x" } })
  local c = db:add_req(run.id, { description = "c", deps = { a, b } })
  db:add_req(run.id, { description = "d", deps = { c } })
  T.eq(ready(), "build a thing,a,b")
  local l = assert(db:claim(a, "x"))
  T.eq(ready(), "build a thing,b")
  db:complete(a, "x", l.epoch, "DONE")
  T.eq(ready(), "build a thing,b")
  l = assert(db:claim(b, "x"))
  db:complete(b, "x", l.epoch, "BLOCKED")
  T.eq(ready(), "build a thing")
  db:set_status(b, "PENDING")
  l = assert(db:claim(b, "y"))
  db:complete(b, "y", l.epoch, "DONE")
  T.eq(ready(), "build a thing,c")
end)

-- Puts a fresh requirement into status s by the legal doors.
local function node_in(db, run, s)
  local id = db:add_req(run.id, { description = "n", acceptance = { "x" } })
  if s == "PENDING" then return id end
  local l = assert(db:claim(id, "ag"))
  if s == "IN_PROGRESS" then return id end
  if s == "DONE" then db:complete(id, "ag", l.epoch, "DONE") end
  if s == "BLOCKED" then db:set_status(id, "BLOCKED") end
  return id
end

T.test("ssot-4.1 the transition table, exhaustively, through set_status", function()
  local db, run = fresh()
  local S = { "PENDING", "IN_PROGRESS", "DONE", "BLOCKED" }
  local legal = { ["IN_PROGRESS>DONE"] = true, ["IN_PROGRESS>BLOCKED"] = true,
    ["IN_PROGRESS>PENDING"] = true, ["BLOCKED>PENDING"] = true }
  local why = { ["PENDING>IN_PROGRESS"] = " (only a claim starts a task)",
    ["DONE>PENDING"] = " (only a rollback reopens a DONE task)" }
  for _, from in ipairs(S) do
    for _, to in ipairs(S) do
      local id = node_in(db, run, from)
      local k = from .. ">" .. to
      if legal[k] then
        T.eq(db:set_status(id, to, { by = "boss", reason = "test" }), true, k)
        local r = db:req(id)
        T.eq(r.status, to, k)
        T.eq(r.status_by, "boss", k)
        T.ok(r.status_at > 0, k)
        local ev = db:events(run.id, { kind = "status" })
        ev = ev[#ev]
        T.eq(ev.payload.id .. ev.payload.from .. ev.payload.to .. ev.actor,
          id .. from .. to .. "boss", "journaled " .. k)
      else
        T.raises(function() db:set_status(id, to) end,
          "illegal transition for " .. id .. ": " .. from .. " -> " .. to .. (why[k] or ""))
        T.eq(db:req(id).status, from, "unchanged " .. k)
      end
    end
  end
  T.raises(function() db:set_status(run.root, "FINISHED") end,
    "invalid status 'FINISHED' (PENDING, IN_PROGRESS, DONE or BLOCKED)")
  T.raises(function() db:set_status(run.root, "DONE", { who = 1 }) end,
    "unknown set_status option 'who'")
end)

T.test("ssot-4.2 the transition table through claim and complete", function()
  local db, run = fresh()
  for _, from in ipairs { "IN_PROGRESS", "DONE", "BLOCKED" } do
    local id = node_in(db, run, from)
    local ok, err, code = db:claim(id, "other")
    T.eq(ok, nil)
    T.eq(err, "cannot claim " .. id .. ": it is " .. from)
    T.eq(code, "not_pending")
  end
  for _, to in ipairs { "DONE", "BLOCKED", "PENDING", "IN_PROGRESS" } do
    local id = node_in(db, run, "PENDING")
    local l = assert(db:claim(id, "ag"))
    T.eq(l.epoch, 1)
    T.eq(l.holder, "ag")
    if to == "IN_PROGRESS" then
      T.raises(function() db:complete(id, "ag", l.epoch, to) end,
        "illegal transition for " .. id .. ": IN_PROGRESS -> IN_PROGRESS")
    else
      T.eq(db:complete(id, "ag", l.epoch, to, "because"), true)
      local r = db:req(id)
      T.eq(r.status, to)
      T.eq(r.assignee, "ag")
      T.eq(r.lease_holder, nil, "the lease ends")
    end
  end
  local id = node_in(db, run, "IN_PROGRESS")
  db:set_status(id, "BLOCKED")
  local ev = db:events(run.id, { kind = "status" })
  T.eq(ev[#ev].payload.to, "BLOCKED")
  T.eq(ev[#ev].payload.reason, nil, "no reason, no key (not cjson.null)")
  T.eq(ev[#ev].actor, "controller", "the default actor of set_status")
end)

T.test("ssot-4.3 leases: epochs grow, a lost lease cannot complete, dead holders released", function()
  local db, run = fresh()
  local id = node_in(db, run, "PENDING")
  local dep = db:add_req(run.id, { description = "after", deps = { id } })
  local ok, err, code = db:claim(dep, "x")
  T.eq(err, "cannot claim " .. dep .. ": dependency " .. id .. " is PENDING")
  T.eq(code, "deps_not_done")
  local l1 = assert(db:claim(id, "a"))
  T.eq(db:heartbeat(id, "a", l1.epoch), true)
  T.eq(db:release_claims(run.id), 1)
  T.eq(db:req(id).lease_epoch, 2, "release bumps the epoch")
  local l2 = assert(db:claim(id, "b"))
  T.eq(l2.epoch, 3)
  ok, err, code = db:complete(id, "a", l1.epoch, "DONE")
  T.eq(ok, nil)
  T.eq(err, "lease lost on " .. id .. ": held by b at epoch 3")
  T.eq(code, "lease_lost")
  ok, err, code = db:complete(id, "b", l1.epoch, "DONE")
  T.eq(code, "lease_lost", "same holder, old epoch")
  T.eq(select(3, db:heartbeat(id, "a", l1.epoch)), "lease_lost")
  T.eq(db:complete(id, "b", l2.epoch, "DONE"), true)
  ok, err = db:complete(id, "b", l2.epoch, "DONE")
  T.eq(err, "lease lost on " .. id .. ": the task is DONE now")
  -- dead_only releases the claims of a pid that is gone, keeps live ones
  local dead = tonumber(sh("sh -c 'echo $$'"))
  local x = node_in(db, run, "PENDING")
  local y = node_in(db, run, "PENDING")
  assert(db:claim(x, "gone", { pid = dead }))
  assert(db:claim(y, "here"))
  T.eq(db:release_claims(run.id, { dead_only = true }), 1)
  T.eq(db:req(x).status, "PENDING")
  T.eq(db:req(y).status, "IN_PROGRESS")
  T.eq(db:req(y).lease_pid, sys.pid())
  local ev = db:events(run.id, { kind = "status" })
  T.eq(ev[#ev].payload.reason, "holder died")
  T.raises(function() db:claim(x, "") end, "a claim needs an agent name")
  T.raises(function() db:claim(x, "a", { pid = "me" }) end, "option 'pid' must be a number, got string")
end)

T.test("ssot-5.1 dependencies: unknown ids, cycles named, other runs refused", function()
  local db, run = fresh()
  local a = db:add_req(run.id, { description = "a" })
  local b = db:add_req(run.id, { description = "b", deps = { a } })
  local c = db:add_req(run.id, { description = "c", deps = { b } })
  T.raises(function() db:add_req(run.id, { description = "x", deps = { "rnope" } }) end,
    "unknown requirement 'rnope'")
  T.eq(#db:reqs(run.id), 4, "nothing half-added")
  T.raises(function() db:add_dep(a, c) end, "dependency cycle: " .. a .. " -> " .. c .. " -> " ..
    b .. " -> " .. a)
  T.raises(function() db:add_dep(a, a) end, "dependency cycle: " .. a .. " -> " .. a)
  T.eq(db:add_dep(c, a), true, "a diamond is fine")
  T.eq(#db:req(c).deps, 2)
  local other = db:create_run { requirement = "other" }
  local o = db:add_req(other.id, { description = "o" })
  T.raises(function() db:add_dep(a, o) end,
    "dependency " .. o .. " belongs to another run (" .. other.id .. ")")
  T.raises(function() db:add_req(run.id, { description = "x", deps = { 5 } }) end,
    "deps[1] must be a string, got number")
end)

T.test("ssot-6.1 contracts and the validator", function()
  local db, run, dir = fresh()
  local ws = dir .. "/ws"
  os.execute("mkdir -p " .. T.q(ws .. "/src"))
  T.write(ws .. "/src/there.c", "int x;\n")
  local a = node_in(db, run, "DONE")
  local b = node_in(db, run, "PENDING")
  T.eq(db:add_contract(run.id, { name = "parse", kind = "function", owner = a,
    spec = { signature = "int parse(const char *)", args = { "s" } } }), 1)
  db:add_contract(run.id, { name = "parse", kind = "function", owner = b,
    spec = { args = { "s" }, signature = "int parse(const char *)" } })
  db:add_contract(run.id, { name = "there", kind = "file", owner = a, spec = { path = "src/there.c" } })
  T.eq(db:validate(run.id, ws).valid, true, "same spec twice, key order aside; files exist")
  T.eq(#db:contracts(run.id), 3)
  T.eq(db:contract(run.id, "there").spec.path, "src/there.c")
  T.eq(db:contract(run.id, "none"), nil)
  db:add_contract(run.id, { name = "parse", kind = "function", owner = b, spec = { args = { "t" } } })
  db:add_contract(run.id, { name = "missing", kind = "file", owner = a,
    spec = { files = { "src/there.c", "src/gone.c" } } })
  db:add_contract(run.id, { name = "escape", kind = "file", owner = a, spec = { file = "../x" } })
  db:add_contract(run.id, { name = "later", kind = "file", owner = b, spec = { path = "nope.c" } })
  local c = node_in(db, run, "PENDING")
  local l = assert(db:claim(c, "z"))
  db:complete(c, "z", l.epoch, "DONE")
  local rc = db:add_req(run.id, { description = "no criteria" })
  l = assert(db:claim(rc, "z"))
  db:complete(rc, "z", l.epoch, "DONE")
  local v = db:validate(run.id, ws)
  T.eq(v.valid, false)
  local got = {}
  for _, x in ipairs(v.violations) do got[#got + 1] = x.kind .. ": " .. x.message end
  T.eq(table.concat(got, "\n"), table.concat({
    "conflicting_spec: contract 'parse' is registered with different specs (owners: " .. a .. "," .. b .. ")",
    "bad_path: contract 'escape' of " .. a .. " names '../x', which is outside the workspace",
    "missing_file: contract 'missing' of DONE " .. a .. " names 'src/gone.c', which does not exist in the workspace",
    "no_acceptance: " .. rc .. " is DONE but has no acceptance criteria",
  }, "\n"))
  T.eq(v.violations[3].path, "src/gone.c")
  T.eq(v.violations[4].node, rc)
  T.raises(function() db:add_contract(run.id, { name = "x" }) end, "a contract needs a name and a kind")
  T.raises(function() db:add_contract(run.id, { name = "x", kind = "cli", owner = "rnope" }) end,
    "unknown requirement 'rnope'")
end)

T.test("ssot-7.1 snapshot and restore round trip", function()
  local db, run = fresh()
  local a = node_in(db, run, "DONE")
  local b = node_in(db, run, "BLOCKED")
  local c = node_in(db, run, "IN_PROGRESS")
  db:add_contract(run.id, { name = "k", kind = "http", owner = a, spec = { url = "/x" } })
  db:update_run(run.id, { spent = { tokens = 5, usd = 0.1, requests = 1 } })
  local before = {}
  for _, r in ipairs(db:reqs(run.id)) do before[r.id] = r end
  local sid = db:snapshot(run.id, "before change", "ws-ref-1")
  T.eq(sid, 1)
  -- change everything
  db:set_status(b, "PENDING")
  local lb = assert(db:claim(b, "q"))
  db:complete(b, "q", lb.epoch, "DONE")
  local lc = db:req(c)
  db:complete(c, "ag", lc.lease_epoch, "DONE")
  db:set_description(a, "rewritten")
  local d = db:add_req(run.id, { description = "new", deps = { a } })
  db:add_contract(run.id, { name = "k2", kind = "cli", owner = d, spec = {} })
  db:add_contract(run.id, { name = "k3", kind = "cli", owner = a, spec = {} })
  T.eq(db:restore(run.id, sid), "ws-ref-1")
  T.eq(db:req(d), nil, "a later requirement is gone")
  T.eq(db:req(a).description, "n")
  T.eq(db:req(a).status, "DONE")
  T.eq(db:req(b).status, "BLOCKED", "DONE -> BLOCKED by rollback")
  T.eq(db:req(c).status, "PENDING", "a claim does not survive a rollback")
  T.ok(db:req(c).lease_epoch > lc.lease_epoch, "the old holder's epoch is dead")
  T.eq(select(3, db:complete(c, "ag", lc.lease_epoch, "DONE")), "lease_lost")
  for id, r in pairs(before) do
    if id ~= c then
      local now = db:req(id)
      T.eq(now.status, r.status, id)
      T.eq(now.assignee, r.assignee, id)
    end
  end
  local ks = db:contracts(run.id)
  T.eq(#ks, 1)
  T.eq(ks[1].name .. ks[1].owner .. ks[1].spec.url, "k" .. a .. "/x")
  local snaps = db:snapshots(run.id)
  T.eq(#snaps, 1)
  T.eq(snaps[1].label, "before change")
  T.eq(snaps[1].spent.tokens, 5, "budget used is captured")
  local ev = db:events(run.id, { kind = "restore" })
  T.eq(ev[1].payload.snapshot, 1)
  -- forward again: a snapshot taken after d existed brings d back after a rollback removed it
  local d2 = db:add_req(run.id, { description = "d2", deps = { a }, acceptance = { "y" } })
  local l2 = assert(db:claim(d2, "w"))
  db:complete(d2, "w", l2.epoch, "DONE")
  local s2 = db:snapshot(run.id, "with d2", "ws-ref-2")
  T.eq(db:restore(run.id, sid), "ws-ref-1")
  T.eq(db:req(d2), nil)
  T.eq(db:restore(run.id, s2), "ws-ref-2")
  local back = db:req(d2)
  T.eq(back.status .. back.description .. back.deps[1] .. back.acceptance[1] .. back.parent,
    "DONE" .. "d2" .. a .. "y" .. run.root)
  T.raises(function() db:restore(run.id, 99) end, "unknown snapshot 99 of run " .. run.id)
  T.eq(db:restore(run.id, db:snapshot(run.id, "no ref")), false)
end)

T.test("ssot-7.2 db:snapshots reads spent from the tail of the state, whatever it holds", function()
  local db, run = fresh()
  db:add_req(run.id, { description = 'a "spent":{"x":1} look-alike', acceptance = { '},"spent":{' } })
  local cases = {
    { tokens = 7, usd = 0.25, note = 'quotes " and \\ and "spent":{ inside' },
    -- a "spent" member inside spent: the cut fails its check, json_extract answers
    { spent = { iteration = 1 }, deep = { a = { b = {} } } },
    { spent = { x = 1 }, iteration = 2 },
  }
  for i, spent in ipairs(cases) do
    db:update_run(run.id, { spent = spent, iteration = 10 * i, retry_used = i })
    db:snapshot(run.id, "s" .. i, nil)
  end
  local snaps = db:snapshots(run.id)
  T.eq(#snaps, 3)
  T.eq(snaps[1].spent.tokens .. " " .. snaps[1].spent.usd .. " " .. snaps[1].spent.note,
    '7 0.25 quotes " and \\ and "spent":{ inside')
  T.eq(snaps[2].spent.spent.iteration, 1)
  T.eq(next(snaps[2].spent.deep.a.b), nil)
  T.eq(snaps[3].spent.spent.x .. " " .. snaps[3].spent.iteration, "1 2")
end)
