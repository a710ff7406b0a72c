"""Guarded downloads and webhook posts against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import os
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from hams import __version__
from hams.errors import MediaFetchFailed, PayloadTooLarge, UrlRefused
from hams.media.fetch import (
    POST_BODY_LIMIT,
    DeliveryError,
    FetchResult,
    fetch_to_file,
    post_guarded,
)
from hams.media.urls import UrlPolicy
from tests.helpers.memory import traced_peak
from tests.helpers.server import free_port  # a port nothing listens on

PAYLOAD = bytes(range(256)) * 40  # 10 240 bytes, every byte value
LIMIT = 4096


def gzip_of_zeros(mebibytes: int) -> bytes:
    """A gzip bomb, built a MiB at a time: about 1 KB per MiB it inflates to."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join(packer.compress(bytes(1 << 20)) for _ in range(mebibytes)) + packer.flush()


BOMB = gzip_of_zeros(64)  # 64 KB that inflate to 64 MiB
ENCODED = {  # path: (Content-Encoding, body), as a server that ignores "identity" sends it
    "/gzip": ("gzip", gzip.compress(PAYLOAD)),
    "/gzip-twice": ("gzip, gzip", gzip.compress(gzip.compress(PAYLOAD))),
    "/deflate": ("deflate", zlib.compress(PAYLOAD)),
    "/deflate-raw": ("deflate", zlib.compress(PAYLOAD, wbits=-zlib.MAX_WBITS)),
    "/mislabelled": ("binary", PAYLOAD),
    "/bomb": ("gzip", BOMB),
    "/bomb-twice": ("gzip, gzip", gzip.compress(BOMB)),  # 64 MiB in a few hundred bytes
    "/brotli": ("br", b"\x1b\x03\x00\xf8\xa5\x40\xc2\x1c"),
    "/broken-gzip": ("gzip", b"\x1f\x8b not gzip at all"),
}


class Server(ThreadingHTTPServer):
    """Joins its handler threads on close; ``stopping`` tells slow handlers to give up."""

    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.stopping = threading.Event()
        self.other_port = free_port()
        self.posts: list[tuple[str, dict[str, str], bytes]] = []


class Handler(BaseHTTPRequestHandler):
    """Routes by path; each route plays one kind of server a media URL could point at."""

    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def send(self, status: int, body: bytes = b"", **headers: str) -> None:
        """Answer with a complete body and its length."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Serve the route named by the path."""
        port = self.server.server_port
        redirects = {
            "/r1": "/r2",
            "/r2": f"http://127.0.0.1:{port}/r3",
            "/r3": "file.bin",
            "/loop": "/loop",
            "/meta": "http://169.254.169.254/latest/meta-data",
            "/other": f"http://127.0.0.1:{self.server.other_port}/",
        }
        if self.path in redirects:
            self.send(302, Location=redirects[self.path])
        elif self.path in ("/file.bin", "/media/a.wav"):
            self.send(200, PAYLOAD, Content_Type="audio/wav")
        elif self.path == "/big":
            self.send(200, b"x" * (LIMIT + 1))
        elif self.path == "/big-chunked":
            self.send_chunked(b"y" * 1000, 5)
        elif self.path in ENCODED:
            encoding, body = ENCODED[self.path]
            self.send(200, body, Content_Encoding=encoding, Content_Type="audio/wav")
        elif self.path == "/host":
            self.send(200, self.headers["Host"].encode())
        elif self.path == "/slow":
            self.trickle()
        else:
            self.send(404, b"no such file")

    def send_chunked(self, chunk: bytes, count: int) -> None:
        """Send a body of unknown length, so only the running count can catch it."""
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(count):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def trickle(self) -> None:
        """One byte every 0.2 s for 10 s, or until the client leaves or the server stops."""
        self.send_response(200)
        self.send_header("Content-Length", "50")
        self.end_headers()
        for _ in range(50):
            try:
                self.wfile.write(b"z")
            except OSError:
                return
            if self.server.stopping.wait(0.2):
                return

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Record what a webhook receiver got."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, dict(self.headers.items()), body))
        if self.path == "/moved":
            self.send(308, Location="http://169.254.169.254/")
        elif self.path == "/bomb":
            self.send(202, BOMB, Content_Encoding="gzip")
        else:
            self.send(202, b"ok")


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


@pytest.fixture
def policy(server: Server) -> UrlPolicy:
    """The guard stays on; only the test server's own host:port is trusted."""
    return UrlPolicy(allowlist=frozenset({f"127.0.0.1:{server.server_port}"}))


def fetch(url: str, dest: Path, policy: UrlPolicy, **kwargs: float) -> FetchResult:
    options = {"max_bytes": LIMIT * 10, "timeout": 5.0} | kwargs
    return fetch_to_file(url, dest, policy=policy, **options)  # type: ignore[arg-type]


def assert_nothing_left(directory: Path) -> None:
    assert os.listdir(directory) == []


def test_downloads_byte_exact(tmp_path: Path, base: str, policy: UrlPolicy) -> None:
    dest = tmp_path / "a.wav"
    result = fetch(f"{base}/media/a.wav", dest, policy, max_bytes=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert result == FetchResult(dest, len(PAYLOAD), "audio/wav", f"{base}/media/a.wav")
    assert os.listdir(tmp_path) == ["a.wav"]


def test_http_error_status_is_a_fetch_failure(tmp_path: Path, base: str, policy: UrlPolicy) -> None:
    with pytest.raises(MediaFetchFailed, match="mediaUrl answered HTTP 404") as info:
        fetch(f"{base}/missing", tmp_path / "a.wav", policy)
    assert info.value.status_code == 400
    assert_nothing_left(tmp_path)


def test_follows_a_redirect_chain_on_the_allowed_server(
    tmp_path: Path, base: str, policy: UrlPolicy
) -> None:
    result = fetch(f"{base}/r1", tmp_path / "a.wav", policy)
    assert result.path.read_bytes() == PAYLOAD
    assert result.final_url == f"{base}/file.bin"


@pytest.mark.parametrize(("path", "address"), [("/meta", "169.254.169.254"), ("/other", "127")])
def test_redirect_to_a_private_address_is_refused(
    tmp_path: Path, base: str, policy: UrlPolicy, path: str, address: str
) -> None:
    with pytest.raises(UrlRefused, match=f"mediaUrl resolves to .*{address}"):
        fetch(f"{base}{path}", tmp_path / "a.wav", policy)
    assert_nothing_left(tmp_path)


def test_redirect_loop_is_a_fetch_failure(tmp_path: Path, base: str, policy: UrlPolicy) -> None:
    with pytest.raises(MediaFetchFailed, match="redirected more than 3 times"):
        fetch(f"{base}/loop", tmp_path / "a.wav", policy, max_redirects=3)
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_body_over_the_limit_is_refused(
    tmp_path: Path, base: str, policy: UrlPolicy, path: str
) -> None:
    with pytest.raises(PayloadTooLarge, match="larger than the limit of 4096 bytes") as info:
        fetch(f"{base}{path}", tmp_path / "a.wav", policy, max_bytes=LIMIT)
    assert info.value.status_code == 413
    assert_nothing_left(tmp_path)


def test_total_timeout_stops_a_trickling_server(
    tmp_path: Path, base: str, policy: UrlPolicy
) -> None:
    started = time.monotonic()
    with pytest.raises(MediaFetchFailed, match="did not finish within 1 s"):
        fetch(f"{base}/slow", tmp_path / "a.wav", policy, timeout=1.0)
    assert time.monotonic() - started < 3
    assert_nothing_left(tmp_path)


def test_connection_refused_is_a_fetch_failure(tmp_path: Path) -> None:
    port = free_port()
    policy = UrlPolicy(allowlist=frozenset({f"127.0.0.1:{port}"}))
    with pytest.raises(MediaFetchFailed, match="could not be reached"):
        fetch(f"http://127.0.0.1:{port}/a.wav", tmp_path / "a.wav", policy)
    assert_nothing_left(tmp_path)


def test_guard_refuses_the_test_server_without_the_allowlist(tmp_path: Path, base: str) -> None:
    with pytest.raises(UrlRefused, match=r"loopback address \(127\.0\.0\.1\)"):
        fetch(f"{base}/file.bin", tmp_path / "a.wav", UrlPolicy())
    assert_nothing_left(tmp_path)


def test_allow_private_fetches_a_loopback_url(tmp_path: Path, base: str) -> None:
    result = fetch(f"{base}/file.bin", tmp_path / "a.wav", UrlPolicy(allow_private=True))
    assert result.path.read_bytes() == PAYLOAD


def test_connects_to_the_checked_address_and_sends_the_name(tmp_path: Path, server: Server) -> None:
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    port = server.server_port
    policy = UrlPolicy(allowlist=frozenset({f"media.test:{port}"}), resolver=resolver)
    result = fetch(f"http://media.test:{port}/host", tmp_path / "h.txt", policy)
    assert result.path.read_text() == f"media.test:{port}"
    assert lookups == ["media.test"]


def test_post_guarded_delivers_body_and_headers(base: str, server: Server) -> None:
    policy = UrlPolicy(allow_private=True)
    response = post_guarded(
        f"{base}/hook?x=1",
        policy=policy,
        content=b'{"id": 1}',
        headers={"Content-Type": "application/json", "X-Hams-Signature": "abc"},
        timeout=5,
    )
    assert (response.status_code, response.content) == (202, b"ok")
    path, headers, body = server.posts[-1]
    assert (path, body) == ("/hook?x=1", b'{"id": 1}')
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Hams-Signature"] == "abc"
    assert headers["User-Agent"] == f"hams/{__version__}"


def test_post_guarded_refuses_a_private_address_before_connecting(server: Server) -> None:
    count = len(server.posts)
    with pytest.raises(UrlRefused, match=r"^webhookUrl resolves to a private address \(10"):
        post_guarded(
            "http://10.0.0.1/hook", policy=UrlPolicy(), content=b"{}", headers={}, timeout=5
        )
    assert len(server.posts) == count


def test_post_guarded_translates_connection_errors() -> None:
    port = free_port()
    policy = UrlPolicy(allow_private=True)
    with pytest.raises(DeliveryError, match="webhookUrl could not be reached"):
        post_guarded(f"http://127.0.0.1:{port}/", policy=policy, content=b"", headers={}, timeout=2)


def test_post_guarded_returns_a_redirect_without_following_it(base: str) -> None:
    policy = UrlPolicy(allow_private=True)
    response = post_guarded(f"{base}/moved", policy=policy, content=b"{}", headers={}, timeout=5)
    assert response.status_code == 308
    assert response.headers["location"] == "http://169.254.169.254/"


@pytest.mark.parametrize("path", ["/gzip", "/gzip-twice", "/deflate", "/deflate-raw",
                                  "/mislabelled"])
def test_a_body_compressed_anyway_is_stored_decoded(
    tmp_path: Path, base: str, policy: UrlPolicy, path: str
) -> None:
    result = fetch(f"{base}{path}", tmp_path / "a.wav", policy, max_bytes=len(PAYLOAD))
    assert result.path.read_bytes() == PAYLOAD and result.size == len(PAYLOAD)


@pytest.mark.parametrize("path", ["/bomb", "/bomb-twice"])
def test_a_compression_bomb_stops_at_the_limit_without_inflating(
    tmp_path: Path, base: str, policy: UrlPolicy, path: str
) -> None:
    def download() -> None:
        with pytest.raises(PayloadTooLarge, match="larger than the limit of 1 MB") as info:
            fetch(f"{base}{path}", tmp_path / "a.wav", policy, max_bytes=1 << 20)
        assert info.value.status_code == 413

    assert traced_peak(download) < 4 << 20  # inflated in one call it is 64 MiB
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize(("path", "reason"), [
    ("/brotli", "is compressed with 'br' \\(Content-Encoding\\), which hams does not decode"),
    ("/broken-gzip", "is not valid gzip"),
])
def test_a_body_hams_cannot_decode_is_a_fetch_failure(
    tmp_path: Path, base: str, policy: UrlPolicy, path: str, reason: str
) -> None:
    with pytest.raises(MediaFetchFailed, match=f"^mediaUrl answered a body that {reason}"):
        fetch(f"{base}{path}", tmp_path / "a.wav", policy)
    assert_nothing_left(tmp_path)


def test_post_guarded_reads_a_compressed_answer_only_up_to_its_limit(base: str) -> None:
    kept: list[httpx.Response] = []
    policy = UrlPolicy(allow_private=True)
    peak = traced_peak(lambda: kept.append(post_guarded(
        f"{base}/bomb", policy=policy, content=b"{}", headers={}, timeout=5)))
    assert kept[0].status_code == 202 and kept[0].content == bytes(POST_BODY_LIMIT)
    assert peak < 4 << 20
