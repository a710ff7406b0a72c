"""What the sync and async clients share about HTTP: configuration, the request description,
error parsing, the retry policy and the streamed multipart upload body.

The operations (``_jobs.py``, ``_speech.py``) describe requests with :class:`ApiRequest` and
never touch a socket; ``_sync.py`` and ``_async.py`` execute them. That split is what lets one
definition of every method serve both clients.
"""

from __future__ import annotations

import mimetypes
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from hams import __version__
from hams.client.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    HamsError,
    RateLimitError,
    ServerError,
    error_for,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 0.5  # seconds before the first retry; doubled each time
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0  # a server asking for longer is answered with the error at once
UPLOAD_CHUNK = 64 * 1024
USER_AGENT = f"hams-python/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})

ProgressCallback = Callable[[int, int], Any]


@dataclass(frozen=True)
class Config:
    """Where the server is and how to talk to it; built once per client."""

    api_key: str = field(repr=False)  # never in reprs, tracebacks with locals, or logs
    base_url: str
    timeout: float
    max_retries: int

    @classmethod
    def resolve(cls, api_key: str | None, base_url: str | None, timeout: float,
                max_retries: int) -> Config:
        """Arguments first, then HAMS_API_KEY / HAMS_BASE_URL; no key is an error now, not
        a 401 on the first call."""
        key = api_key or os.environ.get("HAMS_API_KEY")
        if not key:  # an authentication failure, found before asking the server
            raise AuthenticationError("No API key: pass Hams(api_key=...) or set HAMS_API_KEY. "
                            "`hams serve` prints one on first start; `hams keys create` "
                            "makes more.", message_key="API_KEY_REQUIRED")
        url = (base_url or os.environ.get("HAMS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise HamsError(f"base_url must start with http:// or https://, not {url!r}",
                            message_key="BAD_BASE_URL")
        if max_retries < 0:
            raise HamsError("max_retries must be 0 or more", message_key="BAD_MAX_RETRIES")
        return cls(key, url, timeout, max_retries)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def same_origin(self, url: str) -> bool:
        """Whether the key may be sent there: never to another host (S3 signed links)."""
        a, b = urlsplit(self.base_url), urlsplit(url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}", "User-Agent": USER_AGENT}

    def ws_url(self, path: str) -> str:
        scheme, rest = self.base_url.split("://", 1)
        return ("wss" if scheme == "https" else "ws") + "://" + rest + path


@dataclass(frozen=True)
class FileBody:
    """A local file sent as multipart field ``file``, read in chunks as it is sent; ``fields``
    are text fields sent before it."""

    path: Path
    on_progress: ProgressCallback | None = None
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP call as an operation wants it; the executor adds the base URL, auth,
    retries and timeouts."""

    method: str
    path: str  # "/v1/jobs", or an absolute URL (downloads)
    params: dict[str, Any] | None = None
    json: Any = None
    idempotency_key: str | None = None
    idempotent: bool | None = None  # None: decided by the method
    file: FileBody | None = None
    timeout: float | None = None  # overrides the client's (long polls)

    @property
    def retryable(self) -> bool:
        """Safe to send twice: a read, or a create the server deduplicates by key."""
        if self.idempotency_key:
            return True
        if self.idempotent is not None:
            return self.idempotent
        return self.method in IDEMPOTENT_METHODS

    def query(self) -> dict[str, Any] | None:
        if not self.params:
            return None
        return {k: _query_value(v) for k, v in self.params.items() if v is not None}

    def all_headers(self, config: Config) -> dict[str, str]:
        base = config.headers() if config.same_origin(config.url(self.path)) else {
            "User-Agent": USER_AGENT}
        if self.idempotency_key:
            base["Idempotency-Key"] = self.idempotency_key
        return base


@dataclass(frozen=True)
class Sleep:
    """An operation asking its executor to pause (polling backoff)."""

    seconds: float


def _query_value(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def new_idempotency_key() -> str:
    """A key for a create the caller gave none for: makes its retries safe on hams."""
    return str(uuid.uuid4())


# --- answers and errors ---------------------------------------------------------------------


def error_from_response(response: httpx.Response) -> HamsError:
    """The Hamsa envelope's ``messageKey``/``message`` as the matching HamsError subclass."""
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    message_key = message = None
    if isinstance(body, dict):
        message_key = body.get("messageKey") or body.get("message_key")
        message = body.get("message") or body.get("detail") or body.get("error")
    if not isinstance(message, str) or not message:
        snippet = body.strip()[:200] if isinstance(body, str) else ""
        message = f"HTTP {response.status_code} {response.reason_phrase}" + (
            f": {snippet}" if snippet else "")
    return error_for(message, status_code=response.status_code,
                     message_key=message_key if isinstance(message_key, str) else None,
                     body=body, retry_after=retry_after(response))


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


HTTP_FAILURES = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
"""Everything httpx raises about a request (transport, redirects, decoding, a streamed upload
that a redirect would replay): all become an APIConnectionError where they enter."""


def connection_error(exc: Exception) -> APIConnectionError:
    """httpx's failures, translated where they enter and naming the server they could not
    reach (chained to ``exc`` even when returned rather than raised)."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    error = cls(_describe(exc))
    error.__cause__ = exc
    return error


def _describe(exc: Exception) -> str:
    """What went wrong, in words: "Could not connect to http://host:port: connection refused"."""
    where = _origin(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Could not connect to {where}: no answer within the timeout"
    if isinstance(exc, httpx.ConnectError):
        return f"Could not connect to {where}: {_reason(exc)}"
    if isinstance(exc, httpx.TimeoutException):
        return f"No answer from {where} within the timeout ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _origin(exc: Exception) -> str:
    try:
        url = exc.request.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when none was set
        return "the server"
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def _reason(exc: BaseException) -> str:
    """The operating system's reason under httpx's and httpcore's wrappers."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[:1].lower() + seen.strerror[1:]
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def retry_delay(request: ApiRequest, error: HamsError, attempt: int,
                max_retries: int) -> float | None:
    """Seconds to wait before sending ``request`` again after ``error``, or None to give up.

    Only 429, 5xx and connection failures are retried, and only for requests that are safe to
    repeat. ``Retry-After`` is honoured up to a minute; otherwise the wait doubles from half a
    second (jittered, so clients that failed together do not retry together).
    """
    if attempt >= max_retries or not request.retryable:
        return None
    if not isinstance(error, RateLimitError | ServerError | APIConnectionError):
        return None
    if error.status_code == 501:
        return None
    wait = error.retry_after
    if wait is not None:
        return wait if wait <= MAX_RETRY_AFTER else None
    return min(MAX_BACKOFF, DEFAULT_BACKOFF * 2 ** attempt) * random.uniform(0.75, 1.25)


def retrying(request: ApiRequest, config: Config
             ) -> Generator[ApiRequest | Sleep, Any, httpx.Response]:
    """Send ``request`` until it succeeds or the policy gives up. The executor answers each
    yielded request with the response, or with the HamsError it met (returned, not raised)."""
    attempt = 0
    while True:
        outcome = yield request
        if isinstance(outcome, httpx.Response):
            return outcome
        delay = retry_delay(request, outcome, attempt, config.max_retries)
        if delay is None:
            raise outcome
        yield Sleep(delay)
        attempt += 1


def build_request(client: httpx.Client | httpx.AsyncClient, request: ApiRequest,
                  config: Config, form: tuple[dict[str, str], Any] | None) -> httpx.Request:
    """The httpx request for one attempt; ``form`` is a fresh multipart body and its headers."""
    headers = request.all_headers(config)
    content = None
    if form is not None:
        headers.update(form[0])
        content = form[1]
    return client.build_request(request.method, config.url(request.path),
                                params=request.query(), json=request.json, content=content,
                                headers=headers, timeout=request.timeout or config.timeout)


# --- streamed multipart upload ---------------------------------------------------------------


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace(
        "\n", "%0A")


def multipart_parts(body: FileBody) -> tuple[dict[str, str], bytes, bytes]:
    """Headers, preamble and closing of a one-file form; the file goes in between, so its
    length is known without reading it and progress follows what was actually sent."""
    boundary = uuid.uuid4().hex
    content_type = mimetypes.guess_type(body.path.name)[0] or "application/octet-stream"
    text = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{_quoted(name)}\""
                   f"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{value}\r\n"
                   for name, value in body.fields)
    head = (f"{text}--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{_quoted(body.path.name)}\"\r\nContent-Type: {content_type}\r\n\r\n"
            ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(head) + body.size + len(tail))}
    return headers, head, tail


def multipart_stream(body: FileBody) -> tuple[dict[str, str], Iterator[bytes]]:
    headers, head, tail = multipart_parts(body)

    def chunks() -> Iterator[bytes]:
        progress = _Progress(body)
        yield head
        with body.path.open("rb") as file:
            while chunk := file.read(UPLOAD_CHUNK):
                yield chunk  # resumed when the transport wants more: this chunk was sent
                progress.sent(len(chunk))
        progress.finish()
        yield tail

    return headers, chunks()


def amultipart_stream(body: FileBody) -> tuple[dict[str, str], AsyncIterator[bytes]]:
    """The same body for httpx.AsyncClient; file reads run off the event loop, progress is
    reported on it."""
    import asyncio

    headers, head, tail = multipart_parts(body)

    async def chunks() -> AsyncIterator[bytes]:
        progress = _Progress(body)
        yield head
        with body.path.open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, UPLOAD_CHUNK):
                yield chunk
                progress.sent(len(chunk))
        progress.finish()
        yield tail

    return headers, chunks()


class _Progress:
    """Calls ``on_progress(sent, total)`` in file bytes (the form's own bytes not counted)."""

    def __init__(self, body: FileBody):
        self.callback, self.total, self.done = body.on_progress, body.size, 0

    def sent(self, count: int) -> None:
        self.done += count
        if self.callback:
            self.callback(self.done, self.total)

    def finish(self) -> None:
        if self.total == 0 and self.callback:
            self.callback(0, 0)
