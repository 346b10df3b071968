-- tests/lua/test_retry.lua: baton.retry: budgets, backoff (jitter bounds,
-- Retry-After as seconds and as an HTTP date, x-should-retry), retryable
-- statuses, and a real retry loop against the mock server's 500-then-ok
-- and 429 modes.
local T = ...
local retry = require "baton.retry"
local http = require "baton.http"
local loop = require "baton.loop"
local server = dofile(T.src .. "/tests/support/llm_server.lua")

T.test("retry-1.1 a budget counts down and resets", function()
  local b = retry.budget(2)
  T.eq(b.max, 2) T.eq(b.used, 0) T.eq(b:remaining(), 2) T.eq(b:exhausted(), false)
  T.eq(b:consume(), true) T.eq(b:consume(), true) T.eq(b:consume(), false)
  T.eq(b.used, 2) T.eq(b:exhausted(), true) T.eq(b:remaining(), 0)
  T.eq(tostring(b), "baton.retry.budget (2 of 2 used)")
  b:reset()
  T.eq(b.used, 0) T.eq(b:exhausted(), false)
  T.eq(retry.budget(0):consume(), false)
  T.raises(function() retry.budget(-1) end, "bad argument #1 to 'budget' (max must not be negative)")
  T.raises(function() retry.budget("x") end, "bad argument #1 to 'budget' (number expected, got string)")
end)

T.test("retry-1.2 backoff: full jitter under the exponential cap", function()
  for attempt = 0, 8 do
    local ceiling = math.min(30, 0.5 * 2 ^ attempt)
    for _ = 1, 50 do
      local d = retry.backoff { attempt = attempt }
      T.ok(d >= 0 and d <= ceiling, "attempt " .. attempt .. ": " .. d)
    end
  end
  T.eq(retry.backoff { attempt = 2, base = 1, cap = 10, random = 0.5 }, 2.0)
  T.eq(retry.backoff { attempt = 50, base = 1, cap = 10, random = 0.5 }, 5.0)
end)

T.test("retry-1.3 Retry-After (seconds or HTTP date) is a floor; x-should-retry", function()
  T.eq(retry.backoff { attempt = 0, retry_after = "7", random = 0 }, 7.0)
  T.eq(retry.backoff { attempt = 0, retry_after = "600", random = 0 }, 60.0, "capped by max_wait")
  T.eq(retry.backoff { attempt = 0, retry_after = "600", max_wait = 120, random = 0 }, 120.0)
  local future = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 20)
  local d = retry.backoff { attempt = 0, retry_after = future, random = 0 }
  T.ok(d >= 18 and d <= 20, "date 20 s ahead: " .. d)
  T.eq(retry.backoff { attempt = 0, retry_after = "garbage", random = 0.5 }, 0.25, "ignored")
  T.eq(retry.backoff { attempt = 0, should_retry = "false" }, nil)
  T.eq(retry.backoff { attempt = 0, should_retry = "true", random = 0 }, 0.0)
  T.eq(retry.http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777)
  T.eq(retry.http_date("yesterday"), nil)
  T.raises(function() retry.backoff { attempt = -1 } end, "retry.backoff: attempt must not be negative")
  T.raises(function() retry.backoff { base = -1 } end,
    "retry.backoff: base, cap and max_wait must be non-negative numbers")
  T.raises(function() retry.backoff { random = 1 } end, "retry.backoff: random must be in [0, 1)")
  T.raises(function() retry.backoff { retry_after = 5 } end, "option 'retry_after' must be a string, got number")
end)

T.test("retry-1.4 retryable statuses and transport codes", function()
  for _, s in ipairs { 408, 409, 429, 500, 502, 503, 529 } do T.eq(retry.retryable(s), true, s) end
  for _, s in ipairs { 200, 400, 401, 403, 404, 422 } do T.eq(retry.retryable(s), false, s) end
  for _, c in ipairs { "timeout", "idle_timeout", "connect", "truncated", "transport" } do
    T.eq(retry.retryable(c), true, c)
  end
  T.eq(retry.retryable("too_large"), false) T.eq(retry.retryable("cancelled"), false)
end)

-- A minimal retry policy, as a provider would write it.
local function with_retries(req, max)
  local attempts = 0
  while true do
    attempts = attempts + 1
    local res, err, code = http.request(req)
    local again = res and retry.retryable(res.status) or (not res and retry.retryable(code))
    if not again or attempts > max then return res, err, code, attempts end
    local wait = retry.backoff { attempt = attempts - 1, base = 0.05, cap = 0.2,
                                 retry_after = res and res.headers["retry-after"],
                                 should_retry = res and res.headers["x-should-retry"] }
    if not wait then return res, err, code, attempts end
    loop.sleep(wait)
  end
end

T.test("retry-1.5 500s then success: retried, then succeeds", function()
  local srv = server.start(T)
  local res, _, _, attempts = with_retries({ url = srv.url .. "/v1/chat/completions", body = "{}",
    headers = { ["x-mock-mode"] = "500-then-ok:2", ["x-mock-key"] = "r15" } }, 3)
  T.eq(res.status, 200) T.eq(attempts, 3)
end)

T.test("retry-1.6 429 with Retry-After waits that long; x-should-retry: false stops", function()
  local srv = server.start(T)
  local t0 = loop.now()
  local res, _, _, attempts = with_retries({ url = srv.url .. "/echo",
    headers = { ["x-mock-mode"] = "429", ["x-mock-retry-after"] = "1" } }, 1)
  T.eq(res.status, 429) T.eq(attempts, 2)
  T.ok(loop.now() - t0 >= 0.95, "waited for Retry-After")
  res, _, _, attempts = with_retries({ url = srv.url .. "/echo",
    headers = { ["x-mock-mode"] = "status:503", ["x-mock-should-retry"] = "false" } }, 5)
  T.eq(res.status, 503) T.eq(attempts, 1)
  res, _, _, attempts = with_retries({ url = srv.url .. "/echo", headers = { ["x-mock-mode"] = "status:401" } }, 5)
  T.eq(res.status, 401) T.eq(attempts, 1, "401 fails at once")
end)
