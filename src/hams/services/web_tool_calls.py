"""Calling a web tool: the arguments checked against its ``params``, the serverUrl filled, and
one request through the SSRF guard, answered as a ``ToolCallResult``.

It exists apart from ``services.web_tools`` (the records) because a call waits on the network
and runs outside any transaction, for the test route now and the conversation runtime later;
it reads a tool and never writes one. It imports from ``web_tools``, never the reverse.

``call_web_tool`` waits as long as the tool allows (or a caller's ``timeout_cap``). The test
route's path, ``try_web_tool``, is bounded apart: it runs on a thread of the threadpool every
sync route shares, so it waits at most ``TEST_TIMEOUT_SECONDS`` and at most
``TEST_CALLS_AT_ONCE`` test calls run at once in a process (another one is a 429 with
Retry-After), leaving the rest of the pool to the other routes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from hams.db.models import WebTool
from hams.db.session import Database
from hams.errors import TooManyRequests, UrlRefused, ValidationFailed
from hams.media.fetch import DeliveryError, request_guarded
from hams.media.urls import url_policy
from hams.sealing import SecretBox
from hams.services.keys import Principal
from hams.services.web_tools import (
    PLACEHOLDER,
    URL_FIELD,
    check_json,
    field_error,
    get_web_tool,
    params_validator,
)
from hams.settings import Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # the others send arguments as the query
AUTH_SCHEMES = ("bearer ", "basic ", "token ", "digest ", "apikey ", "api-key ")
TEST_TIMEOUT_SECONDS = 15.0  # a test call waits at most this long, whatever the tool's timeOut
TEST_CALLS_AT_ONCE = 4  # test calls running at once in a process; one more is a 429
TEST_RETRY_AFTER_SECONDS = 5.0
_test_slots = threading.BoundedSemaphore(TEST_CALLS_AT_ONCE)


@dataclass(frozen=True)
class ToolCallResult:
    """What one call of a tool gave: the answer (status, text cut to the limit) or the error."""

    method: str
    url: str
    ok: bool
    status: int | None
    latency_ms: int
    body: str | None = None
    truncated: bool = False
    content_type: str | None = None
    error: str | None = None


def check_arguments(tool: WebTool, arguments: dict[str, Any]) -> None:
    """The arguments against the tool's ``params``; every fault named in ``data``."""
    check_json("arguments", arguments)
    if not tool.params:
        return
    faults = [{"field": ".".join(["arguments", *map(str, error.instance_path)]),
               "message": error.message} for error in params_validator(tool.params).iter_errors(
                   arguments)][:20]
    if faults:
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in faults[:5])
        raise ValidationFailed(f"Invalid arguments: {summary}", data=faults)


def timeout_seconds(tool: WebTool, settings: Settings) -> float:
    stored = tool.settings.get("timeout")
    return stored / 1000 if stored else settings.web_tool_timeout_seconds


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _fill_url(url: str, arguments: dict[str, Any], defaults: Mapping[str, Any]
              ) -> tuple[str, dict[str, Any]]:
    """serverUrl with each ``{name}`` replaced (the argument, else the pathParameter),
    percent-encoded whole; the arguments not used in the path."""
    used: set[str] = set()

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in arguments and arguments[name] is not None:
            used.add(name)
            return quote(_text(arguments[name]), safe="")
        if name in defaults:
            return quote(_text(defaults[name]), safe="")
        raise field_error(f"arguments.{name}", "is needed for the serverUrl's path and has no "
                          "value in the arguments or the pathParameters")

    filled = PLACEHOLDER.sub(value_of, url)
    return filled, {k: v for k, v in arguments.items() if k not in used}


def _with_query(url: str, arguments: dict[str, Any]) -> str:
    pairs = [(name, _text(item)) for name, value in arguments.items() if value is not None
             for item in (value if isinstance(value, list) else [value])]
    if not pairs:
        return url
    base, _, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return base + joiner + urlencode(pairs) + (f"#{fragment}" if fragment else "")


def _headers(tool: WebTool, opened: dict[str, str]) -> dict[str, str]:
    """httpHeaders with their sealed values, then ``Authorization`` from the authToken: as
    is when it names its scheme (``Bearer …``, ``Basic …``), else ``Bearer <authToken>``."""
    headers = {name: value for name, value in (tool.settings.get("httpHeaders") or {}).items()
               if name not in (tool.settings.get("secretHeaders") or [])}
    headers.update({key.removeprefix("header:"): value for key, value in opened.items()
                    if key.startswith("header:")})
    token = opened.get("authToken")
    if token:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = token if token.lower().startswith(AUTH_SCHEMES) \
            else f"Bearer {token}"
    return headers


def call_web_tool(tool: WebTool, arguments: dict[str, Any], *, settings: Settings,
                  secrets: SecretBox, timeout_cap: float | None = None) -> ToolCallResult:
    """Call the tool once with ``arguments`` (checked against ``params``): path placeholders
    filled, the rest as the query (GET, DELETE) or a JSON body (POST, PUT, PATCH), the URL
    checked by the SSRF guard again. Never inside a transaction: it waits on the network, for
    the tool's timeout or ``timeout_cap`` seconds, whichever is shorter.
    Raises ValidationFailed (arguments), UrlRefused, or SealedSecretUnreadable (its secrets
    were sealed under another server key); a failure on the wire is an answer with ``ok``
    false and the error."""
    check_arguments(tool, arguments)
    method = tool.settings.get("methodType", "POST")
    url, rest = _fill_url(tool.settings["serverUrl"], arguments,
                          tool.settings.get("pathParameters") or {})
    headers = _headers(tool, secrets.open_fields(tool.sealed_secrets))
    content = None
    if method in BODY_METHODS:
        content = json.dumps(rest, ensure_ascii=False).encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    else:
        url = _with_query(url, rest)
    timeout = timeout_seconds(tool, settings)
    if timeout_cap is not None:
        timeout = min(timeout, timeout_cap)
    started = time.monotonic()
    try:
        answer = request_guarded(method, url, policy=url_policy(settings), headers=headers,
                                 content=content, timeout=timeout,
                                 max_bytes=settings.web_tool_max_response_bytes,
                                 purpose=URL_FIELD)
    except UrlRefused as exc:
        raise UrlRefused.at_field(URL_FIELD, exc.message.removeprefix(URL_FIELD + " ")) from exc
    except DeliveryError as exc:
        return ToolCallResult(method, url, ok=False, status=None, error=str(exc),
                              latency_ms=round((time.monotonic() - started) * 1000))
    latency = round((time.monotonic() - started) * 1000)
    status = answer.status_code
    content_type = answer.headers.get("content-type")
    error = None if status < 300 else f"{URL_FIELD} answered HTTP {status}" + (
        " (a redirect, not followed)" if status < 400 else "")
    return ToolCallResult(method, url, ok=status < 300, status=status, latency_ms=latency,
                          body=_decoded(answer.body, content_type), truncated=answer.truncated,
                          content_type=content_type, error=error)


def _decoded(body: bytes, content_type: str | None) -> str:
    """The answer as text in its declared charset, else UTF-8; what does not decode is
    replaced (the end of a cut answer may split a character)."""
    match = re.search(r"charset=\"?([A-Za-z0-9._-]+)", content_type or "")
    try:
        return body.decode(match.group(1) if match else "utf-8", errors="replace")
    except (LookupError, UnicodeError):  # an unknown charset, or a codec that is not text
        return body.decode("utf-8", errors="replace")


def try_web_tool(db: Database, principal: Principal, ref: str, arguments: dict[str, Any], *,
                  version: int | None, settings: Settings, secrets: SecretBox) -> ToolCallResult:
    """The test route's call: read the tool in a short transaction of its own, then call it
    outside any, waiting at most ``TEST_TIMEOUT_SECONDS``. Raises TooManyRequests when
    ``TEST_CALLS_AT_ONCE`` test calls are already running in this process."""
    with db.session() as session:
        tool = get_web_tool(session, principal, ref, version)
    if not _test_slots.acquire(blocking=False):
        raise TooManyRequests(
            f"{TEST_CALLS_AT_ONCE} web-tool test calls are already running on this server; "
            f"retry in {TEST_RETRY_AFTER_SECONDS:g} s", retry_after=TEST_RETRY_AFTER_SECONDS)
    try:
        return call_web_tool(tool, arguments, settings=settings, secrets=secrets,
                             timeout_cap=TEST_TIMEOUT_SECONDS)
    finally:
        _test_slots.release()
