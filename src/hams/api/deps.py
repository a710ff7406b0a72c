"""Dependencies: the runtime, a database session, and the caller's project from the API key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection
from starlette.types import Scope

from hams.runtime import Runtime
from hams.services.keys import Principal, authenticate
from hams.services.links import FileLinks
from hams.settings import ROUTE_CLASSES, Settings


def route_path(scope: Scope) -> str:
    """The path as the routes see it: without the prefix of a proxy's ``root_path``."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.runtime.db.session() as session:
        yield session


AUTH_SCHEMES = ("token", "bearer", "api-key", "apikey")


def presented_key(request: HTTPConnection) -> str | None:
    """The key from ``Authorization: Token|Bearer <key>`` (or a bare key), or ``X-Api-Key``."""
    header = request.headers.get("authorization", "").strip()
    if header:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() in AUTH_SCHEMES:
            return rest.strip() or None
        if not rest:
            return header
    return request.headers.get("x-api-key") or None


class RateClass:
    """A route's dependency naming its rate-limit class (``read``, ``jobs``, ``realtime``):
    it authenticates the key and counts the request in that class, in one short transaction
    that runs before the handler's session opens (decorator dependencies run first), so a
    refusal creates nothing. Declared on every authenticated route as ``dependencies=[READ]``
    (or ``JOBS``, ``REALTIME``); ``PrincipalDep`` then reads the key it found."""

    def __init__(self, name: str):
        if name not in ROUTE_CLASSES:  # a typo would be a class without a limit
            raise ValueError(f"unknown rate-limit class {name!r}; one of {ROUTE_CLASSES}")
        self.name = name

    def __call__(self, request: Request) -> Principal:
        runtime = request.app.state.runtime
        with runtime.db.session() as session:  # one transaction: the key's check and count
            principal = authenticate(session, presented_key(request))
            refusal = runtime.rate_limiter.count(principal, self.name, session)
        request.state.principal = principal
        if refusal is not None:
            raise refusal
        return principal

    def __repr__(self) -> str:
        return f"RateClass({self.name!r})"


READ = Depends(RateClass("read"))  # reads, and Hamsa's list-by-POST
JOBS = Depends(RateClass("jobs"))  # creating jobs and uploads, cancel, delete, dictionaries
REALTIME = Depends(RateClass("realtime"))  # synthesis and recognition answered now


def current_principal(request: Request) -> Principal:
    """The key the route's ``RateClass`` dependency authenticated."""
    principal = getattr(request.state, "principal", None)
    if principal is None:  # a programming error, caught by test_rate_limits
        raise RuntimeError(f"{request.url.path}: the route declares no RateClass")
    return principal


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": commit before the response is sent, so a client never sees an id that is
# not stored yet, nor a success for a write that failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


def get_file_links(request: Request) -> FileLinks:
    """Signed links to stored files and pages, as this request's client reaches the server."""
    runtime = request.app.state.runtime
    return FileLinks(runtime.secret_key, runtime.settings.signed_url_seconds,
                     base_url(request, runtime.settings))


LinksDep = Annotated[FileLinks, Depends(get_file_links)]


def base_url(request: Request, settings: Settings) -> str:
    """Where clients reach this server: HAMS_PUBLIC_URL, or the request's own base."""
    return settings.public_url or str(request.base_url).rstrip("/")
