-- tests/lua/test_ssot_shortcuts.lua: the shortcuts baton.ssot takes on the
-- controller's path give the results the long way gave: the validator
-- without contracts, a snapshot's state (compared with the statement it
-- used before, run by the sqlite3 command on the same file), add_req's
-- remembered parent (per run, forgotten by a restore).
local T = ...

local F = dofile(T.src .. "/tests/support/ssot_fixture.lua")
local function fresh(opts) return F.fresh(T, opts) end
local sh = F.sh

local function done_req(db, run, spec)
  local id = assert(db:add_req(run.id, spec))
  local lease = assert(db:claim(id, "w"))
  assert(db:complete(id, "w", lease.epoch, "DONE"))
  return id
end

T.test("shortcut-1.1 a run without contracts is validated by its criteria alone", function()
  local db, run, dir = fresh()
  local ws = dir .. "/ws"
  os.execute("mkdir -p " .. T.q(ws))
  T.eq(db:validate(run.id, ws).valid, true, "nothing at all")
  done_req(db, run, { description = "has criteria", acceptance = { "works" } })
  local bare = done_req(db, run, { description = "no criteria" })
  -- another run's contracts (a conflict and a missing file) are not this run's
  local other = db:create_run { requirement = "other" }
  local owner = done_req(db, other, { description = "o", acceptance = { "x" } })
  db:add_contract(other.id, { name = "c", kind = "file", owner = owner, spec = { path = "gone.c" } })
  db:add_contract(other.id, { name = "c", kind = "file", owner = owner, spec = { path = "else.c" } })
  local v = db:validate(run.id, ws)
  T.eq(v.valid, false)
  T.eq(#v.violations, 1)
  T.eq(v.violations[1].kind, "no_acceptance")
  T.eq(v.violations[1].message, bare .. " is DONE but has no acceptance criteria")
  local w = db:validate(other.id, ws)
  local kinds = {}
  for _, x in ipairs(w.violations) do kinds[#kinds + 1] = x.kind end
  T.eq(table.concat(kinds, ","), "conflicting_spec,missing_file,missing_file",
    "a run with contracts still gets their checks")
end)

-- The statement snapshot() used before, on the same file.
local function former_state(path, run)
  local sql = ("SELECT json_object("
    .. "'reqs', (SELECT json_group_array(json_object('id', id, 'status', status,"
    .. " 'assignee', assignee, 'description', description, 'acceptance', json(acceptance),"
    .. " 'role', role, 'parent', parent, 'created_at', created_at)) FROM (SELECT * FROM reqs"
    .. " WHERE run = '%s' ORDER BY rowid)),"
    .. "'deps', (SELECT json_group_array(json_array(d.req, d.dep)) FROM deps d JOIN reqs q"
    .. " ON q.id = d.req WHERE q.run = '%s'),"
    .. "'contracts', (SELECT json_group_array(json_object('name', name, 'kind', kind,"
    .. " 'owner', owner, 'spec', json(spec), 'created_at', created_at)) FROM (SELECT *"
    .. " FROM contracts WHERE run = '%s' ORDER BY id)),"
    .. "'spent', json(spent), 'iteration', iteration, 'retry_used', retry_used)"
    .. " FROM runs WHERE id = '%s'"):format(run, run, run, run)
  return (sh("sqlite3 " .. T.q(path) .. " " .. T.q(sql)):gsub("\n$", ""))
end

T.test("shortcut-2.1 a snapshot's state is the text the former statement made", function()
  local db, run, dir = fresh()
  local a = done_req(db, run, { description = "a \"quoted\"\nline", acceptance = { "x", "é" }, role = "backend" })
  local b = assert(db:add_req(run.id, { description = "b", deps = { a }, parent = a }))
  assert(db:add_req(run.id, { description = "c", deps = { a, b } }))
  db:add_contract(run.id, { name = "k", kind = "http", owner = a, spec = { url = "/x", n = 2 } })
  db:add_contract(run.id, { name = "j", kind = "file", spec = { files = { "a", "b" } } })
  db:update_run(run.id, { spent = { tokens = 5, usd = 0.25, requests = 1 }, iteration = 3 })
  local sid = db:snapshot(run.id, "label", "ref")
  T.eq(sid, 1, "the id is the new row's")
  T.eq(db:snapshot(run.id, "again", "ref2"), 2)
  local path = dir .. "/.baton/baton.db"
  local stored = sh("sqlite3 " .. T.q(path) .. " 'SELECT state FROM snapshots WHERE id = 2'"):gsub("\n$", "")
  T.eq(stored, former_state(path, run.id))
  T.match(stored, '"deps":%[%[', "the fixture has dependencies")
  local events = db:events(run.id, { kind = "snapshot" })
  T.eq(events[#events].payload.snapshot, 2, "journaled with its id")
  -- a bare run (no dependencies, no contracts, nothing spent) and odd text
  local bare = db:create_run { requirement = "bare" }
  assert(db:add_req(bare.id, { description = "tab\there, \1 ctl, back\\slash, \"q\", é, 日本",
    acceptance = { "a\nb", "c/d" } }))
  local sid3 = db:snapshot(bare.id, "bare", nil)
  stored = sh("sqlite3 " .. T.q(path) .. " 'SELECT state FROM snapshots WHERE id = " .. sid3 .. "'"):gsub("\n$", "")
  T.eq(stored, former_state(path, bare.id))
  T.match(stored, '"deps":%[%],"contracts":%[%]', "empty lists")
end)

T.test("shortcut-3.1 add_req's remembered parent: per run, forgotten by a restore", function()
  local db, run = fresh()
  local p = assert(db:add_req(run.id, { description = "parent" }))
  local sid = db:snapshot(run.id, "before", "ref")
  local c1 = assert(db:add_req(run.id, { description = "one", parent = p }))
  T.eq(db:req(c1).parent, p)
  local other = db:create_run { requirement = "other" }
  T.raises(function() db:add_req(other.id, { description = "x", parent = p }) end,
    "parent " .. p .. " belongs to another run (" .. run.id .. ")")
  T.eq(db:req(assert(db:add_req(run.id, { description = "two", parent = p }))).parent, p)
  local q = assert(db:add_req(run.id, { description = "later parent" }))
  T.eq(db:req(assert(db:add_req(run.id, { description = "three", parent = q }))).parent, q)
  assert(db:restore(run.id, sid)) -- removes q, which add_req remembers now
  T.raises(function() db:add_req(run.id, { description = "four", parent = q }) end,
    "unknown requirement '" .. q .. "'")
  T.eq(db:req(assert(db:add_req(run.id, { description = "five", parent = p }))).parent, p)
  T.eq(#db:reqs(run.id, { parent = p }), 1, "the restore removed one and two; five is new")
end)

-- Another connection to the same file (a second process, `baton exec`) may
-- restore the run and so delete the parent this one remembers: the add is
-- refused as the long way refuses it (an error raised), not with SQLite's
-- foreign key failure (nil, "ssot: FOREIGN KEY constraint failed").
T.test("shortcut-3.2 a parent another connection removed is refused as unknown", function()
  local db, run, dir = fresh()
  local other <close> = assert(require("baton.ssot").open(dir .. "/.baton/baton.db"))
  local p = assert(db:add_req(run.id, { description = "parent" }))
  local sid = db:snapshot(run.id, "before", "ref")
  local q = assert(db:add_req(run.id, { description = "later parent" }))
  T.eq(db:req(assert(db:add_req(run.id, { description = "one", parent = q }))).parent, q)
  assert(other:restore(run.id, sid)) -- removes q, which db remembers
  T.raises(function() db:add_req(run.id, { description = "two", parent = q }) end,
    "unknown requirement '" .. q .. "'")
  T.eq(db:req(assert(db:add_req(run.id, { description = "three", parent = p }))).parent, p)
  T.eq(#db:reqs(run.id), 3, "the root, p and three")
end)
