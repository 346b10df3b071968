-- tests/support/report/synth.lua: synthetic runs for the report's tests and
-- bench/report.lua: a journal shaped like the engine's (agents working tasks
-- with LLM waits and commands, controller actions, verifications), either
-- as a plain event list or written into a real SSOT database, and a
-- headless-chromium helper that loads a report and returns the DOM.
local S = {}

S.EVIL = '</script><img src=x onerror="document.body.dataset.pwned=1"><!--'

-- events(n, opts) -> list of {seq, time, actor, kind, payload}: n tasks on
-- opts.agents (4) agents, about 10 events per task.
function S.events(n, opts)
  opts = opts or {}
  local evil, agents, t0 = opts.hostile and S.EVIL or "", opts.agents or 4, opts.t0 or 1.7e9
  local out, clock = {}, {}
  local function ev(t, actor, kind, p) out[#out + 1] = { seq = #out + 1, time = t, actor = actor, kind = kind, payload = p } end
  local now = t0
  for round = 0, (n - 1) // agents do
    ev(now, "controller", "action.start", { action = "EXECUTE", reasoning = "round " .. round .. evil, iteration = round + 1 })
    local start_seq, last = #out, now
    for k = 1, agents do
      local i = round * agents + k
      if i > n then break end
      local a, id, t = "agent" .. k .. evil, string.format("t%04d", i), now + k * 0.01
      ev(t, a, "task.start", { task = id, agent = a })
      ev(t + 2, a, "llm", { agent = a, model = "offline:m" .. (k % 2) .. evil, latency = 2, ok = true })
      ev(t + 2.1, a, "tool", { agent = a, task = id, tool = "write_file", target = "src/" .. id .. evil, result = "wrote 5 bytes" })
      ev(t + 2.2, a, "harness", { agent = a, action = "write", target = "src/" .. id, decision = "allow" })
      ev(t + 3.6, a, "llm", { agent = a, model = "offline:m" .. (k % 2), latency = 1.4, ok = true })
      ev(t + 5, a, "tool", { agent = a, task = id, tool = "run_command", target = "make test" .. evil, result = "exit 0" })
      ev(t + 6, a, "llm", { agent = a, model = "offline:m" .. (k % 2), latency = 1, ok = true })
      ev(t + 6.1, a, "tool", { agent = a, task = id, tool = "task_done", result = "ok" })
      ev(t + 6.2, a, "task.end", { task = id, agent = a, status = i % 7 == 0 and "BLOCKED" or "DONE", reason = "r" .. evil })
      last = t + 6.2
    end
    now = last + 0.1
    ev(now, "controller", "action.end", { action = "EXECUTE", ok = true, summary = "done" .. evil, start = start_seq })
    if round % 10 == 9 then
      ev(now, "controller", "verify", { ok = round % 20 == 19, reasons = { "tests failed" .. evil } })
    end
    now = now + 0.1
  end
  return out
end

-- data(n, opts) -> a report data table (what collect() returns) for n tasks.
function S.data(n, opts)
  opts = opts or {}
  local report = require "baton.report"
  local evil = opts.hostile and S.EVIL or ""
  local events = S.events(n, opts)
  local t0 = events[1].time
  local lanes, spans = report.timeline(events, t0, events[#events].time)
  local tasks = { { id = "root", status = "IN_PROGRESS", description = "the requirement" .. evil, acceptance = {},
    deps = {}, history = {}, root = true } }
  for i = 1, n do
    tasks[#tasks + 1] = { id = string.format("t%04d", i), parent = "root", status = i % 7 == 0 and "BLOCKED" or "DONE",
      description = "task " .. i .. evil, acceptance = { "criterion" .. evil }, deps = i > 1 and { string.format("t%04d", i - 1) } or {},
      assignee = "agent" .. ((i - 1) % 4 + 1) .. evil, role = "backend",
      history = { { time = t0 + 1, from = "PENDING", to = "IN_PROGRESS", by = "controller", reason = evil } } }
  end
  local actions = {}
  for i = 1, math.max(1, n // 2) do
    actions[i] = { seq = i, time = i, action = "EXECUTE", target = "t" .. evil, reasoning = "because" .. evil,
      outcome = i % 5 == 0 and "failed" or "ok", detail = "summary" .. evil, start = i, duration = 0.5, iteration = i }
  end
  local change = { path = "src/a.lua" .. evil, change = "modified", added = 1, removed = 1,
    diff = { "@@ -1,1 +1,1 @@", "-old" .. evil, "+new" .. evil } }
  return {
    version = 1, start = t0, duration = events[#events].time - t0,
    run = { id = "r1" .. evil, status = "DONE", requirement = "make it" .. evil, iteration = 3, retry_used = 1, retry_max = 3,
      spent = { tokens = 12345, usd = 0.5, requests = 40 }, policy = "fsm", team = "default" },
    tasks = tasks, lanes = lanes, spans = spans, actions = actions,
    usage = { agents = { { name = "agent1" .. evil, calls = 3, input_tokens = 100, output_tokens = 50, cost = 0.01, latency = 4 } },
      models = { { name = "offline:m1" .. evil, calls = 3, input_tokens = 100, output_tokens = 50, latency = 4 } }, time = {} },
    verifications = { { kind = "tests", time = 3, ok = false, argv = "sh test.sh" .. evil, code = 1, reasons = {} },
      { kind = "verify", time = 4, ok = false, reasons = { "tests failed" .. evil } } },
    snapshots = { { id = 1, label = "plan" .. evil, time = 1, files = 2, note = "first" .. evil },
      { id = 2, label = "commit", time = 9, files = 2, changes = { change } } },
    rollbacks = { { time = 5, snapshot = 1, label = "plan" .. evil, files = { { path = "src/x" .. evil, how = "written", agent = "a", task = "t1" } } } },
    notes = {}, counts = { events = #events, spans = #spans },
  }
end

S.CHROMIUM = "/usr/bin/chromium"

-- Loads file:// html in headless chromium (its own session and process
-- group, under timeout(1), the group killed afterwards) and returns
-- {code=, dom=, err=, seconds=}, or nil when chromium is not installed.
-- opts.screenshot = PNG path takes a screenshot instead of dumping the DOM;
-- opts.fragment (e.g. "#expand") is appended to the URL.
function S.chromium(T, html, opts)
  opts = opts or {}
  if not io.open(S.CHROMIUM, "r") then return nil end
  local dir = T.tmpdir()
  local flags = { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--user-data-dir=" .. dir .. "/profile", "--virtual-time-budget=5000",
    "--window-size=1280,1600" }
  flags[#flags + 1] = opts.screenshot and ("--screenshot=" .. opts.screenshot) or "--dump-dom"
  local parts = {}
  for _, f in ipairs(flags) do parts[#parts + 1] = T.q(f) end
  -- the script records its pid: setsid made it the leader of a new process
  -- group that timeout(1) and every chromium helper stay in
  T.write(dir .. "/run.sh", string.format("echo $$ > %s\nexec timeout -k 5 90 %s %s %s\n",
    T.q(dir .. "/pgid"), S.CHROMIUM, table.concat(parts, " "), T.q("file://" .. html .. (opts.fragment or ""))))
  local sys = require "baton.sys"
  local clock0 = sys.clock()
  local _, _, code = os.execute(string.format("setsid -w sh %s >%s 2>%s </dev/null", T.q(dir .. "/run.sh"),
    T.q(dir .. "/out"), T.q(dir .. "/err")))
  local secs = sys.clock() - clock0
  local pg = tonumber(T.read(dir .. "/pgid") or "")
  if pg then os.execute("kill -9 -- -" .. pg .. " 2>/dev/null") end
  return { code = code, dom = T.read(dir .. "/out") or "", err = T.read(dir .. "/err") or "", seconds = secs }
end

return S
