"""The asyncio client: runs the same operations as :class:`~hams.client.Hams` on an
``httpx.AsyncClient``; every method returns an awaitable of the same result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from hams.client._agents import AgentResources
from hams.client._http import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    HTTP_FAILURES,
    ApiRequest,
    Config,
    Sleep,
    amultipart_stream,
    build_request,
    connection_error,
    error_from_response,
    retrying,
)
from hams.client._jobs import JobMethods
from hams.client._ops import Op, T, run_async, tts_request
from hams.client._speech import SpeechMethods
from hams.client.errors import HamsError
from hams.client.realtime import AsyncRealtimeSession


class AsyncHams(JobMethods, SpeechMethods, AgentResources):
    """A hams (or Hamsa cloud) server, called from asyncio; the methods, arguments and
    results of :class:`~hams.client.Hams`, awaited. Callbacks (``on_poll``,
    ``on_progress``) are plain functions, called on the event loop."""

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, max_retries: int = DEFAULT_MAX_RETRIES,
                 http_client: httpx.AsyncClient | None = None):
        self._config = Config.resolve(api_key, base_url, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncHams:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncHams(base_url={self._config.base_url!r})"

    # --- execution -----------------------------------------------------------------------

    async def _run(self, op: Op[T]) -> T:
        return await run_async(op, self._execute)

    async def _execute(self, command: ApiRequest | Sleep) -> httpx.Response | None:
        if isinstance(command, Sleep):
            await asyncio.sleep(max(0.0, command.seconds))
            return None
        return await self._send(command)

    async def _send(self, request: ApiRequest, *, stream: bool = False) -> httpx.Response:
        """One request with retries; a streamed response is returned unread and open."""
        async def execute(step: ApiRequest | Sleep) -> Any:
            if isinstance(step, Sleep):
                return await asyncio.sleep(step.seconds)
            return await self._attempt(step, stream)

        return await run_async(retrying(request, self._config), execute)

    async def _attempt(self, request: ApiRequest, stream: bool) -> httpx.Response | HamsError:
        form = amultipart_stream(request.file) if request.file is not None else None
        built = build_request(self._http, request, self._config, form)
        try:
            response = await self._http.send(built, stream=stream)
        except HTTP_FAILURES as exc:
            return connection_error(exc)
        if response.is_success:
            return response
        await response.aread()
        await response.aclose()
        return error_from_response(response)

    # --- methods whose shape differs between the clients ---------------------------------

    async def realtime_tts_stream(self, text: str, *, speaker: str | None = None,
                                  dialect: str | None = None, mulaw: bool = False,
                                  sample_rate: int | str | None = None,
                                  voice_dictionary_ids: Sequence[str] | None = None
                                  ) -> AsyncIterator[bytes]:
        """The WAV in chunks as it is synthesized (see :meth:`Hams.realtime_tts_stream`)."""
        request = tts_request(text, speaker=speaker, dialect=dialect, mulaw=mulaw,
                              sample_rate=sample_rate,
                              voice_dictionary_ids=voice_dictionary_ids, stream=True)
        response = await self._send(request, stream=True)
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except HTTP_FAILURES as exc:
            raise connection_error(exc) from exc
        finally:
            await response.aclose()

    def realtime(self, *, timeout: float | None = None) -> AsyncRealtimeSession:
        """A session on the realtime WebSocket: ``async with client.realtime() as rt``
        connects it (or ``await session.connect()``)."""
        return AsyncRealtimeSession(self._config, timeout or self._config.timeout)
