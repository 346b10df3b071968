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

The mock's own CPU is not part of what the benchmark measures, but on a
2-core machine it is serial work beside baton's: at N = 64 a burst of 64
requests cost it 64 x its time per request before the last reply could even
be scheduled. Hence one thread, one epoll loop over non-blocking sockets and a
heap of due replies (asyncio's protocol machinery cost ~0.35-0.4 ms of CPU a
request, http.server's thread per connection ~2 ms), and each distinct reply
encoded once. Every request body is still parsed as JSON (a malformed one gets
a 400; so does a request without a usable Content-Length, and its connection
is closed after the reply), and replies leave each connection in request order, each LATENCY after
its request arrived.
"""
import heapq
import json
import selectors
import socket
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 16
LATENCY = float(sys.argv[2]) / 1000.0 if len(sys.argv) > 2 else 0.05
count = 0


def tool_call(i, name, args):
    return {"id": "call_%d" % i, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}


def reply_kind(req):
    """Which reply the rules give this request: a short hashable name."""
    msgs = req.get("messages", [])
    system = " ".join(m.get("content") or "" for m in msgs if m.get("role") == "system")
    last = msgs[-1] if msgs else {}
    if "planner" in system:
        return "plan complete" if last.get("role") == "tool" else "plan"
    if "review" in system:
        return "review"
    if last.get("role") == "tool":
        return "done"
    text = last.get("content") or ""
    if "out/file" in text:
        return "out/file%s.txt" % text.split("out/file", 1)[1].split(".txt", 1)[0]
    return "out/x.txt"


def reply_message(kind):
    if kind == "plan":
        calls = [tool_call(i, "add_requirement", {
            "key": "t%d" % i, "description": "Write out/file%d.txt" % i,
            "acceptance": ["out/file%d.txt exists" % i], "role": "backend"}) for i in range(N)]
        return {"role": "assistant", "content": None, "tool_calls": calls}
    if kind == "review":
        return {"role": "assistant", "content": json.dumps({"approved": True, "reasons": []})}
    if kind in ("plan complete", "done"):
        return {"role": "assistant", "content": kind}
    return {"role": "assistant", "content": None,
            "tool_calls": [tool_call(0, "write_file", {"path": kind, "content": "data\n"})]}


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


_replies = {}


def answer(method, body):
    """The whole HTTP reply to one request (headers and body)."""
    global count
    if method == b"get":
        return response(200, {"requests": count})
    count += 1
    try:
        kind = reply_kind(json.loads(body))
    except (ValueError, AttributeError, TypeError) as e:
        return response(400, {"error": {"message": "bad request: %s" % e}})
    out = _replies.get(kind)
    if out is None:
        out = _replies[kind] = response(200, completion(reply_message(kind)))
    return out


def body_length(head):
    """The request's body length from its lowercased head (request line and
    headers), or None when the mock cannot frame it: a Content-Length that
    is not a number of bytes, or a chunked body."""
    if b"\r\ntransfer-encoding:" in head:
        return None
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    stop = head.find(b"\r\n", at + 2)
    value = head[at + 17:stop if stop > 0 else len(head)].strip()
    return int(value) if value.isdigit() else None


class Conn:
    """One keep-alive connection: bytes read so far, bytes not yet sent,
    when its previous reply is due (HTTP/1.1 answers in order), how many
    replies are queued, and whether it closes once they are sent (after a
    request it cannot frame, the rest of the stream means nothing)."""
    __slots__ = ("sock", "buf", "out", "last_due", "closed", "queued", "last")

    def __init__(self, sock):
        self.sock, self.buf, self.out, self.last_due, self.closed = sock, b"", b"", 0.0, False
        self.queued, self.last = 0, False


class Server:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.due = []  # heap of (time, order, conn, reply)
        self.order = 0
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1024)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, None)

    def close(self, c):
        if not c.closed:
            c.closed = True
            self.sel.unregister(c.sock)
            c.sock.close()

    def accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sel.register(s, selectors.EVENT_READ, Conn(s))

    def flush(self, c):
        try:
            n = c.sock.send(c.out)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self.close(c)
            return
        c.out = c.out[n:]
        if c.last and not c.out and not c.queued:
            self.close(c)
            return
        self.sel.modify(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0), c)

    def read(self, c):
        try:
            data = c.sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(c)
            return
        if c.last:  # its last reply is queued: what follows is dropped
            return
        c.buf = c.buf + data if c.buf else data
        while True:
            end = c.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = c.buf[:end].lower()
            length = body_length(head)
            if length is None:
                c.buf, c.last = b"", True
                self.queue(c, time.monotonic(), response(400, {"error": {
                    "message": "bad request: no Content-Length to frame the body by"}}))
                return
            if len(c.buf) < end + 4 + length:
                return
            body, c.buf = c.buf[end + 4:end + 4 + length], c.buf[end + 4 + length:]
            now = time.monotonic()
            method = head[:head.find(b" ")]
            self.queue(c, now + (LATENCY if method != b"get" else 0.0), answer(method, body))

    def queue(self, c, due, reply):
        """Sends reply on c at due, but not before c's previous reply."""
        due = max(due, c.last_due)
        c.last_due = due
        c.queued += 1
        self.order += 1
        heapq.heappush(self.due, (due, self.order, c, reply))

    def send_due(self):
        now = time.monotonic()
        while self.due and self.due[0][0] <= now:
            _, _, c, out = heapq.heappop(self.due)
            c.queued -= 1
            if c.closed:
                continue
            if c.out:
                c.out += out
            else:
                c.out = out
                self.flush(c)  # one write: headers and body leave together

    def serve(self):
        while True:
            timeout = max(0.0, self.due[0][0] - time.monotonic()) if self.due else None
            for key, events in self.sel.select(timeout):
                c = key.data
                if c is None:
                    self.accept()
                    continue
                if events & selectors.EVENT_WRITE and not c.closed:
                    self.flush(c)
                if events & selectors.EVENT_READ and not c.closed:
                    self.read(c)
            self.send_due()


if __name__ == "__main__":
    server = Server()
    print(server.lsock.getsockname()[1], flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
