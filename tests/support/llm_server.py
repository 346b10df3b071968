#!/usr/bin/env python3
"""llm_server.py: a local mock LLM server for baton's tests and benchmarks.

Python 3 standard library only. Binds 127.0.0.1 on a free port and prints
"PORT PID" as its first stdout line; it exits when killed or when its parent
dies. Start it from Lua with tests/support/llm_server.lua (which also stops
and reaps it). HTTP/1.1 with keep-alive; streams use chunked encoding.

Endpoints
  POST /v1/chat/completions  OpenAI chat completions; "stream": true gives SSE
                             chunks (text deltas, tool-call deltas, a usage
                             chunk when stream_options.include_usage) and
                             "data: [DONE]".
  POST /v1/messages          Anthropic messages; "stream": true gives the
                             message_start ... message_stop event sequence,
                             with a ping, text_delta and input_json_delta.
  POST /api/chat             Ollama chat; "stream": true (its default) gives
                             NDJSON lines.
  ANY  /echo                 {"method","path","headers","body"} of the request.
  GET  /stats                {"requests": n, "modes": {mode: n}, "paths": {path: n}}
  POST /reset                clears the counters, the script and the 500-then-ok state.
  POST /script               body: a JSON array of replies, consumed in order by
                             the next LLM requests (before x-mock-reply).

The reply of an LLM endpoint: the next scripted one, else the JSON of header
x-mock-reply, else "mock reply to: <last user text>". A reply is
{"text": str, "tool_calls": [{"id", "name", "arguments": {...}}],
 "finish_reason": str, "usage": {"input_tokens", "output_tokens"},
 "status": int, "error": {"type", "message"}}  (status/error: fail instead).

Fault modes: header x-mock-mode (or ?mode=) on any endpoint
  sse-1byte         stream the reply in one-byte chunks (forces stream)
  delay:MS          wait MS milliseconds before answering
  429               429 with Retry-After (header x-mock-retry-after, default 1)
  500-then-ok[:N]   the first N (default 1) requests with the same x-mock-key
                    get 500, later ones the normal reply
  status:CODE       that status with the provider's error body shape
  truncated         Content-Length promises more than is sent, then close
  badjson           200 with a body that is not JSON
  cut-mid-event     stream two events then half an event, then drop the
                    connection (no final chunk)
  error-event       stream a delta, then the provider's error event, then end
  stall             stream one event, then send nothing (idle timeouts)
  hang              accept and read the request, never answer
  big:N             200 with a body of N bytes of "x"
  gzip              the (non-streamed) body gzip-compressed, Content-Encoding:
                    gzip, whatever the request's Accept-Encoding said
Header x-mock-should-retry: V is sent back as x-should-retry: V.
"""
import gzip
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STATE = {"requests": 0, "modes": {}, "paths": {}, "script": [], "fails": {}}


def count(mode, path):
    with LOCK:
        STATE["requests"] += 1
        STATE["modes"][mode] = STATE["modes"].get(mode, 0) + 1
        STATE["paths"][path] = STATE["paths"].get(path, 0) + 1


def last_user_text(messages):
    for m in reversed(messages or []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            return str(c)
    return ""


def words(n):
    return len(str(n).split())


def error_body(kind, status, message):
    if kind == "anthropic":
        etype = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}
        return {"type": "error", "error": {"type": etype.get(status, "api_error"), "message": message}}
    if kind == "ollama":
        return {"error": message}
    return {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error",
                      "param": None, "code": None}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body writes
    server_version = "baton-mock/1"

    def log_message(self, fmt, *args):  # quiet: tests read stdout/stderr
        pass

    # ---- plumbing -------------------------------------------------------
    def read_body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype="application/json", extra=None):
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        if self.gzip:
            body = gzip.compress(body)
        self.send_response(status)
        self.send_header("content-type", ctype)
        if self.gzip:
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, ctype="text/event-stream"):
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.one_byte:
            for i in range(len(data)):
                self.wfile.write(b"1\r\n" + data[i:i + 1] + b"\r\n")
                self.wfile.flush()
        elif data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self):
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    # ---- dispatch -------------------------------------------------------
    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        url = urlparse(self.path)
        raw = self.read_body()
        mode = self.headers.get("x-mock-mode") or parse_qs(url.query).get("mode", [""])[0]
        count(mode or "normal", url.path)
        self.one_byte = mode == "sse-1byte"
        self.gzip = mode == "gzip"
        self.extra = {}
        if self.headers.get("x-mock-should-retry"):
            self.extra["x-should-retry"] = self.headers["x-mock-should-retry"]
        if url.path == "/stats":
            with LOCK:
                return self.send(200, {k: STATE[k] for k in ("requests", "modes", "paths")})
        if url.path == "/reset":
            with LOCK:
                STATE.update(requests=0, modes={}, paths={}, script=[], fails={})
            return self.send(200, {"ok": True})
        if url.path == "/script":
            with LOCK:
                STATE["script"].extend(json.loads(raw or b"[]"))
            return self.send(200, {"ok": True})
        kind = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic",
                "/api/chat": "ollama"}.get(url.path)
        if self.fault(mode, kind or "openai"):
            return
        if url.path == "/echo":
            return self.send(200, {"method": self.command, "path": self.path,
                                   "headers": {k.lower(): v for k, v in self.headers.items()},
                                   "body": raw.decode("utf-8", "replace")}, extra=self.extra)
        if not kind:
            return self.send(404, error_body("openai", 404, "no such endpoint: " + url.path))
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            return self.send(400, error_body(kind, 400, "request body is not JSON"))
        reply = self.reply_for(req)
        if reply.get("status"):
            err = reply.get("error") or {}
            body = error_body(kind, reply["status"], err.get("message", "scripted failure"))
            return self.send(reply["status"], body, extra=self.extra)
        stream = req.get("stream", kind == "ollama") or self.one_byte
        getattr(self, kind + ("_stream" if stream else "_reply"))(req, reply, mode)

    def reply_for(self, req):
        with LOCK:
            if STATE["script"]:
                return STATE["script"].pop(0)
        if self.headers.get("x-mock-reply"):
            return json.loads(self.headers["x-mock-reply"])
        return {"text": "mock reply to: " + last_user_text(req.get("messages"))}

    def fault(self, mode, kind):
        """Handles the fault modes that do not need a reply; True when done."""
        name, _, arg = mode.partition(":")
        if name == "delay":
            time.sleep(int(arg or 0) / 1000.0)
        elif name == "hang":
            time.sleep(3600)
            return True
        elif name == "429":
            ra = self.headers.get("x-mock-retry-after", "1")
            self.send(429, error_body(kind, 429, "rate limited"), extra=dict(self.extra, **{"retry-after": ra}))
            return True
        elif name == "500-then-ok":
            key = self.headers.get("x-mock-key", "")
            with LOCK:
                seen = STATE["fails"].get(key, 0)
                STATE["fails"][key] = seen + 1
            if seen < int(arg or 1):
                self.send(500, error_body(kind, 500, "internal error (planned)"), extra=self.extra)
                return True
        elif name == "status":
            code = int(arg)
            self.send(code, error_body(kind, code, "planned status %d" % code), extra=self.extra)
            return True
        elif name == "truncated":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "1000")
            self.end_headers()
            self.wfile.write(b'{"choices": [')
            self.drop()
            return True
        elif name == "badjson":
            self.send(200, b'{"choices": [ this is not json', extra=self.extra)
            return True
        elif name == "big":
            self.send(200, b"x" * int(arg), ctype="text/plain")
            return True
        elif name in ("cut-mid-event", "error-event", "stall"):
            self.start_stream()
            self.chunk('data: {"n": 1}\n\n')
            if name == "stall":
                time.sleep(3600)
                return True
            if name == "cut-mid-event":
                self.chunk('data: {"n": 2}\n\ndata: {"n": 3, "cut')
                self.drop()
                return True
            if kind == "anthropic":
                self.chunk('event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
                           '"message": "Overloaded"}}\n\n')
            else:
                self.chunk('data: {"error": {"message": "stream failed", "type": "server_error"}}\n\n')
            self.end_stream()
            return True
        return False

    # ---- OpenAI -----------------------------------------------------------
    def usage_of(self, req, reply):
        u = reply.get("usage") or {}
        text_in = json.dumps(req.get("messages", []))
        return (u.get("input_tokens", words(text_in)), u.get("output_tokens", words(reply.get("text", "")) + 1))

    def openai_reply(self, req, reply, mode):
        tin, tout = self.usage_of(req, reply)
        msg = {"role": "assistant", "content": reply.get("text")}
        calls = reply.get("tool_calls")
        if calls:
            msg["tool_calls"] = [{"id": c.get("id", "call_%d" % i), "type": "function",
                                  "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
                                 for i, c in enumerate(calls)]
        finish = reply.get("finish_reason") or ("tool_calls" if calls else "stop")
        self.send(200, {"id": "chatcmpl-mock", "object": "chat.completion", "created": int(time.time()),
                        "model": req.get("model", "mock"),
                        "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}},
                  extra=self.extra)

    def openai_stream(self, req, reply, mode):
        tin, tout = self.usage_of(req, reply)
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": req.get("model", "mock")}

        def emit(delta, finish=None, usage=None):
            c = dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])
            if usage is not None:
                c = dict(base, choices=[], usage=usage)
            self.chunk("data: " + json.dumps(c) + "\n\n")

        self.start_stream()
        emit({"role": "assistant", "content": ""})
        self.chunk(": keep-alive\n\n")
        for piece in split_text(reply.get("text") or ""):
            emit({"content": piece})
        calls = reply.get("tool_calls") or []
        for i, c in enumerate(calls):
            args = json.dumps(c.get("arguments", {}))
            emit({"tool_calls": [{"index": i, "id": c.get("id", "call_%d" % i), "type": "function",
                                  "function": {"name": c["name"], "arguments": ""}}]})
            for j in range(0, len(args), 7):
                emit({"tool_calls": [{"index": i, "function": {"arguments": args[j:j + 7]}}]})
        emit({}, reply.get("finish_reason") or ("tool_calls" if calls else "stop"))
        if (req.get("stream_options") or {}).get("include_usage"):
            emit(None, usage={"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout})
        self.chunk("data: [DONE]\n\n")
        self.end_stream()

    # ---- Anthropic --------------------------------------------------------
    def anthropic_blocks(self, reply):
        blocks = []
        if reply.get("text"):
            blocks.append({"type": "text", "text": reply["text"]})
        for i, c in enumerate(reply.get("tool_calls") or []):
            blocks.append({"type": "tool_use", "id": c.get("id", "toolu_%d" % i), "name": c["name"],
                           "input": c.get("arguments", {})})
        return blocks

    def anthropic_reply(self, req, reply, mode):
        tin, tout = self.usage_of(req, reply)
        calls = reply.get("tool_calls")
        self.send(200, {"id": "msg_mock", "type": "message", "role": "assistant",
                        "model": req.get("model", "mock"), "content": self.anthropic_blocks(reply),
                        "stop_reason": reply.get("finish_reason") or ("tool_use" if calls else "end_turn"),
                        "stop_sequence": None, "usage": {"input_tokens": tin, "output_tokens": tout}},
                  extra=self.extra)

    def anthropic_stream(self, req, reply, mode):
        tin, tout = self.usage_of(req, reply)

        def ev(name, data):
            data["type"] = name
            self.chunk("event: %s\ndata: %s\n\n" % (name, json.dumps(data)))

        self.start_stream()
        ev("message_start", {"message": {"id": "msg_mock", "type": "message", "role": "assistant",
                                         "model": req.get("model", "mock"), "content": [],
                                         "stop_reason": None, "stop_sequence": None,
                                         "usage": {"input_tokens": tin, "output_tokens": 1}}})
        ev("ping", {})
        for i, b in enumerate(self.anthropic_blocks(reply)):
            if b["type"] == "text":
                ev("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}})
                for piece in split_text(b["text"]):
                    ev("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": piece}})
            else:
                ev("content_block_start", {"index": i, "content_block": dict(b, input={})})
                args = json.dumps(b["input"])
                for j in range(0, len(args), 7):
                    ev("content_block_delta", {"index": i, "delta": {"type": "input_json_delta",
                                                                     "partial_json": args[j:j + 7]}})
            ev("content_block_stop", {"index": i})
        stop = reply.get("finish_reason") or ("tool_use" if reply.get("tool_calls") else "end_turn")
        ev("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": tout}})
        ev("message_stop", {})
        self.end_stream()

    # ---- Ollama -----------------------------------------------------------
    def ollama_message(self, reply):
        msg = {"role": "assistant", "content": reply.get("text") or ""}
        if reply.get("tool_calls"):
            msg["tool_calls"] = [{"function": {"name": c["name"], "arguments": c.get("arguments", {})}}
                                 for c in reply["tool_calls"]]
        return msg

    def ollama_reply(self, req, reply, mode):
        tin, tout = self.usage_of(req, reply)
        self.send(200, {"model": req.get("model", "mock"), "created_at": "2026-01-01T00:00:00Z",
                        "message": self.ollama_message(reply), "done": True, "done_reason": "stop",
                        "prompt_eval_count": tin, "eval_count": tout}, extra=self.extra)

    def ollama_stream(self, req, reply, mode):
        tin, tout = self.usage_of(req, reply)
        self.start_stream("application/x-ndjson")
        head = {"model": req.get("model", "mock"), "created_at": "2026-01-01T00:00:00Z"}
        for piece in split_text(reply.get("text") or ""):
            self.chunk(json.dumps(dict(head, message={"role": "assistant", "content": piece}, done=False)) + "\n")
        last = self.ollama_message(reply)
        last["content"] = ""
        self.chunk(json.dumps(dict(head, message=last, done=True, done_reason="stop",
                                   prompt_eval_count=tin, eval_count=tout)) + "\n")
        self.end_stream()


def split_text(text):
    """Splits text into word-sized pieces that concatenate back to it."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def watch_parent(ppid):
    while os.getppid() == ppid:
        time.sleep(0.5)
    os._exit(0)


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # 64+ parallel connects must not overflow the backlog
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write("%d %d\n" % (server.server_address[1], os.getpid()))
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


# ---- Added by the `providers` branch (baton.llm tests) ---------------------
# Kept apart so the transport branch's code above stays untouched:
#   GET  /last   the JSON body and lower-cased headers of the last LLM request
#                ({"body": ..., "headers": ...}; {} before any).
#   A scripted reply may carry "expect_headers": {name: value or null}; a
#   request whose headers differ (null: must be absent) gets a 400 naming the
#   header, as a real provider rejects a bad key or a missing version header.
LAST = {}

_transport_reply_for = Handler.reply_for
_transport_handle_any = Handler.handle_any


def _providers_reply_for(self, req):
    reply = _transport_reply_for(self, req)
    with LOCK:
        LAST.clear()
        LAST.update(body=req, headers={k.lower(): v for k, v in self.headers.items()})
    for name, want in (reply.get("expect_headers") or {}).items():
        got = self.headers.get(name)
        if got != want:
            return {"status": 400, "error": {"message": "header %s: got %s, want %s" % (
                name, json.dumps(got), json.dumps(want))}}
    return reply


def _providers_handle_any(self):
    if urlparse(self.path).path == "/last":
        self.read_body()
        with LOCK:
            return self.send(200, dict(LAST))
    return _transport_handle_any(self)


Handler.reply_for = _providers_reply_for
Handler.handle_any = _providers_handle_any


if __name__ == "__main__":
    main()
