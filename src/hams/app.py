"""create_app(settings): routers, the envelope for every error, and the process lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from hams import __version__, metrics
from hams.api import (
    agent_analytics,
    ai_content,
    conversation_records,
    conversations,
    files,
    health,
    jobs,
    knowledge_base,
    media,
    openai_audio,
    phone_numbers,
    preview,
    projects,
    realtime,
    realtime_ws,
    statistics,
    transcription,
    tts,
    voice_agents,
    voice_dictionaries,
    web_tools,
)
from hams.api import metrics as metrics_api
from hams.api.deps import route_path
from hams.api.envelope import error_response, validation_failed
from hams.api.openai_errors import is_openai_path, openai_error_response
from hams.errors import HamsError, MethodNotAllowed, NotFound, PayloadTooLarge, ValidationFailed
from hams.queue.wakeups import start_wakeups
from hams.runtime import Runtime, build_runtime
from hams.settings import Settings
from hams.worker.handlers import job_handlers
from hams.worker.runner import Worker

log = logging.getLogger(__name__)
STATUS_KEYS = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE"}
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def create_app(settings: Settings, *, workers: int = 0, runtime: Runtime | None = None) -> FastAPI:
    """The ASGI app; ``workers`` > 0 runs that many job threads inside this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = app.state.runtime
        start_wakeups(rt.db, rt.settings)  # other processes' new and finished jobs wake this one
        worker = Worker(rt, workers) if workers else None
        if worker:
            worker.start()
        host = conversations.conversation_host(rt)
        host.start()
        try:
            yield
        finally:
            await host.stop()
            if worker:
                worker.stop()
            rt.realtime.shutdown()

    app = FastAPI(title="hams", version=__version__, lifespan=lifespan,
                  description="Self-hosted voice AI that speaks the Hamsa API")
    app.state.runtime = runtime or build_runtime(settings, num_workers=max(1, workers))
    # voice_agents last: its /v1/voice-agents/{voiceAgentId} must not shadow the fixed paths
    # (phone-number, web-tool/list, ...) of the routers before it.
    for module in (health, transcription, tts, ai_content, jobs, preview, media, projects,
                   realtime, realtime_ws, files, voice_dictionaries, openai_audio, statistics,
                   web_tools, knowledge_base, phone_numbers, conversation_records,
                   agent_analytics, conversations, voice_agents):
        app.include_router(module.router)
    if settings.metrics_enabled:
        app.state.metrics_registry = metrics.database_registry(
            app.state.runtime.db, job_types=job_handlers(app.state.runtime))
        app.include_router(metrics_api.router)
    app.router.default = _not_found(app.router.default)
    app.openapi = _openapi_document(app)
    _install_error_handlers(app)
    upload_limit = settings.media_max_bytes + 64 * 1024  # the file plus the form around it
    app.add_middleware(BodyLimit, default_limit=settings.max_body_bytes, path_limits={
        "/v1/media": upload_limit,
        "/v1/audio/transcriptions": upload_limit,
        "/v1/audio/translations": upload_limit,
        "/v1/realtime/stt": settings.realtime_max_body_bytes,
        # knowledge files by multipart, or long TEXT items (JSON escapes \uXXXX: 6 bytes/char)
        "/v1/voice-agents/knowledge-base": max(settings.kb_max_file_bytes,
                                               6 * settings.kb_max_text_chars) + 64 * 1024,
    })
    if settings.cors_origins:  # outermost: a preflight is answered before anything else
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=list(HTTP_METHODS), allow_headers=["*"],
                           expose_headers=["Retry-After"], max_age=600)
    return app


def _openapi_document(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's document without the 422 it adds to every route with parameters: hams
    answers invalid input with 400 VALIDATION_ERROR, which each route declares."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            for path_item in document.get("paths", {}).values():
                for operation in path_item.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = document.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def render_error(path: str, error: HamsError) -> JSONResponse:
    """OpenAI's error shape on the OpenAI-compatible routes, the Hamsa envelope elsewhere."""
    return openai_error_response(error) if is_openai_path(path) else error_response(error)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HamsError)
    async def hams_error(request: Request, exc: HamsError):  # type: ignore[no-untyped-def]
        return render_error(route_path(request.scope), exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):  # type: ignore[no-untyped-def]
        return render_error(route_path(request.scope), validation_failed(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if exc.status_code == 405:
            allow = allowed_methods(app, request.scope)
            use = f"; use {', '.join(allow)}" if allow else ""
            return render_error(route_path(request.scope), MethodNotAllowed(
                f"{request.method} is not allowed on this path{use}", allow=allow))
        error = HamsError(str(exc.detail), message_key=STATUS_KEYS.get(exc.status_code, "ERROR"))
        error.status_code = exc.status_code
        error.retryable = exc.status_code >= 500
        return render_error(route_path(request.scope), error)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error", exc_info=exc)
        return render_error(route_path(request.scope), HamsError("Internal server error"))


def _not_found(http_not_found: ASGIApp) -> ASGIApp:
    """An unknown WebSocket path answers the handshake like an unknown HTTP path: a 404 in the
    envelope (Starlette's default closes it, which the server sends as a bare 403)."""

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and "websocket.http.response" in scope.get(
                "extensions", {}):
            response = render_error(route_path(scope), NotFound("Not Found"))
            await WebSocket(scope, receive, send).send_denial_response(response)
        else:  # HTTP, or a server without the denial extension: Starlette's own answer
            await http_not_found(scope, receive, send)

    return not_found


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route takes on this path (Starlette's Allow names only the first
    route that matched the path)."""
    return [method for method in HTTP_METHODS
            if any(route.matches({**scope, "method": method})[0] == Match.FULL
                   for route in app.router.routes)]


class BodyLimit:
    """Refuses bodies over the limit with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, default_limit: int, path_limits: dict[str, int]):
        self.app = app
        self.default_limit = default_limit
        self.path_limits = path_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _holds_nul(scope):
            await render_error(route_path(scope), ValidationFailed(
                "The path or query holds a NUL character (%00)",
                data=[{"field": "url", "message": "NUL (%00) is not allowed"}]))(
                    scope, receive, send)
            return
        limit = self.path_limits.get(route_path(scope), self.default_limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit, route_path(scope))(scope, receive, send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            scope = _assume_json(scope)
        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                exceeded = True
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes")
            return message

        async def checked_send(message: Message) -> None:
            # a body parser may turn our error into its own 400; the 413 is the truth
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await _too_large(limit, route_path(scope))(scope, receive, send)

        await self.app(scope, limited_receive, checked_send)


def _assume_json(scope: Scope) -> Scope:
    """Treat bodies sent without a JSON content type (curl -d) as JSON, except multipart."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    current = dict(scope["headers"]).get(b"content-type", b"")
    if current.startswith((b"multipart/", b"application/json")) or current.endswith(b"+json"):
        return scope
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def _holds_nul(scope: Scope) -> bool:
    """A NUL in the path or query: no id or search holds one, and PostgreSQL cannot compare
    text with it (a 500 on every route that looks the value up)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    return any(b"\x00" in part or b"%00" in part
               for part in (raw, scope.get("query_string", b"")))


def _too_large(limit: int, path: str) -> ASGIApp:
    return render_error(path, PayloadTooLarge(
        f"The request body is larger than the limit of {limit} bytes"))
