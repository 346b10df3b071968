-- baton.report_page: turns the data of baton.report.collect() into one
-- self-contained HTML file (inline CSS and JS, no network: a CSP forbids
-- every fetch). The data is embedded as JSON with every "<" escaped, and the
-- script builds the page with createElement/textContent only: everything
-- in it came from models and commands and is treated as hostile. The
-- timeline is drawn on a canvas so 10,000 spans cost no DOM.
local cjson = require "cjson"

local M = {}

local json = cjson.new() -- a private instance: its options must not change the shared one
json.encode_invalid_numbers("null")
json.encode_sparse_array(true)

M.CSS = [[
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 20px}
header h1{margin:0 0 4px;font-size:18px}
header .req{white-space:pre-wrap;opacity:.9;max-height:6em;overflow:auto}
header .facts span{margin-right:18px;font-size:13px;opacity:.85}
section{background:#fff;margin:14px 20px;padding:12px 16px;border-radius:6px;box-shadow:0 1px 2px #0002}
h2{font-size:16px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e3e6ea;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:600;background:#dde1e6}
.s-DONE,.ok{background:#c9ecd2;color:#14532d}.s-BLOCKED,.s-FAILED,.bad{background:#f9d2d0;color:#7f1d1d}
.s-IN_PROGRESS,.s-RUNNING{background:#d3e3fb;color:#1e3a8a}.s-PENDING{background:#eee;color:#444}
.s-STOPPED{background:#fde7c2;color:#7c4a03}
#tl-wrap{position:relative}#tl{display:block;width:100%;cursor:grab}
#tip{position:absolute;pointer-events:none;background:#1d2330;color:#fff;padding:4px 8px;border-radius:4px;
 font-size:12px;white-space:pre;display:none;max-width:520px;overflow:hidden;z-index:2}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.tree-box{display:flex;gap:14px}.tree{flex:3;max-height:520px;overflow:auto;font-size:13px}
.tree ul{list-style:none;margin:0;padding-left:18px}.tree>ul{padding-left:0}
.node{cursor:pointer;padding:1px 4px;border-radius:3px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.node:hover,.node.sel{background:#eef2f7}.node .id{font-family:monospace;color:#555;margin:0 6px}
.node .who{color:#777;margin-left:6px;font-size:12px}
#detail{flex:2;max-height:520px;overflow:auto;font-size:13px;border-left:1px solid #e3e6ea;padding-left:12px}
.pre{white-space:pre-wrap;word-break:break-word}
.diff{font:12px/1.35 monospace;background:#fafbfc;border:1px solid #e3e6ea;overflow:auto;max-height:420px}
.diff div{white-space:pre;padding:0 6px}.diff .a{background:#e6ffec}.diff .r{background:#ffebe9}
.diff .h{background:#eef2f7;color:#555}
details{margin:4px 0}summary{cursor:pointer}
button{font-size:12px;margin-top:6px}.muted{color:#777}.err{color:#b91c1c}
input,select{font-size:12px;margin:0 6px 6px 0}
]]

M.JS = [==[
(function () {
"use strict";
var T0 = performance.now();
var D = JSON.parse(document.getElementById("baton-data").textContent);
var body = document.body, errors = [];
function A(x) { return Array.isArray(x) ? x : []; }
function O(x) { return x && typeof x === "object" && !Array.isArray(x) ? x : {}; }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function add(p, tag, cls, text) { return p.appendChild(el(tag, cls, text)); }
function secs(s) {
  s = +s || 0;
  if (Math.abs(s) < 1) return (s * 1000).toFixed(0) + "ms";
  if (s < 10) return s.toFixed(2) + "s";
  if (s < 60) return s.toFixed(1) + "s";
  var m = Math.floor(s / 60);
  return m + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
}
function num(n) { return n === null || n === undefined ? "\u2013" : Number(n).toLocaleString("en-US"); }
function usd(n) { return n === null || n === undefined ? "unknown" : "$" + Number(n).toFixed(4); }
function badge(p, text, cls) { return add(p, "span", "badge " + (cls || "s-" + String(text)), text); }
function clip(s, n) { s = String(s === undefined || s === null ? "" : s); return s.length > n ? s.slice(0, n) + "\u2026" : s; }
function section(title) { var s = add(document.getElementById("main"), "section"); add(s, "h2", null, title); return s; }
function guarded(name, fn) { /* one broken section must not hide the others */
  var t = performance.now();
  try { fn(); } catch (e) { errors.push(name + ": " + e); }
  body.dataset["ms" + name[0].toUpperCase() + name.slice(1)] = Math.round(performance.now() - t);
}
function table(parent, heads, nums) {
  var t = add(parent, "table"), tr = add(add(t, "thead"), "tr");
  heads.forEach(function (h, i) { add(tr, "th", nums && nums[i] ? "num" : null, h); });
  return add(t, "tbody");
}
function row(tb, cells, nums) {
  var tr = add(tb, "tr");
  cells.forEach(function (c, i) { add(tr, "td", nums && nums[i] ? "num" : null, c); });
  return tr;
}

var tasks = A(D.tasks), byId = {};
tasks.forEach(function (t) { byId[t.id] = t; });

/* ---- header ---- */
function header() {
  var r = O(D.run), h = document.getElementById("head");
  document.title = "baton report " + clip(r.id, 40);
  var h1 = add(h, "h1", null, "Run " + (r.id || "?") + " ");
  badge(h1, r.status || "?");
  add(h, "div", "req", r.requirement);
  var f = add(h, "div", "facts"), sp = O(r.spent);
  add(f, "span", null, "started " + (D.start ? new Date(D.start * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "?"));
  add(f, "span", null, "duration " + secs(D.duration));
  add(f, "span", null, "iterations " + num(r.iteration));
  add(f, "span", null, "retries " + num(r.retry_used) + " of " + num(r.retry_max));
  add(f, "span", null, "tokens " + num(sp.tokens) + " \u00b7 requests " + num(sp.requests) + " \u00b7 cost " + usd(sp.usd) + (sp.usd_unknown ? " (some unknown)" : ""));
  add(f, "span", null, "policy " + (r.policy || "?") + " \u00b7 team " + (r.team || "?"));
  add(f, "span", null, tasks.length + " tasks \u00b7 " + num(O(D.counts).events) + " events");
}

/* ---- timeline (canvas) ---- */
var COLORS = { llm: "#8b5cf6", cmd: "#0d9488", action: "#3b82f6", mark: "#111827",
  DONE: "#86d39b", BLOCKED: "#f59e0b", FAILED: "#ef4444", other: "#9ca3af" };
var TL = null;
function layoutTimeline() {
  var lanes = A(D.lanes), spans = A(D.spans), L = lanes.map(function (n) {
    return { name: String(n), rows: [], tasks: [], strip: [] };
  });
  spans.forEach(function (s) {
    var lane = L[(s[0] | 0) - 1];
    if (!lane) return;
    var sp = { s: +s[1] || 0, e: +s[2] || 0, kind: String(s[3]), label: String(s[4] || ""), task: s[5] };
    if (sp.kind === "task" || sp.kind === "action") lane.tasks.push(sp); else lane.strip.push(sp);
  });
  var y = 24;
  L.forEach(function (lane) {
    lane.tasks.sort(function (a, b) { return a.s - b.s; });
    var ends = [];
    lane.tasks.forEach(function (sp) {
      var r = 0;
      while (r < ends.length && ends[r] > sp.s) r++;
      if (r >= 40) r = 39; /* a lane never grows past 40 rows: overlaps beyond that share the last */
      ends[r] = Math.max(sp.e, sp.s + 1e-9);
      sp.row = r;
    });
    lane.nrows = Math.max(1, ends.length);
    lane.y = y;
    lane.h = lane.nrows * 14 + 12 + 8;
    y += lane.h;
  });
  var end = Math.max(+D.duration || 0, 0.001);
  spans.forEach(function (s) { if (+s[2] > end) end = +s[2]; });
  TL = { lanes: L, height: y + 4, v0: 0, v1: end, full: end, drawn: 0 };
}
function drawTimeline() {
  var c = document.getElementById("tl"), dpr = window.devicePixelRatio || 1;
  var w = c.clientWidth || 800, LW = 130;
  c.width = w * dpr; c.height = TL.height * dpr; c.style.height = TL.height + "px";
  var g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, TL.height);
  var span = TL.v1 - TL.v0, sc = (w - LW - 8) / span, drawn = 0;
  TL.x = function (t) { return LW + (t - TL.v0) * sc; };
  TL.t = function (x) { return TL.v0 + (x - LW) / sc; };
  g.font = "11px sans-serif"; g.fillStyle = "#555"; g.strokeStyle = "#e5e7eb";
  var step = Math.pow(10, Math.floor(Math.log10(span / 6))), k;
  if (span / step > 12) step *= 5; else if (span / step > 6) step *= 2;
  for (k = Math.ceil(TL.v0 / step) * step; k <= TL.v1; k += step) {
    var x = TL.x(k);
    g.beginPath(); g.moveTo(x, 16); g.lineTo(x, TL.height); g.stroke();
    g.fillText(secs(k), x + 2, 12);
  }
  TL.lanes.forEach(function (lane, i) {
    g.fillStyle = i % 2 ? "#fafafa" : "#f1f3f6";
    g.fillRect(0, lane.y, w, lane.h);
    g.fillStyle = "#1d2330";
    g.fillText(clip(lane.name, 20), 6, lane.y + 14);
    g.save(); g.beginPath(); g.rect(LW, lane.y, w - LW, lane.h); g.clip();
    lane.tasks.forEach(function (sp) {
      if (sp.e < TL.v0 || sp.s > TL.v1) return;
      var x1 = TL.x(sp.s), x2 = Math.max(TL.x(sp.e), x1 + 1), y = lane.y + 4 + sp.row * 14;
      var t = byId[sp.task], st = t ? t.status : null;
      g.fillStyle = sp.kind === "action" ? (/\(failed\)$/.test(sp.label) ? COLORS.FAILED : COLORS.action)
        : COLORS[st] || COLORS.other;
      g.fillRect(x1, y, x2 - x1, 12);
      if (x2 - x1 > 40) { g.fillStyle = "#111"; g.fillText(clip(sp.label, Math.floor((x2 - x1) / 6)), x1 + 2, y + 10); }
      drawn++;
    });
    var sy = lane.y + 4 + lane.nrows * 14 + 2;
    lane.sy = sy;
    lane.strip.forEach(function (sp) {
      if (sp.e < TL.v0 || sp.s > TL.v1) return;
      var x1 = TL.x(sp.s), x2 = Math.max(TL.x(sp.e), x1 + 1);
      g.fillStyle = COLORS[sp.kind] || COLORS.other;
      if (sp.kind === "mark") g.fillRect(x1, lane.y, 1.5, lane.h); else g.fillRect(x1, sy, x2 - x1, 8);
      drawn++;
    });
    g.restore();
  });
  TL.drawn = drawn;
  body.dataset.drawnSpans = drawn;
}
function hit(mx, my) {
  var lane = null;
  TL.lanes.forEach(function (l) { if (my >= l.y && my < l.y + l.h) lane = l; });
  if (!lane) return null;
  var t = TL.t(mx), tol = 3 / ((TL.x(1) - TL.x(0)) || 1), best = null;
  var list = my >= lane.sy ? lane.strip : lane.tasks;
  list.forEach(function (sp) {
    if (t < sp.s - tol || t > sp.e + tol) return;
    if (list === lane.tasks && Math.floor((my - lane.y - 4) / 14) !== sp.row) return;
    best = sp;
  });
  return best && { lane: lane, sp: best };
}
function timeline() {
  var s = section("Timeline");
  var lg = add(s, "div", "legend");
  [["task done", COLORS.DONE], ["task blocked", COLORS.BLOCKED], ["task (other)", COLORS.other],
   ["controller action", COLORS.action], ["waiting on the LLM", COLORS.llm], ["running a command", COLORS.cmd],
   ["snapshot / rollback / verify", COLORS.mark]].forEach(function (x) {
    var sp = add(lg, "span"), i = add(sp, "i"); i.style.background = x[1]; sp.appendChild(document.createTextNode(x[0]));
  });
  add(s, "div", "muted", "Wheel to zoom, drag to pan, double-click to reset; click a task to open it in the tree. " +
    "LLM waits are [time \u2212 latency, time]; a command span runs from the agent's previous event to the tool's result (an upper bound).");
  var wrap = add(s, "div"); wrap.id = "tl-wrap";
  var c = add(wrap, "canvas"); c.id = "tl";
  var tip = add(wrap, "div"); tip.id = "tip";
  layoutTimeline(); drawTimeline();
  var drag = null, pending = false;
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; drawTimeline(); }); } }
  c.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = c.getBoundingClientRect(), t = TL.t(ev.clientX - r.left), f = ev.deltaY > 0 ? 1.25 : 0.8;
    TL.v0 = t - (t - TL.v0) * f; TL.v1 = t + (TL.v1 - t) * f; redraw();
  }, { passive: false });
  c.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, v0: TL.v0, v1: TL.v1 }; });
  window.addEventListener("mouseup", function () { drag = null; });
  c.addEventListener("dblclick", function () { TL.v0 = 0; TL.v1 = TL.full; redraw(); });
  c.addEventListener("mousemove", function (ev) {
    var r = c.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    if (drag) {
      var dt = (drag.x - ev.clientX) * (TL.v1 - TL.v0) / Math.max(1, c.clientWidth - 138);
      TL.v0 = drag.v0 + dt; TL.v1 = drag.v1 + dt; redraw(); return;
    }
    var h = hit(mx, my);
    if (!h) { tip.style.display = "none"; return; }
    tip.textContent = h.lane.name + " \u00b7 " + h.sp.kind + "\n" + h.sp.label + "\n" + secs(h.sp.s) + " \u2192 " +
      secs(h.sp.e) + " (" + (h.sp.e - h.sp.s).toFixed(2) + "s)";
    tip.style.display = "block"; tip.style.left = Math.min(mx + 12, c.clientWidth - 300) + "px"; tip.style.top = (my + 12) + "px";
  });
  c.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  c.addEventListener("click", function (ev) {
    var r = c.getBoundingClientRect(), h = hit(ev.clientX - r.left, ev.clientY - r.top);
    if (h && h.sp.task && nodes[h.sp.task]) { select(h.sp.task); nodes[h.sp.task].scrollIntoView({ block: "center" }); }
  });
  window.addEventListener("resize", redraw);
  body.dataset.lanes = TL.lanes.length;
}

/* ---- requirement tree ---- */
var nodes = {}, selected = null;
function select(id) {
  if (selected && nodes[selected]) nodes[selected].classList.remove("sel");
  selected = id;
  if (nodes[id]) nodes[id].classList.add("sel");
  var t = byId[id], d = document.getElementById("detail");
  d.textContent = "";
  if (!t) return;
  var h = add(d, "h3", null, t.id + " "); badge(h, t.status);
  add(d, "div", "pre", t.description);
  add(d, "div", "muted", "role " + (t.role || "\u2013") + " \u00b7 assignee " + (t.assignee || "\u2013"));
  if (A(t.acceptance).length) { add(d, "b", null, "Acceptance"); var ul = add(d, "ul"); A(t.acceptance).forEach(function (a) { add(ul, "li", null, a); }); }
  if (A(t.deps).length) {
    var dp = add(d, "div", null, "Depends on: ");
    A(t.deps).forEach(function (x) { var a = add(dp, "a", null, x + " "); a.href = "#"; a.onclick = function (e) { e.preventDefault(); select(x); }; });
  }
  if (A(t.history).length) {
    add(d, "b", null, "Status history");
    var tb = table(d, ["time", "change", "by", "reason"]);
    A(t.history).forEach(function (x) { row(tb, [secs((+x.time || 0) - D.start), (x.from || "") + " \u2192 " + (x.to || ""), x.by, x.reason]); });
  }
}
function tree() {
  var s = section("Requirements"), bar = add(s, "div");
  var q = add(bar, "input"); q.placeholder = "filter by text"; q.type = "search";
  var st = add(bar, "select");
  ["all statuses", "PENDING", "IN_PROGRESS", "DONE", "BLOCKED", "FAILED"].forEach(function (x) { add(st, "option", null, x); });
  var box = add(s, "div", "tree-box"), tv = add(box, "div", "tree"), det = add(box, "div"); det.id = "detail";
  add(det, "div", "muted", "Click a task to see its criteria, dependencies and history.");
  var kids = {}, roots = [];
  tasks.forEach(function (t) {
    if (t.parent && byId[t.parent] && t.parent !== t.id) (kids[t.parent] = kids[t.parent] || []).push(t); else roots.push(t);
  });
  var count = 0, seen = {};
  function build(list, parent) {
    var ul = add(parent, "ul");
    list.forEach(function (t) {
      if (seen[t.id]) return;
      seen[t.id] = true;
      var li = add(ul, "li"), n = add(li, "div", "node");
      badge(n, t.status); add(n, "span", "id", t.id); n.appendChild(document.createTextNode(clip(t.description, 160)));
      if (t.assignee) add(n, "span", "who", t.assignee);
      n.title = clip(t.description, 600);
      n.onclick = function () { select(t.id); };
      nodes[t.id] = n; count++;
      if (kids[t.id]) build(kids[t.id], li);
    });
  }
  build(roots, tv);
  function filter() {
    var text = q.value.toLowerCase(), want = st.selectedIndex ? st.value : null;
    tasks.forEach(function (t) {
      var n = nodes[t.id]; if (!n) return;
      var ok = (!want || t.status === want) && (!text || (t.id + " " + t.description + " " + (t.assignee || "")).toLowerCase().indexOf(text) >= 0);
      n.style.display = ok ? "" : "none";
    });
  }
  q.oninput = filter; st.onchange = filter;
  body.dataset.renderedTasks = count;
}

/* ---- controller actions ---- */
function actions() {
  var list = A(D.actions), s = section("Controller actions (" + list.length + ")");
  var tb = table(s, ["#", "iter", "start", "took", "action", "target", "outcome", "reasoning and result"], [1, 1, 1, 1]);
  var shown = 0, more = add(s, "button");
  function page(n) {
    var end = Math.min(list.length, shown + n);
    for (; shown < end; shown++) {
      var a = list[shown], tr = row(tb, [a.seq, a.iteration === undefined ? "" : a.iteration,
        a.start !== undefined ? secs(a.start) : a.time !== undefined ? secs(a.time) : "", a.duration !== undefined ? secs(a.duration) : "",
        a.action, a.target || ""], [1, 1, 1, 1]);
      badge(add(tr, "td"), a.outcome || "?", a.outcome === "ok" ? "ok" : "bad");
      var td = add(tr, "td", "pre");
      if (a.reasoning) add(td, "div", null, a.reasoning);
      if (a.detail) add(td, "div", "muted", a.detail);
    }
    more.textContent = "show " + Math.min(500, list.length - shown) + " more (" + (list.length - shown) + " left)";
    more.style.display = shown < list.length ? "" : "none";
    body.dataset.renderedActions = shown;
  }
  more.onclick = function () { page(500); };
  page(200);
}

/* ---- usage ---- */
function usage() {
  var u = O(D.usage), s = section("Tokens, cost and time");
  [["Per agent", A(u.agents)], ["Per model", A(u.models)]].forEach(function (x) {
    add(s, "h3", null, x[0]);
    var tb = table(s, ["name", "calls", "input tokens", "output tokens", "cost", "LLM time"], [0, 1, 1, 1, 1, 1]);
    x[1].forEach(function (r) { row(tb, [r.name, num(r.calls), num(r.input_tokens), num(r.output_tokens), usd(r.cost), secs(r.latency)], [0, 1, 1, 1, 1, 1]); });
    if (!x[1].length) add(s, "div", "muted", "no LLM calls recorded");
  });
  add(s, "h3", null, "Time per lane (from the timeline)");
  var tb = table(s, ["lane", "tasks", "in tasks", "waiting on the LLM", "running commands", "controller actions"], [0, 1, 1, 1, 1, 1]);
  A(u.time).forEach(function (r) { row(tb, [r.name, num(r.tasks), secs(r.task), secs(r.llm), secs(r.cmd), secs(r.action)], [0, 1, 1, 1, 1, 1]); });
}

/* ---- verification ---- */
function verification() {
  var list = A(D.verifications), s = section("Verification (" + list.length + ")");
  if (!list.length) add(s, "div", "muted", "no verification ran");
  var tb = table(s, ["time", "iter", "check", "result", "details"]);
  list.forEach(function (v) {
    var tr = row(tb, [secs(v.time), v.iteration === undefined ? "" : v.iteration, v.kind + (v.agent ? " (" + v.agent + ")" : "")]);
    badge(add(tr, "td"), v.ok ? "passed" : "failed", v.ok ? "ok" : "bad");
    var td = add(tr, "td", "pre");
    if (v.argv) add(td, "div", null, v.argv + " \u2192 " + (v.timed_out ? "timed out" : "exit " + v.code));
    A(v.reasons).forEach(function (r) { add(td, "div", null, "\u2022 " + r); });
  });
}

/* ---- snapshots and rollbacks ---- */
var expand = location.hash === "#expand", diffLines = 0; /* #expand opens every snapshot and diff */
function diffView(parent, c) {
  var box = add(parent, "div", "diff");
  diffLines += A(c.diff).length;
  body.dataset.renderedDiffLines = diffLines;
  A(c.diff).forEach(function (l) {
    l = String(l);
    var k = l[0] === "+" ? "a" : l[0] === "-" ? "r" : l[0] === "@" ? "h" : null;
    add(box, "div", k, l);
  });
  if (c.truncated) add(box, "div", "h", "\u2026 diff truncated");
}
function snapshots() {
  var list = A(D.snapshots), s = section("Snapshots (" + list.length + ")");
  if (!list.length) add(s, "div", "muted", "no snapshot was taken");
  list.forEach(function (sn) {
    var d = add(s, "details"), ch = A(sn.changes), sum = add(d, "summary");
    var a = 0, r = 0; ch.forEach(function (c) { a += c.added || 0; r += c.removed || 0; });
    sum.textContent = "#" + sn.id + " " + (sn.label || "") + " at " + secs(sn.time) + " \u2014 " +
      (sn.files === undefined ? "files unknown" : sn.files + " files") + (sn.changes ? ", " + ch.length + " changed (+" + a + " \u2212" + r + ")" : "");
    var done = false;
    function open() { /* the diffs are built on first opening only */
      if (done) return;
      done = true;
      add(d, "div", "muted", "ref " + (sn.ref || "?"));
      if (sn.note) add(d, "div", "muted", sn.note);
      ch.forEach(function (c) {
        var cd = add(d, "details"), cs = add(cd, "summary");
        cs.textContent = c.change + " " + c.path + (c.added !== undefined ? " (+" + c.added + " \u2212" + c.removed + ")" : "") + (c.note ? " \u2014 " + c.note : "");
        if (c.diff) diffView(cd, c);
        if (expand) cd.open = true;
      });
    }
    d.addEventListener("toggle", function () { if (d.open) open(); });
    if (expand) { open(); d.open = true; }
  });
  var rb = A(D.rollbacks), s2 = section("Rollbacks (" + rb.length + ")");
  if (!rb.length) add(s2, "div", "muted", "no rollback happened");
  add(s2, "div", "muted", "Files agents wrote or deleted after the restored snapshot; the rollback put back the snapshot's version of each (what they held before the rollback was never snapshotted).");
  rb.forEach(function (x) {
    var d = add(s2, "details"), sm = add(d, "summary");
    d.open = expand;
    sm.textContent = "at " + secs(x.time) + ": back to snapshot #" + x.snapshot + " " + (x.label || "") + " \u2014 " + A(x.files).length + " file(s) reverted";
    if (x.note) add(d, "div", "muted", x.note);
    var tb = table(d, ["file", "change undone", "by", "task"]);
    A(x.files).forEach(function (f) { row(tb, [f.path, f.how, f.agent || "", f.task || ""]); });
  });
}

function notes() {
  var list = A(D.notes).concat(errors.map(function (e) { return "render error in " + e; }));
  if (!list.length) return;
  var s = section("Notes");
  list.forEach(function (n) { add(s, "div", "err", n); });
}

guarded("header", header);
guarded("timeline", timeline);
guarded("requirements", tree);
guarded("actions", actions);
guarded("usage", usage);
guarded("verification", verification);
guarded("snapshots", snapshots);
notes();
body.dataset.renderErrors = errors.length;
body.dataset.renderMs = Math.round(performance.now() - T0);
body.dataset.loadMs = Math.round(performance.now()); /* since navigation start: parse + render */
body.dataset.rendered = "1";
})();
]==]

-- The JSON of the data, safe inside a <script> element: "<" only occurs in
-- JSON strings, where \u003c means the same, so no "</script>" or "<!--"
-- can end or change the element.
function M.json(data)
  return (json.encode(data):gsub("<", "\\u003c"))
end

function M.render(data)
  return table.concat {
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<title>baton report</title>\n<style>", M.CSS, "</style></head>\n<body>\n",
    "<header id=\"head\"></header><main id=\"main\"></main>\n",
    "<noscript>This report needs JavaScript to draw itself.</noscript>\n",
    "<script type=\"application/json\" id=\"baton-data\">", M.json(data), "</script>\n",
    "<script>", M.JS, "</script>\n</body></html>\n",
  }
end

return M
