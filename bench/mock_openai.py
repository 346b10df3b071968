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
An asyncio server, one coroutine per connection (keep-alive): a thread per
connection and http.server's header parsing cost ~2 ms of CPU per request,
as much as baton itself on a 2-core machine, and stretched the latency.
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


async def serve(reader, writer):
    """One keep-alive connection: requests in turn, each answered after LATENCY."""
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ", 1)[0]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if method == "GET":
                out = response(200, {"requests": count})
            else:
                count += 1
                due = asyncio.get_running_loop().time() + LATENCY
                # the reply is built while the latency runs, so the mock's own
                # CPU (~0.4 ms a request) does not add to the latency baton sees
                try:
                    out = response(200, completion(reply(json.loads(body))))
                except ValueError as e:
                    out = response(400, {"error": {"message": "bad request: %s" % e}})
                wait = due - asyncio.get_running_loop().time()
                if wait > 0:
                    await asyncio.sleep(wait)
            writer.write(out)  # one write: headers and body leave together
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    srv = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
