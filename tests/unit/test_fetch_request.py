"""request_guarded: one request of any method to a checked, pinned address, its answer read up
to a limit, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hams import __version__
from hams.errors import UrlRefused
from hams.media.fetch import DeliveryError, request_guarded
from hams.media.urls import UrlPolicy
from tests.helpers.server import free_port

ALLOWED = UrlPolicy(allow_private=True)


class Server(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []


class Handler(BaseHTTPRequestHandler):
    """``/echo`` answers what it received as JSON; other paths play one kind of server each."""

    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append((self.command, self.path, headers, body))
        if self.path.startswith("/echo"):
            answer = {"method": self.command, "path": self.path, "headers": headers,
                      "body": body.decode()}
            self.send(201, json.dumps(answer).encode(), Content_Type="application/json")
        elif self.path == "/big":
            self.send(200, b"a" * 1000, Content_Type="text/plain")
        elif self.path == "/gzip":
            self.send(200, gzip.compress(b"b" * 1000), Content_Encoding="gzip")
        elif self.path == "/moved":
            self.send(302, Location="http://169.254.169.254/")
        elif self.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.server.stopping.wait(10)
        elif self.path == "/brotli":
            self.send(200, b"\x1b\x03\x00\xf8\xa5\x40\xc2\x1c", Content_Encoding="br")
        else:
            self.send(404, b"no such path")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.stopping.set()
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.fixture
def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_port}"


def send(method: str, url: str, *, policy: UrlPolicy = ALLOWED, max_bytes: int = 4096,
         timeout: float = 5, **kwargs):  # type: ignore[no-untyped-def]
    options = {"headers": {}} | kwargs
    return request_guarded(method, url, policy=policy, timeout=timeout, max_bytes=max_bytes,
                           **options)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_sends_the_method_headers_and_body(base: str, method: str) -> None:
    content = b'{"a": 1}' if method in ("POST", "PUT", "PATCH") else None
    response = send(method.lower(), f"{base}/echo?x=1", content=content,
                    headers={"X-Tool": "weather", "Content-Type": "application/json"})
    assert response.status_code == 201 and not response.truncated
    assert response.headers["content-type"] == "application/json"
    echoed = json.loads(response.body)
    assert (echoed["method"], echoed["path"]) == (method, "/echo?x=1")
    assert echoed["body"] == (content or b"").decode()
    assert echoed["headers"]["x-tool"] == "weather"
    assert echoed["headers"]["user-agent"] == f"hams/{__version__}"
    assert echoed["headers"]["accept-encoding"] == "gzip, deflate"


def test_a_callers_host_header_never_replaces_the_checked_name(base: str, server: Server) -> None:
    port = server.server_port
    policy = UrlPolicy(allowlist=frozenset({f"tools.test:{port}"}),
                       resolver=lambda host, _port: ["127.0.0.1"])
    response = send("GET", f"http://tools.test:{port}/echo", policy=policy,
                    headers={"host": "169.254.169.254"})
    assert json.loads(response.body)["headers"]["host"] == f"tools.test:{port}"


def test_answer_over_the_limit_is_cut_and_says_so(base: str) -> None:
    response = send("GET", f"{base}/big", max_bytes=100)
    assert (response.body, response.truncated) == (b"a" * 100, True)
    whole = send("GET", f"{base}/big", max_bytes=1000)
    assert (len(whole.body), whole.truncated) == (1000, False)


def test_a_compressed_answer_is_decoded_and_cut_at_the_decoded_limit(base: str) -> None:
    response = send("GET", f"{base}/gzip", max_bytes=300)
    assert (response.body, response.truncated) == (b"b" * 300, True)
    assert "content-encoding" not in response.headers


def test_a_redirect_comes_back_unfollowed(base: str, server: Server) -> None:
    count = len(server.requests)
    response = send("POST", f"{base}/moved", content=b"{}")
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/"
    assert len(server.requests) == count + 1


def test_a_private_address_is_refused_before_connecting(base: str, server: Server) -> None:
    count = len(server.requests)
    with pytest.raises(UrlRefused, match=r"^serverUrl resolves to a loopback address"):
        send("GET", f"{base}/echo", policy=UrlPolicy())
    with pytest.raises(UrlRefused, match=r"^toolSettings.serverUrl resolves to a private"):
        send("GET", "http://10.1.2.3/", policy=UrlPolicy(), purpose="toolSettings.serverUrl")
    assert len(server.requests) == count


def test_a_stalled_answer_times_out(base: str) -> None:
    with pytest.raises(DeliveryError, match="serverUrl timed out"):
        send("GET", f"{base}/stall", timeout=0.5)


def test_connection_refused_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="serverUrl could not be reached"):
        send("GET", f"http://127.0.0.1:{free_port()}/", timeout=2)


def test_an_undecodable_answer_is_a_delivery_error(base: str) -> None:
    with pytest.raises(DeliveryError, match="answered a body that is compressed with 'br'"):
        send("GET", f"{base}/brotli")


def test_a_url_too_long_to_send_is_refused() -> None:
    with pytest.raises(UrlRefused, match="serverUrl is not a URL that can be requested"):
        send("GET", "http://127.0.0.1:1" + "/a" * 40_000)
