-- tests/lua/test_http.lua: baton.http against the real mock server
-- (tests/support/llm_server.py) on 127.0.0.1: plain requests, SSE streaming
-- (also one byte at a time), every fault mode, timeouts, cancellation and
-- concurrency. Time bounds are generous sanity checks; speed is in bench/.
local T = ...
local http = require "baton.http"
local loop = require "baton.loop"
local cjson = require "cjson"
local server = dofile(T.src .. "/tests/support/llm_server.lua")

local function chat_body(stream, text)
  return cjson.encode { model = "m", stream = stream, messages = { { role = "user", content = text or "hi there" } } }
end

-- Streams a chat request; returns the events, res, err, code.
local function stream(srv, path, mode, opts)
  local events = {}
  local req = { url = srv.url .. path, body = chat_body(true), headers = { ["x-mock-mode"] = mode },
                on_event = function(ev) events[#events + 1] = ev end }
  for k, v in pairs(opts or {}) do req[k] = v end
  local res, err, code = http.request(req)
  return events, res, err, code
end

local function openai_text(events)
  local parts = {}
  for _, ev in ipairs(events) do
    if ev.data ~= "[DONE]" then
      local c = cjson.decode(ev.data).choices[1]
      if c and c.delta.content then parts[#parts + 1] = c.delta.content end
    end
  end
  return table.concat(parts)
end

T.test("http-1.1 GET and POST: method, headers, body; response headers lowercased", function()
  local srv = server.start(T)
  local res, err = http.request { url = srv.url .. "/echo" }
  T.eq(err, nil)
  T.eq(res.status, 200)
  T.eq(res.headers["content-type"], "application/json")
  local echo = cjson.decode(res.body)
  T.eq(echo.method, "GET") T.eq(echo.body, "")
  res = http.request { url = srv.url .. "/echo?q=1", method = "PUT", body = "payload\0bin",
                       headers = { ["X-Custom"] = "v1", ["content-type"] = "text/plain", ["X-N"] = 5 } }
  echo = cjson.decode(res.body)
  T.eq(echo.method, "PUT") T.eq(echo.path, "/echo?q=1") T.eq(echo.body, "payload\0bin")
  T.eq(echo.headers["x-custom"], "v1") T.eq(echo.headers["x-n"], "5")
  T.eq(echo.headers["content-type"], "text/plain")
  T.eq(echo.headers.expect, nil, "no Expect: 100-continue")
  res = http.request { url = srv.url .. "/echo", body = "{}" }
  T.eq(cjson.decode(res.body).method, "POST", "a body means POST")
end)

T.test("http-1.2 OpenAI and Anthropic non-streaming replies", function()
  local srv = server.start(T)
  local res = http.request { url = srv.url .. "/v1/chat/completions", body = chat_body(false, "ping") }
  T.eq(res.status, 200)
  local j = cjson.decode(res.body)
  T.eq(j.choices[1].message.content, "mock reply to: ping")
  res = http.request { url = srv.url .. "/v1/messages", body = chat_body(false, "pong") }
  T.eq(cjson.decode(res.body).content[1].text, "mock reply to: pong")
end)

T.test("http-1.3 SSE: events arrive in order, whole or one byte at a time", function()
  local srv = server.start(T)
  for _, mode in ipairs { "", "sse-1byte" } do
    local events, res, err = stream(srv, "/v1/chat/completions", mode)
    T.eq(err, nil, mode)
    T.eq(res.status, 200) T.eq(res.streamed, true) T.eq(res.body, "")
    T.eq(res.incomplete_event, nil)
    T.eq(events[#events].data, "[DONE]")
    T.eq(events[1].event, "message")
    T.eq(openai_text(events), "mock reply to: hi there", mode)
  end
end)

T.test("http-1.4 SSE: Anthropic event names, inside a task too", function()
  local srv = server.start(T)
  local t = loop.spawn(function() return stream(srv, "/v1/messages", "sse-1byte") end)
  local ok, events, res = t:wait()
  T.eq(ok, true) T.eq(res.status, 200)
  local names = {}
  for _, ev in ipairs(events) do names[#names + 1] = ev.event end
  T.eq(table.concat(names, ","), "message_start,ping,content_block_start," ..
    string.rep("content_block_delta,", 5) .. "content_block_stop,message_delta,message_stop")
end)

T.test("http-1.5 an error event mid-stream reaches on_event", function()
  local srv = server.start(T)
  local events, res = stream(srv, "/v1/messages", "error-event")
  T.eq(res.status, 200)
  T.eq(#events, 2)
  T.eq(events[2].event, "error")
  T.eq(cjson.decode(events[2].data).error.type, "overloaded_error")
  events = stream(srv, "/v1/chat/completions", "error-event")
  T.eq(cjson.decode(events[2].data).error.message, "stream failed")
end)

T.test("http-1.6 a stream cut mid-event: the whole events, then 'truncated'", function()
  local srv = server.start(T)
  local events, res, err, code = stream(srv, "/v1/chat/completions", "cut-mid-event")
  T.eq(res, nil)
  T.eq(code, "truncated")
  T.match(err, "^http: response truncated %(")
  T.eq(#events, 2)
  T.eq(events[2].data, '{"n": 2}')
end)

T.test("http-1.7 truncated body, bad JSON, 429 and 5xx come back as they are", function()
  local srv = server.start(T)
  local res, err, code = http.request { url = srv.url .. "/echo", headers = { ["x-mock-mode"] = "truncated" } }
  T.eq(res, nil) T.eq(code, "truncated")
  T.eq(err, "http: response truncated (transfer closed with 987 bytes remaining to read)")
  res = http.request { url = srv.url .. "/v1/chat/completions", headers = { ["x-mock-mode"] = "badjson" } }
  T.eq(res.status, 200)
  T.eq(pcall(cjson.decode, res.body), false)
  res = http.request { url = srv.url .. "/v1/messages", headers = { ["x-mock-mode"] = "429",
                       ["x-mock-retry-after"] = "7", ["x-mock-should-retry"] = "true" } }
  T.eq(res.status, 429)
  T.eq(res.headers["retry-after"], "7")
  T.eq(res.headers["x-should-retry"], "true")
  T.eq(cjson.decode(res.body).error.type, "rate_limit_error")
  res = http.request { url = srv.url .. "/v1/chat/completions", headers = { ["x-mock-mode"] = "500-then-ok",
                       ["x-mock-key"] = "k1" }, body = chat_body(false) }
  T.eq(res.status, 500)
  res = http.request { url = srv.url .. "/v1/chat/completions", headers = { ["x-mock-mode"] = "500-then-ok",
                       ["x-mock-key"] = "k1" }, body = chat_body(false) }
  T.eq(res.status, 200)
end)

T.test("http-1.8 a server that never answers: 'timeout' within the limit", function()
  local srv = server.start(T)
  local t0 = loop.now()
  local res, err, code = http.request { url = srv.url .. "/echo", timeout = 0.5,
                                        headers = { ["x-mock-mode"] = "hang" } }
  local took = loop.now() - t0
  T.eq(res, nil) T.eq(code, "timeout")
  T.eq(err, "http: request timed out after 0.5 s")
  T.ok(took >= 0.45 and took < 5, "took " .. took)
  res, err, code = http.request { url = srv.url .. "/echo", timeout = 30, idle_timeout = 0.3,
                                  headers = { ["x-mock-mode"] = "hang" } }
  T.eq(res, nil) T.eq(code, "idle_timeout") T.eq(err, "http: no data received for 0.3 s")
end)

T.test("http-1.9 a stalled stream: 'idle_timeout' after the events that came", function()
  local srv = server.start(T)
  local t0 = loop.now()
  local events, res, err, code = stream(srv, "/v1/chat/completions", "stall", { idle_timeout = 0.4 })
  T.eq(res, nil) T.eq(code, "idle_timeout")
  T.eq(err, "http: no data received for 0.4 s")
  T.eq(#events, 1)
  T.ok(loop.now() - t0 < 5, "bounded")
end)

T.test("http-1.10 size cap and a refused connection", function()
  local srv = server.start(T)
  local res, err, code = http.request { url = srv.url .. "/x", headers = { ["x-mock-mode"] = "big:100000" },
                                        max_size = 1000 }
  T.eq(res, nil) T.eq(code, "too_large") T.eq(err, "http: response larger than 1000 bytes")
  res = http.request { url = srv.url .. "/x", headers = { ["x-mock-mode"] = "big:1000" }, max_size = 1000 }
  T.eq(#res.body, 1000, "exactly at the cap is fine")
  res, err, code = http.request { url = "http://127.0.0.1:1/" }
  T.eq(res, nil) T.eq(code, "connect")
  T.match(err, "^http: cannot connect %(")
end)

T.test("http-1.11 on_event returning false or raising aborts the transfer", function()
  local srv = server.start(T)
  local n = 0
  local res, err, code = http.request { url = srv.url .. "/v1/chat/completions", body = chat_body(true),
    on_event = function() n = n + 1 return n < 2 end }
  T.eq(res, nil) T.eq(code, "cancelled") T.eq(err, "http: request aborted by on_event")
  T.eq(n, 2)
  T.raises(function()
    http.request { url = srv.url .. "/v1/chat/completions", body = chat_body(true),
                   on_event = function() error("handler broke") end }
  end, "handler broke")
  -- the server is still fine afterwards
  T.eq(http.request { url = srv.url .. "/echo" }.status, 200)
end)

T.test("http-1.12 32 concurrent 200 ms requests take about 200 ms, not 6.4 s", function()
  local srv = server.start(T)
  local tasks, t0 = {}, loop.now()
  for i = 1, 32 do
    tasks[i] = loop.spawn(function()
      local res = http.request { url = srv.url .. "/echo", headers = { ["x-mock-mode"] = "delay:200" } }
      return res.status
    end)
  end
  local results = loop.wait_all(tasks)
  local took = loop.now() - t0
  for i = 1, 32 do T.eq(results[i].values[1], 200, "task " .. i) end
  T.ok(took >= 0.19 and took < 1.5, "32 x 200 ms took " .. took)
  io.stdout:write(string.format("# 32 x 200 ms requests: %.0f ms wall\n", took * 1000))
end)

T.test("http-1.13 cancelling a task with a request in flight", function()
  local srv = server.start(T)
  local t = loop.spawn(function()
    return http.request { url = srv.url .. "/echo", headers = { ["x-mock-mode"] = "hang" } }
  end)
  local other = loop.spawn(function()
    return http.request { url = srv.url .. "/echo", headers = { ["x-mock-mode"] = "delay:100" } }
  end)
  loop.sleep(0.1)
  T.eq(t:status(), "waiting")
  T.eq(loop.cancel(t), true)
  local res = loop.wait_all { t, other }
  T.eq(res[1].err, "cancelled")
  T.eq(res[2].values[1].status, 200, "the other request was not disturbed")
end)

T.test("http-1.14 sequential requests reuse the connection", function()
  local srv = server.start(T)
  for i = 1, 50 do
    local res = http.request { url = srv.url .. "/v1/chat/completions", body = chat_body(false, "n" .. i) }
    T.eq(cjson.decode(res.body).choices[1].message.content, "mock reply to: n" .. i)
  end
  local stats = cjson.decode(http.request { url = srv.url .. "/stats" }.body)
  T.eq(stats.paths["/v1/chat/completions"], 50)
end)

T.test("http-1.15 on_event may wait: it yields inside a task and blocks outside", function()
  local srv = server.start(T)
  local function run()
    local n, yieldable = 0, nil
    local res = http.request { url = srv.url .. "/v1/chat/completions", body = chat_body(true),
      on_event = function() loop.sleep(0.001) n = n + 1 yieldable = coroutine.isyieldable() end }
    return res.status, n, yieldable
  end
  local status, n, y = run()
  T.eq(status, 200) T.eq(n, 8) T.eq(y, false)
  local ticks = 0
  local ticker = loop.spawn(function() for _ = 1, 5 do loop.sleep(0.001) ticks = ticks + 1 end end)
  local ok, s2, n2, y2 = loop.spawn(run):wait()
  T.eq(ok, true) T.eq(s2, 200) T.eq(n2, 8) T.eq(y2, true)
  T.eq(ticker:wait(), true)
  T.eq(ticks, 5)
  -- an error raised by on_event after it yielded still aborts and propagates
  local bad = loop.spawn(function()
    return http.request { url = srv.url .. "/v1/chat/completions", body = chat_body(true),
      on_event = function() loop.sleep(0.001) error("late failure", 0) end }
  end)
  local _, err = bad:wait()
  T.match(err, "^late failure\nstack traceback:")
end)

T.test("http-1.16 caller mistakes raise with a clear message", function()
  T.raises(function() http.request() end, "bad argument #1 to 'request' (table expected, got no value)")
  T.raises(function() http.request {} end, "http.request: option 'url' is required")
  T.raises(function() http.request { url = "file:///etc/passwd" } end,
    "http.request: url must start with http:// or https://")
  T.raises(function() http.request { url = "http://x/ y" } end, "http.request: url contains white space")
  T.raises(function() http.request { url = "http://x/", timout = 1 } end, "http.request: unknown option 'timout'")
  T.raises(function() http.request { "http://x/" } end,
    "http.request: options must be named (got a number key)")
  T.raises(function() http.request { url = "http://x/", method = "get" } end, "http.request: bad method 'get'")
  T.raises(function() http.request { url = "http://x/", headers = { ["X"] = "a\r\nInjected: 1" } } end,
    "http.request: header 'X' contains a line break or NUL")
  T.raises(function() http.request { url = "http://x/", headers = { ["Bad Name"] = "a" } } end,
    "http.request: bad header name Bad Name")
  T.raises(function() http.request { url = "http://x/", headers = { "positional" } } end,
    "http.request: bad header name number")
  T.raises(function() http.request { url = "http://x/", timeout = -1 } end,
    "http.request: timeouts must be non-negative numbers")
  T.raises(function() http.request { url = "http://x/", max_size = -1 } end,
    "http.request: max_size must not be negative")
  T.raises(function() http.request { url = "http://x/", on_event = 1 } end,
    "option 'on_event' must be a function")
  T.raises(function() http.request { url = "http://x/", body = {} } end, "option 'body' must be a string")
end)

T.test("http-1.17 exiting with requests in flight stops them cleanly", function()
  local srv = server.start(T)
  local dir = T.tmpdir()
  T.write(dir .. "/left.lua", string.format([[
    local http, loop = require "baton.http", require "baton.loop"
    for i = 1, 3 do
      loop.spawn(function() http.request { url = %q, headers = { ["x-mock-mode"] = "hang" } } end)
    end
    loop.sleep(0.2)
    print("leaving")
  ]], srv.url .. "/echo"))
  local r = T.baton({ "exec", dir .. "/left.lua" })
  T.eq(r.err, "") T.eq(r.out, "leaving\n") T.eq(r.code, 0)
end)

T.test("http-1.18 cancelling a task mid-stream, and a task cancelling itself in on_event", function()
  local srv = server.start(T)
  local got = 0
  local t = loop.spawn(function()
    return stream(srv, "/v1/chat/completions", "stall", { on_event = function() got = got + 1 end })
  end)
  local self_t
  self_t = loop.spawn(function()
    return stream(srv, "/v1/chat/completions", "sse-1byte", { on_event = function() loop.cancel(self_t) end })
  end)
  loop.sleep(0.3)
  T.eq(got, 1, "the stalled stream delivered its first event")
  T.eq(loop.cancel(t), true)
  local res = loop.wait_all { t, self_t }
  T.eq(res[1].err, "cancelled")
  T.eq(res[2].err, "cancelled")
  T.eq(http.request { url = srv.url .. "/echo" }.status, 200, "the loop goes on")
end)

T.test("http-1.19 a reused handle carries nothing over: method, headers, body, limits, stream", function()
  local srv = server.start(T)
  local res, err, code = http.request { url = srv.url .. "/echo", method = "PUT", body = "old",
    headers = { ["x-old"] = "1" }, timeout = 0.3, max_size = 10 }
  T.eq(code, "too_large", err)
  local events = stream(srv, "/v1/chat/completions", nil, { timeout = 30 })
  T.ok(#events > 0, "streamed")
  res, err, code = http.request { url = srv.url .. "/echo", timeout = 0.3, headers = { ["x-mock-mode"] = "hang" } }
  T.eq(code, "timeout", err)
  res = http.request { url = srv.url .. "/echo", method = "DELETE" }
  T.eq(cjson.decode(res.body).method, "DELETE")
  for _ = 1, 3 do -- the handles of all the requests above, one after the other
    res = assert(http.request { url = srv.url .. "/echo" })
    local echo = cjson.decode(res.body)
    T.eq(echo.method, "GET") T.eq(echo.body, "")
    T.eq(echo.headers["x-old"], nil) T.eq(echo.headers["x-mock-mode"], nil)
    T.eq(res.streamed, nil)
  end
end)

T.test("http-1.20 many URLs: parsed once each, past the cache too; Accept-Encoding is gzip only", function()
  local srv = server.start(T)
  for round = 1, 2 do
    for i = 1, 12 do -- 8 are kept parsed, the rest go to curl as text
      local path = string.format("/echo?n=%d&r=%d", i, round)
      local res, err = http.request { url = srv.url .. path, body = "b" .. i }
      T.eq(err, nil)
      local echo = cjson.decode(res.body)
      T.eq(echo.path, path) T.eq(echo.body, "b" .. i) T.eq(echo.method, "POST")
      T.eq(echo.headers["accept-encoding"], "gzip")
    end
  end
  -- a server (or proxy) that compresses: the body comes decoded
  local res, err = http.request { url = srv.url .. "/echo?mode=gzip", body = "zipped" }
  T.eq(err, nil)
  T.eq(res.headers["content-encoding"], "gzip")
  T.eq(cjson.decode(res.body).body, "zipped")
  -- the same URL with user info and a fragment, and a bad port: curl's own verdicts, as before
  local res = http.request { url = srv.url:gsub("//", "//user:pw@") .. "/echo#frag" }
  T.eq(cjson.decode(res.body).path, "/echo")
  T.eq(cjson.decode(res.body).headers.authorization, "Basic dXNlcjpwdw==")
  local _, err, code = http.request { url = "http://127.0.0.1:99999/x" }
  T.eq(code, "transport")
  T.match(err, "^http: ")
end)
