-- tests/lua/test_bench_tools.lua: the benchmark's own tools (bench/), which
-- its figures rest on: mock_openai.py over raw HTTP/1.1 (pipelined requests,
-- a request dribbled byte by byte, a client that leaves early, malformed
-- requests answered 400 without taking the server down) and floor.c, built
-- with the project's warnings, against a mock whose plan reply is > 64 KB.
local T = ...
local sys = require "baton.sys"

-- Starts the mock (N tasks, no latency); stopped and reaped when the case ends.
local function mock(n)
  local f = assert(io.popen("echo $$; exec python3 " .. T.q(T.src .. "/bench/mock_openai.py") ..
    " " .. n .. " 0", "r"))
  local pid, port = tonumber(f:read("l")), tonumber(f:read("l"))
  T.defer(function()
    if pid then sys.kill(pid, 15) end
    f:close()
  end)
  T.ok(pid and port, "the mock started")
  return port
end

-- A raw client: each step prints what came back, one line each.
local CLIENT = [[
import socket, sys
port = int(sys.argv[1])
def req(body, length=None):
    length = str(len(body)) if length is None else length
    return ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n%s"
            % (length, body)).encode()
def work(i):
    return '{"messages":[{"role":"user","content":"Write out/file%d.txt"}]}' % i
def replies(s, k):
    s.settimeout(20)
    data, out = b"", []
    while len(out) < k:
        d = s.recv(1 << 20)
        if not d:
            out.append("closed")
            break
        data += d
        while True:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                break
            head = data[:end].lower()
            n = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            if len(data) < end + 4 + n:
                break
            body = data[end + 4:end + 4 + n].decode()
            data = data[end + 4 + n:]
            what = ("file%s" % body.split("out/file")[1][0]) if "out/file" in body else \
                "bad request" if "bad request" in body else "?"
            out.append(head.split(b"\r\n")[0].decode() + " " + what)
    return out
def conn():
    return socket.create_connection(("127.0.0.1", port))
s = conn()
s.sendall(req(work(1)) + req(work(2)) + req("not json") + req(work(3)))
print("pipelined:", ", ".join(replies(s, 4)))
for b in req(work(4)):
    s.send(bytes([b]))
print("dribbled:", ", ".join(replies(s, 1)))
early = conn()
early.sendall(req(work(5)))
early.close()
for bad in ("abc", "-5"):
    b = conn()
    b.sendall(req(work(6), bad) + req(work(7)))
    print("length %s:" % bad, ", ".join(replies(b, 2)))
s.sendall(req(work(8)))
print("after:", ", ".join(replies(s, 1)))
c = conn()
c.sendall(req(work(9)))
print("new connection:", ", ".join(replies(c, 1)))
]]

T.test("bench-1.1 the mock: pipelined, dribbled, early close, malformed lengths", function()
  local port = mock(4)
  local r = T.run({ "python3", "-c", CLIENT, tostring(port) })
  T.eq(r.err, "", "client stderr")
  T.eq(r.out, table.concat({
    "pipelined: http/1.1 200 ok file1, http/1.1 200 ok file2, http/1.1 400 bad request bad request, " ..
      "http/1.1 200 ok file3",
    "dribbled: http/1.1 200 ok file4",
    "length abc: http/1.1 400 bad request bad request, closed",
    "length -5: http/1.1 400 bad request bad request, closed",
    "after: http/1.1 200 ok file8",
    "new connection: http/1.1 200 ok file9",
    "" }, "\n"))
  T.eq(r.code, 0, "client exit")
end)

T.test("bench-1.2 floor.c builds warning-free and reads a plan reply of more than 64 KB", function()
  local dir = T.tmpdir()
  local cc = T.run({ "cc", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Wwrite-strings",
    "-Wmissing-prototypes", "-Werror",
    "-o", dir .. "/floor", T.src .. "/bench/floor.c" })
  T.eq(cc.err, "", "compiler output")
  T.eq(cc.code, 0, "cc exit")
  local n = 300 -- the plan reply: ~69 KB
  local r = T.run({ dir .. "/floor", tostring(mock(n)), tostring(n) })
  T.eq(r.err, "", "floor stderr")
  T.match(r.out, "^%d+%.%d%d%d%d\n$", "the wall time")
  T.eq(r.code, 0, "floor exit")
end)
