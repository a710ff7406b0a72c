"""Real HTTP servers on 127.0.0.1 for media and webhooks, with scriptable behaviour."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class LocalHttpServer:
    """Serves files from a directory; extra routes: redirects, statuses and gated responses."""

    def __init__(self, root: Path):
        self.root = root
        self.redirects: dict[str, str] = {}
        self.statuses: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}
        self.hits: dict[str, int] = {}
        self.entered: dict[str, threading.Event] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: D401 - keep test output quiet
                pass

            def do_GET(self):  # noqa: N802
                owner._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def add_file(self, name: str, data: bytes) -> str:
        (self.root / name).write_bytes(data)
        return self.url(name)

    def gate(self, name: str) -> threading.Event:
        """Requests for ``name`` wait until the returned event is set."""
        self.gates[name] = threading.Event()
        self.entered[name] = threading.Event()
        return self.gates[name]

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        name = request.path.lstrip("/").split("?", 1)[0]
        self.hits[name] = self.hits.get(name, 0) + 1
        if name in self.gates:
            self.entered[name].set()
            self.gates[name].wait(timeout=120)
        if name in self.redirects:
            request.send_response(302)
            request.send_header("Location", self.redirects[name])
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        path = self.root / name
        status = self.statuses.get(name, 200 if path.is_file() else 404)
        body = path.read_bytes() if status == 200 else b"not found"
        request.send_response(status)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def close(self) -> None:
        for gate in self.gates.values():
            gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Records every POST; ``script(path, [500, 500, 200])`` sets the answers per path."""

    received: list[ReceivedWebhook] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = self
        self._lock = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with owner._lock:
                    script = owner.scripts.get(self.path, [])
                    status = script.pop(0) if script else 200
                    owner.received.append(ReceivedWebhook(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        status))
                    owner._lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, statuses: list[int]) -> None:
        with self._lock:
            self.scripts[path] = list(statuses)

    def for_path(self, path: str) -> list[ReceivedWebhook]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 60) -> list[ReceivedWebhook]:
        """Block until ``count`` requests reached ``path`` (the outcome, not a timing check)."""
        with self._lock:
            self._lock.wait_for(
                lambda: len([r for r in self.received if r.path == path]) >= count, timeout)
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
