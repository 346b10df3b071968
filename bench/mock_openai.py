#!/usr/bin/env python3
"""bench/mock_openai.py: the reference workflow's LLM, an OpenAI-compatible
chat-completions server on 127.0.0.1 with a fixed artificial latency.

Standard library only. It answers by rule:
  planner (system prompt mentions "planner")  -> N add_requirement tool calls
                                                (then "plan complete" after the results)
  reviewer (system prompt mentions "review")  -> {"approved": true, "reasons": []}
  a worker's first call                        -> one write_file tool call
  a worker's call after a tool result          -> a final "done" text
Usage: mock_openai.py N LATENCY_MS  (prints the port on its first line)
GET /stats returns {"requests": count}.
An asyncio server, one protocol object per connection (keep-alive): a
thread per connection and http.server's header parsing cost ~2 ms of CPU
per request, as much as baton itself on a 2-core machine, and stretched the
latency; asyncio's stream coroutines cost ~0.45 ms a request.
"""
import asyncio
import json
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 16
LATENCY = float(sys.argv[2]) / 1000.0 if len(sys.argv) > 2 else 0.05
count = 0


def tool_call(i, name, args):
    return {"id": "call_%d" % i, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}


def reply(req):
    msgs = req.get("messages", [])
    system = " ".join(m.get("content") or "" for m in msgs if m.get("role") == "system")
    last = msgs[-1] if msgs else {}
    if "planner" in system and last.get("role") == "tool":
        return {"role": "assistant", "content": "plan complete"}
    if "planner" in system:
        calls = [tool_call(i, "add_requirement", {
            "key": "t%d" % i, "description": "Write out/file%d.txt" % i,
            "acceptance": ["out/file%d.txt exists" % i], "role": "backend"}) for i in range(N)]
        return {"role": "assistant", "content": None, "tool_calls": calls}
    if "review" in system:
        return {"role": "assistant", "content": json.dumps({"approved": True, "reasons": []})}
    if last.get("role") == "tool":
        return {"role": "assistant", "content": "done"}
    text = last.get("content") or ""
    name = "out/file%s.txt" % text.split("out/file", 1)[1].split(".txt", 1)[0] if "out/file" in text else "out/x.txt"
    return {"role": "assistant", "content": None,
            "tool_calls": [tool_call(0, "write_file", {"path": name, "content": "data\n"})]}


def completion(msg):
    return {"id": "cmpl", "object": "chat.completion", "model": "mock",
            "choices": [{"index": 0, "message": msg,
                         "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


def response(status, obj):
    body = json.dumps(obj).encode()
    head = "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (
        status, "OK" if status == 200 else "Bad Request", len(body))
    return head.encode() + body


class Conn(asyncio.Protocol):
    """One keep-alive connection, as a protocol (callbacks, no stream
    coroutines: asyncio's StreamReader cost about half the mock's CPU, and the
    mock must not become the bottleneck at 64 requests in a burst). Requests
    are answered in order, each LATENCY after it arrived."""

    def connection_made(self, transport):
        self.transport, self.buf, self.last_due = transport, b"", 0.0

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body, self.buf = self.buf[end + 4:end + 4 + length], self.buf[end + 4 + length:]
            self.answer(lines[0].split(" ", 1)[0], body)

    def answer(self, method, body):
        global count
        loop = asyncio.get_running_loop()
        if method == "GET":
            out, due = response(200, {"requests": count}), loop.time()
        else:
            count += 1
            due = loop.time() + LATENCY
            # the reply is built while the latency runs: the mock's own CPU
            # does not add to the latency baton sees
            try:
                out = response(200, completion(reply(json.loads(body))))
            except ValueError as e:
                out = response(400, {"error": {"message": "bad request: %s" % e}})
        due = max(due, self.last_due)  # HTTP/1.1: replies leave in request order
        self.last_due = due
        loop.call_at(due, self.send, out)

    def send(self, out):
        if not self.transport.is_closing():
            self.transport.write(out)  # one write: headers and body leave together


async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(Conn, "127.0.0.1", 0, backlog=1024)
    print(srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
