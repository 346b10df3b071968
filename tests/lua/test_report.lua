-- tests/lua/test_report.lua: `baton report` and its parts: the line diff,
-- the snapshot store reader, the timeline derived from the journal,
-- collect() on a real SSOT run with real harness snapshots, render() on
-- hostile and on large synthetic data, the command, and the page itself
-- loaded in headless chromium (skipped, and said so, when it is absent).
local T = ...
local cjson = require "cjson"
local harness = require "baton.harness"
local linediff = require "baton.linediff"
local report = require "baton.report"
local snapstore = require "baton.snapstore"
local ssot = require "baton.ssot"
local sys = require "baton.sys"
local S = dofile(T.src .. "/tests/support/report/synth.lua")

T.test("report-1.1 line diff: hunks with context, added and removed counts", function()
  local d = linediff.unified("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nb\nX\nd\ne\nf\ng\nh\ni\nj\nk\n")
  T.eq(table.concat(d.lines, "|"), "@@ -1,6 +1,6 @@| a| b|-c|+X| d| e| f|@@ -8,3 +8,4 @@| h| i| j|+k")
  T.eq(d.added, 2) T.eq(d.removed, 1) T.eq(d.truncated, false)
  T.eq(table.concat(linediff.unified("", "x\ny").lines, "|"), "@@ -1,0 +1,2 @@|+x|+y")
  T.eq(table.concat(linediff.unified("x\n", "").lines, "|"), "@@ -1,1 +1,0 @@|-x")
  T.eq(#linediff.unified("same\n", "same\n").lines, 0, "no change, no hunk")
end)

T.test("report-1.2 line diff: every edit script rebuilds both sides (random cases)", function()
  math.randomseed(7)
  for case = 1, 400 do
    local a, b = {}, {}
    for i = 1, math.random(0, 40) do a[i] = tostring(math.random(1, 4)) end
    for i = 1, math.random(0, 40) do b[i] = tostring(math.random(1, 4)) end
    local ops = linediff.script(a, b, case % 3 == 0 and 2 or 1000)
    local ra, rb = {}, {}
    for _, op in ipairs(ops) do
      if op[1] ~= "+" then ra[#ra + 1] = op[2] end
      if op[1] ~= "-" then rb[#rb + 1] = op[2] end
    end
    T.eq(table.concat(ra, ","), table.concat(a, ","), "old side of case " .. case)
    T.eq(table.concat(rb, ","), table.concat(b, ","), "new side of case " .. case)
  end
end)

T.test("report-1.3 line diff caps: edit distance and output lines", function()
  local a, b = {}, {}
  for i = 1, 50 do a[i] = "a" .. i b[i] = "b" .. i end
  local ops = linediff.script(a, b, 10)
  T.eq(#ops, 100, "past maxd the middle is one replaced block")
  T.eq(ops[1][1] .. ops[50][1] .. ops[51][1], "--+")
  local d = linediff.unified(table.concat(a, "\n"), table.concat(b, "\n"), { max_lines = 20 })
  T.eq(#d.lines, 20) T.eq(d.truncated, true)
end)

local function workspace_with(files)
  local ws = T.tmpdir()
  for path, text in pairs(files) do
    os.execute("mkdir -p " .. T.q((ws .. "/" .. path):match("^(.*)/")))
    T.write(ws .. "/" .. path, text)
  end
  return ws
end

T.test("report-2.1 snapstore reads a real harness snapshot; refusals", function()
  local ws = workspace_with { ["src/a.txt"] = "alpha\n", ["b%\nc.txt"] = "odd name\n" }
  local ref = assert(harness.snapshot(ws))
  local store = ws .. "/.baton/objects"
  local man = assert(snapstore.manifest(store, ref))
  T.eq(man["src/a.txt"].type, "f") T.eq(man["src/a.txt"].size, 6) T.eq(man["src"].type, "d")
  T.eq(snapstore.blob(store, man["src/a.txt"].hash), "alpha\n")
  T.eq(snapstore.blob(store, man["b%\nc.txt"].hash), "odd name\n", "escaped names come back whole")
  local r, err, code = snapstore.manifest(store, "../../etc/passwd")
  T.eq(r, nil) T.eq(err, "snapstore: '../../etc/passwd' is not a SHA-256 hex ref") T.eq(code, "bad_ref")
  r, err, code = snapstore.blob(store, string.rep("0", 64))
  T.eq(err, "snapstore: object 000000000000 is missing from " .. store) T.eq(code, "missing")
  r, err, code = snapstore.manifest(store, man["src/a.txt"].hash)
  T.eq(err, "snapstore: " .. man["src/a.txt"].hash:sub(1, 12) .. " is not a snapshot manifest")
  T.eq(code, "bad_manifest")
end)

T.test("report-3.1 the timeline derived from a journal", function()
  local function ev(seq, time, actor, kind, p) return { seq = seq, time = 100 + time, actor = actor, kind = kind, payload = p } end
  local events = {
    ev(1, 0, "controller", "action.start", { action = "EXECUTE", iteration = 1 }),
    ev(2, 1, "coder", "task.start", { task = "t1", agent = "coder" }),
    ev(3, 4, "coder", "llm", { agent = "coder", model = "m", latency = 2.5, ok = true }),
    ev(4, 7, "coder", "tool", { agent = "coder", task = "t1", tool = "run_command", target = "make", result = "exit 0" }),
    ev(5, 8, "coder", "llm", { agent = "coder", model = "m", reused = true }),
    ev(6, 9, "coder", "task.end", { task = "t1", agent = "coder", status = "DONE" }),
    ev(7, 10, "controller", "action.end", { action = "EXECUTE", ok = false, start = 1 }),
    ev(8, 11, "controller", "snapshot", { label = "commit", snapshot = 2 }),
    ev(9, 12, "tester", "task.start", { task = "t2", agent = "tester" }),
  }
  local lanes, spans = report.timeline(events, 100, 115)
  T.eq(table.concat(lanes, ","), "controller,coder,tester")
  local got = {}
  for _, s in ipairs(spans) do
    got[#got + 1] = string.format("%d %g %g %s %s %s", s[1], s[2], s[3], s[4], s[5], s[6] or "-")
  end
  table.sort(got)
  T.eq(table.concat(got, "\n"), table.concat({
    "1 0 10 action EXECUTE (failed) -",
    "1 11 11 mark snapshot commit -",
    "2 1 9 task t1 DONE t1",
    "2 1.5 4 llm m -",
    "2 4 7 cmd make t1",
    "3 12 15 task t2 (no end) t2",
  }, "\n"), "spans: llm = [time - latency, time], reused calls none, cmd from the previous event")
end)

-- A small run built through the real SSOT API, with real harness snapshots:
-- plan, one task done, a commit snapshot, a second task's write, a failed
-- verification and the rollback that undid that write.
local function real_run(evil)
  local ws = workspace_with { ["src/a.txt"] = "one\ntwo\nthree\n" }
  local db = assert(ssot.open(ws .. "/.baton/baton.db"))
  T.defer(function() db:close() end)
  local run = db:create_run { requirement = "greet" .. evil, workspace = ws, policy = "fsm", team = "default", retry_max = 3 }
  local a = db:add_req(run.id, { parent = run.root, description = "write greet" .. evil, acceptance = { "prints hello" }, role = "backend" })
  local b = db:add_req(run.id, { parent = run.root, description = "write app", deps = { a }, role = "backend" })
  local function step(action, iteration, reasoning, body)
    local seq = db:event(run.id, "controller", "action.start", { action = action, reasoning = reasoning, iteration = iteration })
    local ok, summary = body()
    db:record_action(run.id, { action = action, reasoning = reasoning, outcome = ok and "ok" or "failed", detail = summary })
    db:event(run.id, "controller", "action.end", { action = action, ok = ok, summary = summary, start = seq })
  end
  local function llm(agent, model, tin, tout, cost)
    db:event(run.id, agent, "llm", { agent = agent, model = model, latency = 0.001, ok = true })
    db:llm_record(run.id, { agent = agent, role = agent, model = model, input_tokens = tin, output_tokens = tout,
      cost = cost, latency = 0.5, status = "ok", key = agent .. tin })
  end
  local function snap(label)
    local ref = assert(harness.snapshot(ws))
    local sid = db:snapshot(run.id, label, ref)
    db:event(run.id, "controller", "snapshot", { label = label, snapshot = sid, ref = ref })
    return sid, ref
  end
  step("DECOMPOSE", 1, "nothing planned yet" .. evil, function()
    llm("planner", "offline:plan", 100, 20, 0.001)
    snap("plan")
    return true, "2 task(s) planned"
  end)
  local sid2, ref2
  step("EXECUTE", 2, "run the ready task", function()
    local lease = assert(db:claim(a, "coder"))
    db:event(run.id, "coder", "task.start", { task = a, agent = "coder" })
    llm("coder", "offline:code", 200, 80, 0.002)
    T.write(ws .. "/src/a.txt", "one\n2\nthree\nfour\n")
    T.write(ws .. "/src/new.txt", "new" .. evil .. "\n")
    db:event(run.id, "coder", "tool", { agent = "coder", task = a, tool = "write_file", target = "src/a.txt", result = "wrote 18 bytes to src/a.txt" })
    db:event(run.id, "coder", "tool", { agent = "coder", task = a, tool = "run_command", target = "sh test.sh", result = "exit 0" })
    assert(db:complete(a, "coder", lease.epoch, "DONE", "greet written"))
    db:event(run.id, "coder", "task.end", { task = a, agent = "coder", status = "DONE", reason = "greet written" })
    sid2, ref2 = snap("commit")
    return true, "1 task(s): 1 done"
  end)
  step("VERIFY", 3, "check it", function()
    T.write(ws .. "/src/b.txt", "b\n")
    db:event(run.id, "coder", "tool", { agent = "coder", task = b, tool = "write_file", target = "src/b.txt", result = "wrote 2 bytes to src/b.txt" })
    db:event(run.id, "coder", "tool", { agent = "coder", task = b, tool = "write_file", target = "/etc/x", result = "denied: /etc/x is outside" })
    db:event(run.id, "controller", "tests", { argv = "sh test.sh", code = 1, timed_out = false })
    db:event(run.id, "reviewer", "review", { agent = "reviewer", approved = false, reasons = { "no app" .. evil } })
    db:event(run.id, "controller", "verify", { ok = false, reasons = { "tests failed", "review: no app" } })
    assert(harness.rollback(ws, ref2))
    db:restore(run.id, sid2)
    db:event(run.id, "controller", "rollback", { snapshot = sid2, label = "commit" })
    db:record_action(run.id, { action = "ROLLBACK", outcome = "ok", detail = "tests failed" })
    return false, "verification failed (retry 1 of 3)"
  end)
  return db, run, ws, a, b
end

T.test("report-4.1 collect() on a real SSOT run with harness snapshots", function()
  local db, run, ws, a, b = real_run("")
  local d = report.collect(db, nil, ws)
  T.eq(d.run.id, run.id) T.eq(d.run.requirement, "greet")
  T.eq(#d.tasks, 3, "root and two tasks")
  local byid = {}
  for _, t in ipairs(d.tasks) do byid[t.id] = t end
  T.eq(byid[run.root].root, true) T.eq(byid[a].status, "DONE") T.eq(byid[a].parent, run.root)
  T.eq(byid[b].deps[1], a) T.eq(byid[a].acceptance[1], "prints hello")
  local hist = {}
  for _, h in ipairs(byid[a].history) do hist[#hist + 1] = h.from .. ">" .. h.to end
  T.eq(table.concat(hist, " "), "PENDING>IN_PROGRESS IN_PROGRESS>DONE", "status history from the journal")
  T.eq(table.concat(d.lanes, ","), "controller,planner,coder")
  local kinds = {}
  for _, s in ipairs(d.spans) do kinds[s[4]] = (kinds[s[4]] or 0) + 1 end
  T.eq(kinds.action, 3) T.eq(kinds.task, 1) T.eq(kinds.llm, 2) T.eq(kinds.cmd, 1) T.eq(kinds.mark, 4)
  local acts = {}
  for _, x in ipairs(d.actions) do acts[#acts + 1] = x.action .. ":" .. x.outcome .. ":" .. tostring(x.iteration) end
  T.eq(table.concat(acts, " "), "DECOMPOSE:ok:1 EXECUTE:ok:2 ROLLBACK:ok:nil VERIFY:failed:3")
  T.eq(d.actions[1].reasoning, "nothing planned yet") T.ok(d.actions[4].duration >= 0, "timed from the journal")
  T.eq(#d.usage.agents, 2) T.eq(d.usage.agents[1].name, "coder") T.eq(d.usage.agents[1].input_tokens, 200)
  T.eq(d.usage.models[2].name, "offline:plan") T.eq(d.usage.models[2].cost, 0.001)
  local v = {}
  for _, x in ipairs(d.verifications) do v[#v + 1] = x.kind .. ":" .. tostring(x.ok) .. ":" .. x.iteration end
  T.eq(table.concat(v, " "), "tests:false:3 review:false:3 verify:false:3")
  T.eq(d.verifications[2].reasons[1], "no app")
  T.eq(#d.snapshots, 2) T.eq(d.snapshots[1].files, 1)
  T.eq(d.snapshots[1].note, "first snapshot of the run: no earlier state to compare with")
  local ch = d.snapshots[2].changes
  T.eq(#ch, 2) T.eq(ch[1].path, "src/a.txt") T.eq(ch[1].change, "modified")
  T.eq(table.concat(ch[1].diff, "|"), "@@ -1,3 +1,4 @@| one|-two|+2| three|+four")
  T.eq(ch[2].path, "src/new.txt") T.eq(ch[2].change, "added") T.eq(ch[2].added, 1)
  T.eq(#d.rollbacks, 1) T.eq(d.rollbacks[1].label, "commit")
  T.eq(#d.rollbacks[1].files, 1, "only successful writes after the restored snapshot")
  T.eq(d.rollbacks[1].files[1].path, "src/b.txt") T.eq(d.rollbacks[1].files[1].task, b)
  T.eq(d.counts.events > 20, true)
  T.raises(function() report.collect(db, "nosuchrun", ws) end, "report: no run 'nosuchrun'")
end)

T.test("report-4.2 a missing snapshot store degrades to a note per snapshot", function()
  local db, _, ws = real_run("")
  os.execute("rm -rf " .. T.q(ws .. "/.baton/objects"))
  local d = report.collect(db, nil, ws)
  T.eq(#d.snapshots, 2) T.eq(d.snapshots[1].files, nil)
  T.match(d.snapshots[1].note, "^snapstore: object %x+ is missing from ")
  T.match(report.render(d), "\"baton%-data\"")
end)

T.test("report-4.3 a run with nothing in it yet, and no workspace", function()
  local dir = T.tmpdir()
  local db = assert(ssot.open(dir .. "/baton.db"))
  T.defer(function() db:close() end)
  local run = db:create_run { requirement = "empty" }
  local ref = assert(harness.snapshot(workspace_with { a = "a\n" }))
  db:snapshot(run.id, "orphan", ref)
  local d = report.collect(db, run.id)
  T.eq(#d.tasks, 1) T.eq(#d.spans, 0) T.eq(#d.actions, 0) T.eq(#d.usage.agents, 0)
  T.eq(d.snapshots[1].note, "the run's workspace is unknown")
  T.match(report.render(d), "</html>\n$")
end)

-- The script elements of a page, and the embedded data decoded.
local function scripts(html)
  local opens, closes = 0, 0
  for _ in html:lower():gmatch("<script") do opens = opens + 1 end
  for _ in html:lower():gmatch("</script") do closes = closes + 1 end
  local json = html:match('<script type="application/json" id="baton%-data">(.-)</script>')
  return opens, closes, json and cjson.decode(json)
end

T.test("report-5.1 hostile text cannot break out of the page", function()
  local html = report.render(S.data(20, { hostile = true }))
  local opens, closes, data = scripts(html)
  T.eq(opens, 2, "<script elements") T.eq(closes, 2, "</script tags")
  T.nomatch(html, "<img", "raw markup from the data") T.nomatch(html, "<!%-%-", "comment openers")
  T.eq(data.run.requirement, "make it" .. S.EVIL, "the text round-trips intact")
  T.eq(data.snapshots[2].changes[1].diff[2], "-old" .. S.EVIL)
  T.nomatch(html:match("<script>(.*)</script>"), "innerHTML", "the script never parses data as HTML")
  T.match(html, "Content%-Security%-Policy\" content=\"default%-src 'none'")
end)

T.test("report-5.2 a large run (1,000 tasks, ~10,000 events) renders in reasonable time", function()
  local c0 = sys.clock()
  local data = S.data(1000, { hostile = true })
  local c1 = sys.clock()
  local html = report.render(data)
  local c2 = sys.clock()
  io.stdout:write(string.format("# 1000 tasks, %d events, %d spans: derive %.3fs, render %.3fs, %d bytes\n",
    data.counts.events, #data.spans, c1 - c0, c2 - c1, #html))
  T.ok(data.counts.events >= 9500, "about 10,000 events")
  T.ok(c2 - c1 < 20, "render is a sanity bound, not a benchmark (see bench/report.lua)")
  local _, _, back = scripts(html)
  T.eq(#back.tasks, 1001) T.eq(#back.spans, #data.spans)
end)

T.test("report-6.1 baton report writes the file and prints its path; -o; errors", function()
  local _, run, ws = real_run("")
  local r = T.baton({ "report", "-C", ws })
  T.eq(r.code, 0, "exit (" .. tostring(r.err) .. ")")
  local path = ws .. "/.baton/report-" .. run.id .. ".html"
  T.eq(r.out, path .. "\n")
  T.match(T.read(path), "^<!DOCTYPE html>")
  r = T.baton({ "report", run.id:sub(1, 4), "-o", ws .. "/r.html" }, { cwd = ws })
  T.eq(r.code, 0, "exit (" .. tostring(r.err) .. ")") T.eq(r.out, ws .. "/r.html\n")
  local _, _, d1 = scripts(T.read(path))
  local _, _, d2 = scripts(T.read(ws .. "/r.html"))
  T.eq(d2.run.id, d1.run.id, "same run by prefix") T.eq(#d2.spans, #d1.spans)
  r = T.baton({ "report", "-o", ws .. "/no/such/dir/r.html" }, { cwd = ws })
  T.eq(r.code, 1) T.eq(r.err, "baton: report: cannot write " .. ws .. "/no/such/dir/r.html: No such file or directory\n")
  local empty = T.tmpdir()
  assert(ssot.open(empty .. "/.baton/baton.db")):close()
  r = T.baton({ "report" }, { cwd = empty })
  T.eq(r.code, 2) T.eq(r.err, "baton: no run in this workspace (start one with `baton run`)\n")
  r = T.baton({ "--help" })
  T.match(r.out, "\n  report     write a run's report")
end)

T.test("report-7.1 headless chromium renders the timeline and the tree", function()
  if not io.open(S.CHROMIUM, "r") then io.stdout:write("# skip: chromium not installed\n") return end
  local dir = T.tmpdir()
  local data = S.data(1000, { hostile = true })
  T.write(dir .. "/big.html", report.render(data))
  local res = S.chromium(T, dir .. "/big.html")
  T.eq(res.code, 0, "chromium exit (" .. res.err:sub(-400) .. ")")
  local body = res.dom:match("<body[^>]*>") or ""
  io.stdout:write(string.format("# chromium: %.2fs wall; %s\n", res.seconds, body))
  T.match(body, 'data%-rendered="1"') T.match(body, 'data%-render%-errors="0"')
  T.match(body, 'data%-rendered%-tasks="1001"')
  T.match(body, 'data%-drawn%-spans="' .. #data.spans .. '"')
  T.match(body, 'data%-lanes="5"') T.match(body, 'data%-rendered%-actions="200"')
  T.nomatch(body, "data%-pwned", "no injected handler ran")
  T.nomatch(res.dom, "<img", "no injected element exists")
  T.match(res.dom, "task 1&lt;/script&gt;&lt;img src=x", "the hostile text is shown as text")
  local png = dir .. "/shot.png"
  res = S.chromium(T, dir .. "/big.html", { screenshot = png })
  T.eq(res.code, 0, "screenshot exit")
  T.eq((T.read(png) or ""):sub(1, 8), "\137PNG\r\n\26\n", "a PNG screenshot")
end)

T.test("report-7.2 chromium: a report made by `baton report` from a real run", function()
  if not io.open(S.CHROMIUM, "r") then io.stdout:write("# skip: chromium not installed\n") return end
  local _, _, ws = real_run(S.EVIL)
  local r = T.baton({ "report", "-C", ws, "-o", ws .. "/r.html" })
  T.eq(r.code, 0, "exit (" .. tostring(r.err) .. ")")
  local res = S.chromium(T, ws .. "/r.html", { fragment = "#expand" })
  local body = res.dom:match("<body[^>]*>") or ""
  T.match(body, 'data%-rendered%-tasks="3"') T.match(body, 'data%-drawn%-spans="11"')
  T.match(body, 'data%-lanes="3"') T.match(body, 'data%-render%-errors="0"')
  T.match(body, 'data%-rendered%-diff%-lines="8"', "both diffs of the commit snapshot drawn")
  T.match(res.dom, '<div class="a">%+four</div>') T.match(res.dom, '<div class="r">%-two</div>')
  T.match(res.dom, '<div class="a">%+new&lt;/script&gt;&lt;img', "hostile file contents shown as text")
  T.match(res.dom, "<td>src/b%.txt</td><td>written</td><td>coder</td>", "the rollback's file")
  T.nomatch(res.dom, "<img", "no injected element exists")
end)
