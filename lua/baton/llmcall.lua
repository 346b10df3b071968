-- baton.llmcall: every LLM request of a run goes through here. It enforces
-- the token / USD / request budgets where requests are made (every billed
-- attempt counts, retries and invalid replies included), records each
-- request in the SSOT ledger, and on resume reuses a reply already paid for
-- instead of buying it again (keyed by request content and occurrence).
local cjson = require "cjson"
local errors = require "baton.errors"
local json = require "baton.json"
local llm = require "baton.llm"
local sys = require "baton.sys"

local M = {}
M.__index = M

-- Provider failures that no retry of the run can fix: stop, resumable.
local FATAL = { auth = true, no_key = true, unknown_provider = true, bad_request = true,
  replay_miss = true, offline_no_match = true }

function M.new(engine)
  return setmetatable({ e = engine, seen = {} }, M)
end

local NONE = {}
local function n(x) return type(x) == "number" and x == math.floor(x) and string.format("%d", x) or tostring(x) end
local function over(what, spent, limit, flag)
  errors.raise(errors.BUDGET, "%s budget reached: %s of %s spent (raise it with --max-%s on resume)",
    what, n(spent), n(limit), flag)
end

function M:check_budget()
  local run, b = self.e.run, self.e.run.budgets or NONE
  local s = run.spent or NONE
  if b.timeout and self.e.started and sys.clock() - self.e.started >= b.timeout then
    errors.raise(errors.BUDGET, "timeout reached (%ss)", n(b.timeout))
  end
  if b.tokens and (s.tokens or 0) >= b.tokens then over("token", s.tokens or 0, b.tokens, "tokens") end
  if b.usd and (s.usd or 0) >= b.usd then over("cost", string.format("$%.4f", s.usd or 0), "$" .. b.usd, "cost") end
  if b.requests and (s.requests or 0) >= b.requests then over("request", s.requests or 0, b.requests, "requests") end
end

-- Adds one billed attempt to run.spent (in memory: chat writes a request's
-- attempts to the SSOT once, with their ledger rows).
function M:spend(usage, cost)
  local run = self.e.run
  local s = run.spent or {}
  s.tokens = (s.tokens or 0) + (usage.input_tokens or 0) + (usage.output_tokens or 0)
  s.input_tokens = (s.input_tokens or 0) + (usage.input_tokens or 0)
  s.output_tokens = (s.output_tokens or 0) + (usage.output_tokens or 0)
  s.requests = (s.requests or 0) + 1
  if cost then s.usd = (s.usd or 0) + cost else s.usd_unknown = true end
  run.spent = s
end

-- The run's ids in creation order ("T1", "T2"...; the run id is "RUN"), so
-- a request names the same task the same way in a replayed run. all: a
-- current listing of the run's requirements, when the caller has one
-- (DECOMPOSE hands over its own: listing a large plan again costs ~30k
-- instructions a task).
function M:aliases(all)
  local version = self.e.plan_version or 0
  if self.alias_version ~= version or not self.alias_cache then
    local a = { [self.e.run.id] = "RUN" }
    for i, r in ipairs(all or self.e.db:reqs(self.e.run.id)) do a[r.id] = "T" .. i end
    self.alias_cache, self.alias_set, self.alias_version = a, json.aliases(a), version
  end
  return self.alias_cache, self.alias_set
end

-- The ledger key: the request's content, plus how many identical requests
-- this process made before, so a replayed run maps call n to recorded call n.
function M:key(req)
  local aliases, set = self:aliases()
  req.key_aliases = aliases
  local k = llm.request_key(req, set)
  local n = (self.seen[k] or 0) + 1
  self.seen[k] = n
  return k .. "#" .. n
end

local function record(self, req, a, key, status, response)
  self.e.db:llm_record(self.e.run.id, {
    agent = req.agent, role = req.role, model = req.model,
    input_tokens = a.usage and a.usage.input_tokens or 0,
    output_tokens = a.usage and a.usage.output_tokens or 0,
    cost = a.cost, latency = a.latency or 0, attempt = a.attempt or 1, status = status,
    key = key, response = response,
  })
end

-- Whether the ledger held calls of this run before this process began: a
-- key carries its occurrence number in this process, so only an earlier
-- process's rows (a resumed run) can answer; a fresh run skips the lookup.
function M:has_history()
  if self.history == nil then
    self.history = (self.e.db:llm_totals(self.e.run.id).calls or 0) > 0
  end
  return self.history
end

-- chat(req) -> resp | nil, message, code. Raises a baton.errors object for
-- budgets and for provider failures no retry can fix.
function M:chat(req)
  local key = self:key(req)
  local cached = self:has_history() and self.e.db:llm_lookup(self.e.run.id, key)
  if cached then
    local resp = cjson.decode(cached)
    resp.reused = true
    self.e:emit("llm", { agent = req.agent, model = req.model, reused = true })
    return resp
  end
  self:check_budget()
  local limit = (self.e.run.budgets or {}).timeout
  if limit then -- a slow reply cannot carry the run past its timeout
    local left = math.max(1, limit - (sys.clock() - self.e.started))
    req.timeout = math.min(req.timeout or left, left)
  end
  local t0 = sys.clock()
  self.e:emit("llm.start", { agent = req.agent, model = req.model })
  local resp, err, code, failure = llm.chat(req)
  local attempts = resp and resp.attempts or (failure and failure.attempts) or {}
  if resp and #attempts == 0 then -- a provider that reports no attempts: one billed call
    attempts = { { usage = resp.usage or {}, cost = resp.cost, latency = sys.clock() - t0 } }
  end
  -- the ledger rows and the money they cost land in one transaction. The
  -- reply is stored in baton.json's encoding (C; cjson.encode cost ~3x as
  -- much, formatting every number as a float); cjson decodes either. A
  -- transaction that cannot begin or commit stops the run (Engine:tx): going
  -- on would use a reply the ledger does not hold, and buy it again on resume.
  self.e:tx(function()
    for i, a in ipairs(attempts) do
      a.attempt = a.attempt or i
      local last = resp and i == #attempts
      record(self, req, a, last and key or (key .. "~" .. i), last and "ok" or (a.status or "retry"),
        last and json.encode(resp) or nil)
      self:spend(a.usage or {}, a.cost)
    end
    if #attempts > 0 then self.e.db:update_run(self.e.run.id, { spent = self.e.run.spent }) end
    self.e:emit("llm", { agent = req.agent, model = req.model, latency = sys.clock() - t0,
      ok = resp ~= nil, code = code })
  end)
  -- the reply is durable before the tools it asks for run (a task's writes
  -- otherwise wait for the group commit at the loop's next idle point)
  local synced, serr = self.e.db:sync()
  if not synced then errors.raise(errors.FAILED, "%s", tostring(serr)) end
  if not resp then
    if FATAL[code] then errors.raise(errors.PROVIDER, "%s", tostring(err)) end
    return nil, err, code
  end
  return resp
end

return M
