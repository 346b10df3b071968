-- tests/lua/test_ssot_journal.lua: baton.ssot's journal on real SQLite
-- files, in one process: order, payloads (byte for byte, JSON columns),
-- seqs across connections and rollbacks, the LLM ledger and bad input.
-- (Split from test_ssot.lua, which holds the rest of the one-process tests.)
local T = ...
local ssot = require "baton.ssot"
local F = dofile(T.src .. "/tests/support/ssot_fixture.lua")
local function fresh(opts) return F.fresh(T, opts) end
local sh = F.sh

T.test("ssot-8.1 the journal: order, since, kind, limit, same transaction", function()
  local db, run = fresh()
  local first = #db:events(run.id)
  for i = 1, 20 do
    T.eq(db:event(run.id, "tester", i % 2 == 0 and "even" or "odd", { i = i, list = { i } }), first + i)
  end
  local all = db:events(run.id)
  for i = 2, #all do T.eq(all[i].seq, all[i - 1].seq + 1, "contiguous") end
  T.eq(#db:events(run.id, { kind = "even" }), 10)
  local since = db:events(run.id, { since = first + 15 })
  T.eq(#since, 5)
  T.eq(math.type(since[1].payload.i), "integer")
  T.eq(since[1].payload.list[1], 16)
  T.eq(#db:events(run.id, { since = first, limit = 3 }), 3)
  T.eq(db:events(run.id, { kind = "odd", limit = 1 })[1].actor, "tester")
  -- rolled back together with the change it records
  local n = #db:events(run.id)
  local ok = pcall(db.tx, db, function()
    db:set_status(node_in(db, run, "IN_PROGRESS"), "DONE")
    error("abort")
  end)
  T.eq(ok, false)
  T.eq(#db:events(run.id), n, "no event outlives its rolled-back change")
  T.eq(#db:reqs(run.id), 1)
  T.eq(select(2, db:tx(function(x) return x, 7 end, "v")), 7, "tx returns fn's results")
  -- nested: an inner failure caught inside rolls back the inner part only
  db:tx(function()
    db:event(run.id, "outer", "keep")
    T.eq(pcall(db.tx, db, function()
      db:event(run.id, "inner", "drop")
      error("inner fails")
    end), false)
    db:event(run.id, "outer", "keep")
  end)
  T.eq(#db:events(run.id, { kind = "keep" }), 2)
  T.eq(#db:events(run.id, { kind = "drop" }), 0)
  T.raises(function() db:event(run.id, "a", "k", { f = io.stdout }) end,
    "event payload: cannot encode a userdata value as JSON")
  T.raises(function() db:event(run.id, "a", "k", { [true] = 1 }) end,
    "event payload: cannot encode a table with non-string keys as JSON")
  T.raises(function() db:event(run.id, "a", "") end, "an event needs a kind")
  T.raises(function() db:events(run.id, { since = "x" }) end,
    "events option 'since' must be an integer, got string")
  local t = {} t.t = t
  T.raises(function() db:event(run.id, "a", "k", t) end,
    "event payload: table nested too deeply (a cycle?) for JSON")
  T.raises(function() db:tx(function() db:close() end) end, "attempt to use a closed ssot database")
end)

T.test("ssot-8.5 status payloads are byte for byte what json_object writes, whatever the reason", function()
  local db, run, dir = fresh()
  local reasons = { "claim-like", 'a "quoted" reason', "back\\slash", "tab\tand\nline", "ctl\1\31",
    "del\127 and caf\195\169 \240\159\152\128", string.rep("long ", 300), "" }
  for _, reason in ipairs(reasons) do
    local id = db:add_req(run.id, { description = "n" })
    local l = assert(db:claim(id, "agent"))
    assert(db:complete(id, "agent", l.epoch, "BLOCKED", reason))
    db:set_status(id, "PENDING") -- no reason
  end
  local got = db:events(run.id, { kind = "status" })
  T.eq(#got, 3 * #reasons)
  for i, reason in ipairs(reasons) do
    T.eq(got[3 * i - 1].payload.reason, reason)
    T.eq(got[3 * i - 2].payload.reason .. " " .. got[3 * i].payload.to, "claim PENDING")
  end
  local path = dir .. "/.baton/baton.db"
  T.eq(sh("sqlite3 " .. T.q(path) .. [[ "SELECT count(*), sum(payload IS CASE WHEN json_type(payload,
    '$.reason') IS NULL THEN json_object('id', payload->>'id', 'from', payload->>'from', 'to',
    payload->>'to') ELSE json_object('id', payload->>'id', 'from', payload->>'from', 'to',
    payload->>'to', 'reason', payload->>'reason') END) FROM events WHERE kind = 'status'"]]),
    string.format("%d|%d\n", 3 * #reasons, 3 * #reasons))
end)

T.test("ssot-8.6 event payloads around the binding's 512-byte buffer come back whole", function()
  local db, run = fresh()
  for k = 500, 506 do -- texts of k + 8 bytes: {"s":"x...x"}
    local seq = db:event(run.id, "t", "long", { s = string.rep("x", k) })
    T.eq(#db:events(run.id, { since = seq - 1 })[1].payload.s, k)
  end
  T.eq(#db:events(run.id, { kind = "long" }), 7)
end)

T.test("ssot-8.2 a run created and journaled in a rolled-back transaction is unknown after", function()
  local db = fresh()
  local id
  T.raises(function()
    db:tx(function()
      id = db:create_run { requirement = "gone" }.id
      T.eq(db:event(id, "tester", "note", {}), #db:events(id), "resolved (and remembered) inside")
      error("undo", 0)
    end)
  end, "undo")
  T.raises(function() db:event(id, "tester", "note", {}) end, "unknown run '" .. id .. "'")
  local kept = db:create_run { requirement = "kept" }.id
  local n = #db:events(kept)
  T.eq(db:event(kept, "tester", "note", {}), n + 1)
  T.eq(db:event(kept, "tester", "note", {}), n + 2, "the remembered id")
end)

T.test("ssot-9.1 the LLM ledger: rows, reuse of completed calls, totals", function()
  local db, run = fresh()
  db:llm_record(run.id, { agent = "a1", role = "coder", model = "m1", input_tokens = 100,
    output_tokens = 10, cost = 0.5, latency = 1.5, attempt = 1, status = "error", key = "k1" })
  T.eq(db:llm_lookup(run.id, "k1"), nil, "a failed call is not reused")
  db:llm_record(run.id, { agent = "a1", role = "coder", model = "m1", input_tokens = 100,
    output_tokens = 20, cost = 0.5, latency = 1, attempt = 2, status = "ok", key = "k1",
    response = '{"text":"hi"}' })
  db:llm_record(run.id, { agent = "a2", role = "tester", model = "m2", input_tokens = 7,
    output_tokens = 3, cost = 0.25, status = "ok", key = "k2", response = "r2" })
  T.eq(db:llm_lookup(run.id, "k1"), '{"text":"hi"}')
  local t = db:llm_totals(run.id)
  T.eq(t.calls, 3)
  T.eq(t.input_tokens, 207)
  T.eq(t.output_tokens, 33)
  T.eq(t.cost, 1.25)
  local by = db:llm_totals(run.id, "agent")
  T.eq(by.a1.calls, 2)
  T.eq(by.a2.output_tokens, 3)
  T.eq(db:llm_totals(run.id, "model").m1.cost, 1.0)
  T.eq(db:llm_totals(db:create_run { requirement = "y" }.id).calls, 0)
  T.raises(function() db:llm_totals(run.id, "colour") end,
    "llm_totals groups by 'agent', 'model' or 'role', not 'colour'")
  T.raises(function() db:llm_record(run.id, { tokens = 1 }) end, "unknown llm_record field 'tokens'")
  T.raises(function() db:llm_record(run.id, { cost = "cheap" }) end,
    "llm_record field 'cost' must be a number, got string")
end)

T.test("ssot-10.1 wrong types raise naming the culprit", function()
  local db, run = fresh()
  T.raises(function() db.runs(42) end, "bad argument #1 to 'runs' (baton.ssot.db expected, got number)")
  T.raises(function() db.event(io.stdout, "r", "a", "k") end,
    "bad argument #1 to 'event' (baton.ssot.db expected, got FILE*)")
  T.raises(function() db.tx(setmetatable({}, getmetatable(db)), print) end,
    "bad argument #1 to 'tx' (baton.ssot.db expected, got baton.ssot.db)") -- as luaL_checkudata says
  T.raises(function() db:add_req(run.id, "desc") end,
    "bad argument #2 to 'add_req' (table expected, got string)")
  T.raises(function() db:claim(run.root) end, "bad argument #2 to 'claim' (string expected, got no value)")
  T.raises(function() db:complete(run.root, "a", "one", "DONE") end,
    "bad argument #3 to 'complete' (number expected, got string)")
  T.raises(function() db:tx("not a function") end, "bad argument #1 to 'tx' (function expected, got string)")
  T.raises(function() db:add_req(run.id, { description = "x", [1] = "y" }) end,
    "unknown requirement option 'number'")
end)

local loop = require "baton.loop"

T.test("ssot-8.3 journal seqs stay dense across two connections, rollbacks and the group", function()
  local db, run, dir = fresh()
  local other <close> = assert(ssot.open(dir .. "/.baton/baton.db"))
  local function ev(c, kind) return assert(c:event(run.id, "a", kind, {})) end
  local function undone(c) -- a unit whose journal row is rolled back
    T.eq(select(2, pcall(c.tx, c, function() ev(c, "gone") error("undo", 0) end)), "undo")
  end
  for _ = 1, 3 do
    ev(db, "x")
    ev(other, "x") -- the first connection's cached seq must not survive this
    undone(db)
    db:tx(function() ev(db, "y") ev(db, "y") end)
  end
  db:group(true)
  local r = loop.wait_all { loop.spawn(function()
    ev(db, "g")
    undone(db)
    ev(db, "g")
  end) }
  T.eq(r[1].err, nil)
  ev(other, "after")
  local evs = other:events(run.id)
  for i, e in ipairs(evs) do T.eq(e.seq, i, "dense and in order") end
  T.eq(#other:events(run.id, { kind = "gone" }), 0)
  T.eq(evs[#evs].kind, "after")
end)

T.test("ssot-8.4 JSON columns: exact text stored, values read back as stored, bad text stays text", function()
  local db, run, dir = fresh()
  local path = dir .. "/.baton/baton.db"
  local seq = db:event(run.id, "t", "json", { b = 1, a = { 1.5, 16.0, -0.0, "q\"\\\n\1\127é" }, c = false,
    ["é"] = 2 ^ 53, d = 0.1, e = {}, f = { z = 1, y = { x = true } } })
  T.eq(sh("sqlite3 " .. T.q(path) .. " \"SELECT payload FROM events WHERE seq = " .. seq .. "\""),
    [[{"a":[1.5,16,-0,"q\"\\\u000a\u0001\u007fé"],"b":1,"c":false,"d":0.1,"e":{},]]
      .. [["f":{"y":{"x":true},"z":1},"é":9007199254740992}]] .. "\n")
  local p = db:events(run.id, { kind = "json" })[1].payload
  T.eq(p.a[1], 1.5)
  T.eq(math.type(p.a[2]), "integer", "an integral float comes back as an integer")
  T.eq(p.a[4], "q\"\\\n\1\127é")
  T.eq(p.c, false)
  T.eq(p.f.y.x, true)
  T.eq(math.type(p["é"]), "integer")
  T.eq(p.d, 0.1)
  T.eq(next(p.e), nil)
  -- rows written by something else: escapes, null, exponents, text that is not JSON
  local sql = T.tmpdir() .. "/raw.sql"
  local f = assert(io.open(sql, "w"))
  for i, text in ipairs { [[{"u":"\u00e9\ud83d\ude00\/\t","n":[null,1e3,-2.5e-1,12345678901234567890]}]],
    "[1,2", [["\ud800"]], '  [ true , "x" ]  ', "", "{\"a\":1,\"a\":2}" } do
    f:write(("INSERT INTO events(run, seq, time, kind, payload) VALUES('%s', %d, 0, 'raw', '%s');\n")
      :format(run.id, seq + i, text))
  end
  f:close()
  T.eq(sh("sqlite3 " .. T.q(path) .. " < " .. T.q(sql)), "")
  local raw = db:events(run.id, { kind = "raw" })
  T.eq(#raw, 6)
  T.eq(raw[1].payload.u, "é😀/\t")
  local n = raw[1].payload.n
  T.eq(type(n[1]), "userdata", "null is cjson.null")
  T.eq(n[1], require("cjson").null)
  T.eq(math.type(n[2]), "integer")
  T.eq(n[2], 1000)
  T.eq(n[3], -0.25)
  T.eq(math.type(n[4]), "float", "too big for an integer")
  T.eq(raw[2].payload, "[1,2", "not JSON: the text itself")
  T.eq(raw[3].payload, [["\ud800"]], "a lone surrogate is not JSON either")
  T.eq(raw[4].payload[1], true)
  T.eq(raw[4].payload[2], "x")
  T.eq(raw[5].payload, "")
  T.eq(raw[6].payload.a, 2, "the last of duplicate keys wins")
end)
