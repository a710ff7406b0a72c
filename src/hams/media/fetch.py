"""Guarded HTTP: downloads and webhook posts that only ever connect to addresses the guard checked.

Every request is sent to the IP address ``check_url`` approved, with the original name in the
``Host`` header and in TLS SNI / certificate checks, so DNS cannot be rebound between the check
and the connection. Redirects are followed by hand so that each hop is checked again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx

from hams import __version__
from hams.errors import MediaFetchFailed, PayloadTooLarge, UrlRefused
from hams.media.compression import BodyDecodeError, decoded_chunks
from hams.media.urls import ResolvedUrl, UrlPolicy, check_url

USER_AGENT = f"hams/{__version__}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
POST_BODY_LIMIT = 64 * 1024  # a webhook receiver's answer is only logged; never hold more
_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class DeliveryError(Exception):
    """A POST could not be delivered (connection refused, timeout, broken connection)."""


@dataclass(frozen=True)
class FetchResult:
    """Where a download landed and what the server said it was."""

    path: Path
    size: int
    content_type: str | None
    final_url: str


def open_guarded_client(timeout: float) -> httpx.Client:
    """A client that never follows redirects, reads no proxy settings and reuses no connection."""
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": USER_AGENT},
    )


def _pinned_request(
    client: httpx.Client,
    method: str,
    resolved: ResolvedUrl,
    address: str,
    *,
    headers: Mapping[str, str],
    content: bytes | None,
    timeout: float,
) -> httpx.Request:
    """Address the checked IP while telling the server (Host, SNI) which name was asked for."""
    parts = urlsplit(resolved.url)
    default_port = 443 if resolved.scheme == "https" else 80
    suffix = "" if resolved.port == default_port else f":{resolved.port}"
    ip_host = f"[{address.replace('%', '%25')}]" if ":" in address else address
    name = f"[{resolved.host}]" if ":" in resolved.host else resolved.host
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    extensions: dict[str, object] = {"timeout": httpx.Timeout(timeout).as_dict()}
    if resolved.scheme == "https":
        extensions["sni_hostname"] = resolved.host
    return client.build_request(
        method,
        f"{resolved.scheme}://{ip_host}{suffix}{target}",
        headers={**headers, "Host": f"{name}{suffix}"},
        content=content,
        extensions=extensions,
    )


def _send_pinned(
    client: httpx.Client,
    method: str,
    resolved: ResolvedUrl,
    *,
    headers: Mapping[str, str],
    timeout: float,
    content: bytes | None = None,
) -> httpx.Response:
    """Try each checked address in turn, so a dead IPv6 route does not sink a dual-stack host."""
    error: httpx.ConnectError | None = None
    for address in resolved.addresses:
        request = _pinned_request(
            client, method, resolved, address, headers=headers, content=content, timeout=timeout
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            error = exc
    assert error is not None  # check_url never returns an empty address list
    raise error


def _describe(exc: httpx.TransportError) -> str:
    """Say in a few words what went wrong on the wire."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"could not be reached ({exc})"
    return f"connection failed ({exc})"


def _size_text(limit: int) -> str:
    """Show a byte limit the way an operator configured it."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("GB", 10**9), ("MB", 10**6)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def _too_large(max_bytes: int) -> PayloadTooLarge:
    """The one message for a download over the limit, however it was noticed."""
    return PayloadTooLarge(
        f"media is larger than the limit of {_size_text(max_bytes)} (HAMS_MEDIA_MAX_BYTES)"
    )


@dataclass(frozen=True)
class _Budget:
    """The limits one download runs under, passed as one value to its steps."""

    purpose: str
    timeout: float
    deadline: float
    max_bytes: int
    max_redirects: int

    def check_time(self) -> float:
        """Return the seconds left, failing the download once the total budget is spent."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise MediaFetchFailed(f"{self.purpose} did not finish within {self.timeout:g} s")
        return remaining


def _open_final(
    client: httpx.Client, url: str, policy: UrlPolicy, budget: _Budget
) -> tuple[httpx.Response, str]:
    """Follow redirects by hand, checking every hop, and return the final open response."""
    for _hop in range(budget.max_redirects + 1):
        resolved = check_url(url, policy, purpose=budget.purpose)
        response = _send_pinned(
            client,
            "GET",
            resolved,
            headers={"Accept-Encoding": "identity"},
            timeout=budget.check_time(),
        )
        location = response.headers.get("location")
        if response.status_code not in REDIRECT_STATUSES or not location:
            return response, url
        response.close()
        url = urljoin(url, location)
    raise MediaFetchFailed(f"{budget.purpose} redirected more than {budget.max_redirects} times")


def _stream_body(response: httpx.Response, out: BinaryIO, budget: _Budget) -> int:
    """Copy the body chunk by chunk, stopping at the size limit (of the decoded bytes, when
    the server compressed it anyway) or the total time budget."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > budget.max_bytes:
        raise _too_large(budget.max_bytes)
    size = 0
    try:
        for chunk in decoded_chunks(response.iter_raw(), response.headers.get("content-encoding")):
            size += len(chunk)
            if size > budget.max_bytes:
                raise _too_large(budget.max_bytes)
            out.write(chunk)
            budget.check_time()
    except BodyDecodeError as exc:
        raise MediaFetchFailed(f"{budget.purpose} answered a body that {exc}") from exc
    return size


def fetch_to_file(
    url: str,
    dest: Path,
    *,
    policy: UrlPolicy,
    max_bytes: int,
    timeout: float,
    max_redirects: int = 5,
    purpose: str = "mediaUrl",
) -> FetchResult:
    """Download a user-given URL to ``dest`` without letting it reach private addresses."""
    budget = _Budget(purpose, timeout, time.monotonic() + timeout, max_bytes, max_redirects)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, open_guarded_client(timeout) as client:
            try:
                response, final_url = _open_final(client, url, policy, budget)
                with contextlib.closing(response):
                    if not response.is_success:
                        raise MediaFetchFailed(f"{purpose} answered HTTP {response.status_code}")
                    size = _stream_body(response, out, budget)
            except httpx.TransportError as exc:
                raise MediaFetchFailed(f"{purpose} {_describe(exc)}") from exc
        os.replace(tmp_name, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return FetchResult(dest, size, response.headers.get("content-type"), final_url)


def post_guarded(
    url: str,
    *,
    policy: UrlPolicy,
    content: bytes,
    headers: Mapping[str, str],
    timeout: float,
    purpose: str = "webhookUrl",
) -> httpx.Response:
    """POST once to a checked, pinned address; a 3xx comes back as is, never followed."""
    resolved = check_url(url, policy, purpose=purpose)
    deadline = time.monotonic() + timeout
    try:
        with open_guarded_client(timeout) as client:
            response = _send_pinned(
                client, "POST", resolved, headers=headers, content=content, timeout=timeout
            )
            with contextlib.closing(response):
                body = _read_some(response, deadline)
    except httpx.TransportError as exc:
        raise DeliveryError(f"{purpose} {_describe(exc)}") from exc
    kept = [(k, v) for k, v in response.headers.multi_items() if k not in _DROPPED_HEADERS]
    return httpx.Response(
        response.status_code, headers=kept, content=bytes(body), request=response.request
    )


def _read_some(response: httpx.Response, deadline: float) -> bytearray:
    """The first POST_BODY_LIMIT decoded bytes of an answer that is only logged; a body
    compressed beyond decoding is kept as far as it decoded."""
    body = bytearray()
    with contextlib.suppress(BodyDecodeError):
        for chunk in decoded_chunks(response.iter_raw(), response.headers.get("content-encoding")):
            body += chunk[: POST_BODY_LIMIT - len(body)]
            if len(body) >= POST_BODY_LIMIT or time.monotonic() > deadline:
                break
    return body


ACCEPTED_ENCODINGS = "gzip, deflate"  # what compression.decoded_chunks undoes


@dataclass(frozen=True)
class GuardedResponse:
    """An answer read whole, or up to its limit: status, headers, body and whether it was cut."""

    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool


def request_guarded(
    method: str,
    url: str,
    *,
    policy: UrlPolicy,
    headers: Mapping[str, str],
    content: bytes | None = None,
    timeout: float,
    max_bytes: int,
    purpose: str = "serverUrl",
) -> GuardedResponse:
    """Send one request of any method to a checked, pinned address and read at most
    ``max_bytes`` of its decoded answer within ``timeout`` in all. A 3xx comes back as is,
    never followed: a web tool's POST must not be replayed at another address, and every hop
    would need its own check. Raises UrlRefused before connecting (also for a URL httpx
    cannot send), DeliveryError when the request fails on the wire or the answer does not
    arrive in time."""
    resolved = check_url(url, policy, purpose=purpose)
    sent = {k: v for k, v in headers.items() if k.lower() != "host"}  # Host names the checked host
    if not any(k.lower() == "accept-encoding" for k in sent):
        sent["Accept-Encoding"] = ACCEPTED_ENCODINGS
    deadline = time.monotonic() + timeout
    try:
        with open_guarded_client(timeout) as client:
            response = _send_pinned(
                client, method.upper(), resolved, headers=sent, content=content, timeout=timeout,
            )
            with contextlib.closing(response):
                body, truncated = _read_limited(response, max_bytes, deadline, purpose)
    except httpx.InvalidURL as exc:  # e.g. over httpx's length limit
        raise UrlRefused(f"{purpose} is not a URL that can be requested ({exc})") from exc
    except httpx.TransportError as exc:
        raise DeliveryError(f"{purpose} {_describe(exc)}") from exc
    kept = [(k, v) for k, v in response.headers.multi_items() if k not in _DROPPED_HEADERS]
    return GuardedResponse(response.status_code, httpx.Headers(kept), bytes(body), truncated)


def _read_limited(
    response: httpx.Response, max_bytes: int, deadline: float, purpose: str
) -> tuple[bytearray, bool]:
    """The first ``max_bytes`` decoded bytes and whether more followed; the whole read stays
    within the deadline."""
    body = bytearray()
    try:
        for chunk in decoded_chunks(response.iter_raw(), response.headers.get("content-encoding")):
            room = max_bytes - len(body)
            if len(chunk) > room:
                body += chunk[:room]
                return body, True
            body += chunk
            if time.monotonic() > deadline:
                raise DeliveryError(f"{purpose} timed out")
    except BodyDecodeError as exc:
        raise DeliveryError(f"{purpose} answered a body that {exc}") from exc
    return body, False
