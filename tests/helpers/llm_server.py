"""A real OpenAI-compatible chat server on 127.0.0.1, scripted by the test that starts it.

It records every request and answers from a queue of scripted responses; with the queue empty
it writes a well-formed answer derived from the request ("Generated summary in English"), so
an end-to-end test can run a whole AI content job without scripting anything.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PART = re.compile(r"^Part: (\S+)", re.MULTILINE)
_LANGUAGE = re.compile(r"^Output language: (.+)$", re.MULTILINE)


@dataclass
class LlmRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON, or the raw text when it was not JSON

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []

    def message(self, role: str) -> str:
        """The content of the last message with ``role`` ("" when there is none)."""
        found = [m.get("content", "") for m in self.messages if m.get("role") == role]
        return found[-1] if found else ""

    @property
    def system(self) -> str:
        return self.message("system")

    @property
    def user(self) -> str:
        return self.message("user")

    @property
    def part(self) -> str | None:
        """The part named on the engine's "Part: ..." line, e.g. "summary" or "notes"."""
        match = _PART.search(self.user)
        return match.group(1) if match else None

    @property
    def language(self) -> str | None:
        """The language named on the engine's "Output language: ..." line."""
        match = _LANGUAGE.search(self.user)
        return match.group(1).strip() if match else None


@dataclass
class ScriptedResponse:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)


def completion(content: str, usage: dict | None = None, finish_reason: str = "stop") -> dict:
    """A chat-completions body whose message content is ``content``, as sent."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": content}}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def tool_call_completion(name: str, arguments: dict, call_id: str = "call_test_1",
                         content: str | None = None) -> dict:
    """A chat-completions body in which the model calls one function."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "tool_calls": [{
        "id": call_id, "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}]}
    return {"id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def stream_events(body: dict) -> list[bytes]:
    """A completion body as OpenAI's streamed answer (``stream: true``): server-sent events,
    the text a few words per chunk, tool calls in one delta, usage last, then ``[DONE]``."""
    choice = body["choices"][0]
    message = choice.get("message") or {}
    base = {"id": body.get("id", "chatcmpl-test"), "object": "chat.completion.chunk",
            "created": 0, "model": body.get("model", "test-model")}

    def event(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
        chunk = {**base, "choices": [] if delta is None else [
            {"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()

    events = [event({"role": "assistant", "content": ""})]
    words = re.findall(r"\S+\s*", message.get("content") or "")
    for start in range(0, len(words), 3):
        events.append(event({"content": "".join(words[start:start + 3])}))
    for index, call in enumerate(message.get("tool_calls") or []):
        events.append(event({"tool_calls": [{"index": index, **call}]}))
    events.append(event({}, choice.get("finish_reason") or "stop"))
    if body.get("usage"):
        events.append(event(None, usage=body["usage"]))
    events.append(b"data: [DONE]\n\n")
    return events


class FakeLlmServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on a random loopback port."""

    DEFAULT_USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}

    def __init__(self) -> None:
        self.requests: list[LlmRequest] = []
        self._queue: deque[ScriptedResponse] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stall

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):  # noqa: N802
                owner._handle(self)

            def do_GET(self):  # noqa: N802
                owner._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                        daemon=True)  # short poll: close() returns at once
        self._thread.start()

    def enqueue(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
                delay: float = 0.0) -> None:
        """Answer the next request not yet answered with this response."""
        with self._lock:
            self._queue.append(ScriptedResponse(status, body, dict(headers or {}), delay))

    def reply_content(self, text: str, usage: dict | None = None) -> None:
        """Answer the next request with ``{"content": text}``, as the engine asks."""
        self.enqueue(body=completion(json.dumps({"content": text}, ensure_ascii=False),
                                     usage if usage is not None else self.DEFAULT_USAGE))

    def reply_tool_call(self, name: str, arguments: dict, call_id: str = "call_test_1",
                        content: str | None = None) -> None:
        """Answer the next request by calling function ``name`` with ``arguments``."""
        self.enqueue(body=tool_call_completion(name, arguments, call_id, content))

    def reply_raw(self, content: str, usage: dict | None = None) -> None:
        """Answer the next request with ``content`` as the model's text, not wrapped in JSON."""
        self.enqueue(body=completion(content, usage if usage is not None else self.DEFAULT_USAGE))

    @property
    def pending(self) -> int:
        """Scripted responses not yet used."""
        with self._lock:
            return len(self._queue)

    def default_answer(self, request: LlmRequest) -> ScriptedResponse:
        """What the server says with nothing queued: text that names what was asked."""
        text = f"Generated {request.part or 'text'}"
        if request.language:
            text += f" in {request.language}"
        return ScriptedResponse(body=completion(json.dumps({"content": text}, ensure_ascii=False),
                                                self.DEFAULT_USAGE))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = LlmRequest(handler.command, handler.path,
                             {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.requests.append(request)
            scripted = self._queue.popleft() if self._queue else None
        if scripted is None:
            scripted = (self.default_answer(request) if handler.path.endswith("/chat/completions")
                        else ScriptedResponse(404, {"error": {"message": "not found"}}))
        if scripted.delay:
            self._closing.wait(scripted.delay)
        streamed = isinstance(body, dict) and body.get("stream") and scripted.status == 200 \
            and isinstance(scripted.body, dict) and scripted.body.get("choices")
        if streamed:
            self._stream(handler, scripted)
            return
        if isinstance(scripted.body, bytes):
            data, kind = scripted.body, "application/octet-stream"
        elif isinstance(scripted.body, str):
            data, kind = scripted.body.encode(), "text/plain; charset=utf-8"
        else:
            data, kind = json.dumps(scripted.body, ensure_ascii=False).encode(), "application/json"
        try:
            handler.send_response(scripted.status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in scripted.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client gave up (timeout); nothing to answer
            pass

    def _stream(self, handler: BaseHTTPRequestHandler, scripted: ScriptedResponse) -> None:
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for data in stream_events(scripted.body):
                handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeLlmServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

