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
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

N = int(sys.argv[1]) if len(sys.argv) > 1 else 16
LATENCY = float(sys.argv[2]) / 1000.0 if len(sys.argv) > 2 else 0.05
lock = threading.Lock()
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send_json({"requests": count})

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            count += 1
        if LATENCY > 0:
            time.sleep(LATENCY)
        msg = reply(json.loads(body))
        self.send_json({"id": "cmpl", "object": "chat.completion", "model": "mock",
                        "choices": [{"index": 0, "message": msg,
                                     "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
