-- baton.progress: what a run shows while it works. On a terminal, plain
-- event lines plus one compact status line redrawn in place (never
-- repainting scrollback); otherwise plain lines only; with --json, versioned
-- JSON lines on stdout. NO_COLOR is honoured. Everything goes to stderr
-- except the JSON stream.
local cjson = require "cjson"
local sys = require "baton.sys"
local util = require "baton.util"

local M = {}
M.__index = M
M.JSON_VERSION = 1

function M.new(opts)
  local tty = sys.isatty(2)
  local color = tty and (os.getenv("NO_COLOR") or "") == "" and os.getenv("TERM") ~= "dumb"
  -- live: a status line is drawn (a terminal, neither --quiet nor --json);
  -- otherwise it is never computed (a format and a clock read per event)
  return setmetatable({ json = opts.json, tty = tty, color = color, quiet = opts.quiet,
    live = tty and not opts.quiet and not opts.json, t0 = sys.clock(), status = "" }, M)
end

local function paint(self, code, s)
  if not self.color then return s end
  return "\27[" .. code .. "m" .. s .. "\27[0m"
end

function M:clear_line()
  if self.tty and self.status ~= "" then io.stderr:write("\r\27[K") end
end

function M:line(text)
  if self.quiet then return end
  self:clear_line()
  io.stderr:write(text, "\n")
  self:redraw()
end

function M:redraw()
  if self.tty and self.status ~= "" and not self.quiet then io.stderr:write(self.status) io.stderr:flush() end
end

function M:update_status(e)
  if not e or not e.run then return end
  local v, s = e.view or { counts = { DONE = 0, total = 0 } }, e.run.spent or {}
  self.status = string.format("[iter %d] %s | tasks %d/%d | %d tok | %s | %s",
    e.run.iteration or 0, self.action or "-", v.counts.DONE or 0, v.counts.total or 0, s.tokens or 0,
    s.usd_unknown and "cost ?" or util.format_cost(s.usd or 0), util.format_duration(sys.clock() - self.t0))
end

local SHOW = {
  action = function(p) return "▶ " .. p.action .. (p.reasoning and (": " .. util.oneline(p.reasoning, 90)) or "") end,
  ["action.done"] = function(p) return (p.ok and "  ✓ " or "  ✗ ") .. util.oneline(p.summary, 110) end,
  ["task.start"] = function(p) return string.format("  • %s works on %s", p.agent, p.task) end,
  ["task.end"] = function(p) return string.format("  • %s: %s %s (%s)", p.agent, p.task, p.status, util.oneline(p.reason, 70)) end,
  tool = function(p) return string.format("    %s %s %s", p.agent, p.tool, p.target and util.oneline(p.target, 60) or "") end,
  tests = function(p) return string.format("  tests `%s`: %s", p.argv, p.timed_out and "timed out" or ("exit " .. tostring(p.code))) end,
  review = function(p) return string.format("  review by %s: %s", p.agent, p.approved and "approved" or "rejected") end,
  rollback = function(p) return string.format("  ↺ rolled back to snapshot %s (%s)", p.snapshot, p.label) end,
  snapshot = function(p) return string.format("  ⎘ snapshot %s (%s)", p.snapshot, p.label) end,
  ["policy.log"] = function(p) return "  policy: " .. p.message end,
  ["resume.reconcile"] = function(p) return "  resuming: redoing the interrupted " .. tostring(p.action) end,
}

function M:event(kind, payload, e)
  if kind == "action" then self.action = payload.action end
  if self.live then self:update_status(e) end
  if self.json then
    io.stdout:write(cjson.encode({ v = M.JSON_VERSION, type = kind, run = e and e.run.id,
      t = sys.time(), data = payload }), "\n")
    io.stdout:flush()
    return
  end
  local show = SHOW[kind]
  if self.quiet then return end
  local text = show and show(payload)
  if text and kind == "action.done" then text = paint(self, payload.ok and "32" or "31", text) end
  if not self.live then -- plain lines, no status line to clear or redraw
    if text then io.stderr:write(text, "\n") end
  elseif text then
    self:line(text)
  else
    self:clear_line()
    self:redraw()
  end
end

function M:finish() self:clear_line() self.status = "" end

return M
