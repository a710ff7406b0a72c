"""A real HTTP server on 127.0.0.1 that answers from a script: for SDK retry and polling tests.

``server.script("GET", "/v1/jobs", [(503, {...}, {"Retry-After": "1"}), (200, {...})])`` sets
the answers to that route in order; the last one repeats. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes


class ScriptedServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[tuple[str, str], list[Answer]] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                owner._answer(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def script(self, method: str, path: str, answers: list[Answer]) -> None:
        with self._lock:
            self._scripts[(method, path)] = list(answers)

    def hits(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        recorded = Recorded(request.command, url.path, parse_qs(url.query),
                            {k.lower(): v for k, v in request.headers.items()},
                            request.rfile.read(length))
        with self._lock:
            self.requests.append(recorded)
            script = self._scripts.get((request.command, url.path)) or [
                (404, {"success": False, "message": "Not found", "messageKey": "NOT_FOUND"})]
            answer = script.pop(0) if len(script) > 1 else script[0]
        status, body, headers = answer if len(answer) == 3 else (*answer, {})
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
