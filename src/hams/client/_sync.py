"""The blocking client: runs the shared operations on an ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
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
    build_request,
    connection_error,
    error_from_response,
    multipart_stream,
    retrying,
)
from hams.client._jobs import JobMethods
from hams.client._ops import Op, T, run_sync, tts_request
from hams.client._speech import SpeechMethods
from hams.client.errors import HamsError
from hams.client.realtime import RealtimeSession


class Hams(JobMethods, SpeechMethods, AgentResources):
    """A hams (or Hamsa cloud) server, called from blocking code.

    ``api_key`` and ``base_url`` default to HAMS_API_KEY and HAMS_BASE_URL (then
    http://127.0.0.1:8000). ``timeout`` bounds each HTTP request; ``max_retries`` is how many
    times a request that is safe to repeat is retried on 429, 5xx or a broken connection.
    """

    def __init__(self, api_key: str | None = None, base_url: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, max_retries: int = DEFAULT_MAX_RETRIES,
                 http_client: httpx.Client | None = None):
        self._config = Config.resolve(api_key, base_url, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=True)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Hams:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Hams(base_url={self._config.base_url!r})"

    # --- execution -----------------------------------------------------------------------

    def _run(self, op: Op[T]) -> T:
        return run_sync(op, self._execute)

    def _execute(self, command: ApiRequest | Sleep) -> httpx.Response | None:
        if isinstance(command, Sleep):
            time.sleep(max(0.0, command.seconds))
            return None
        return self._send(command)

    def _send(self, request: ApiRequest, *, stream: bool = False) -> httpx.Response:
        """One request with retries; a streamed response is returned unread and open."""
        def execute(step: ApiRequest | Sleep) -> Any:
            if isinstance(step, Sleep):
                return time.sleep(step.seconds)
            return self._attempt(step, stream)

        return run_sync(retrying(request, self._config), execute)

    def _attempt(self, request: ApiRequest, stream: bool) -> httpx.Response | HamsError:
        form = multipart_stream(request.file) if request.file is not None else None
        built = build_request(self._http, request, self._config, form)
        try:
            response = self._http.send(built, stream=stream)
        except HTTP_FAILURES as exc:
            return connection_error(exc)
        if response.is_success:
            return response
        response.read()
        response.close()
        return error_from_response(response)

    # --- methods whose shape differs between the clients ---------------------------------

    def realtime_tts_stream(self, text: str, *, speaker: str | None = None,
                            dialect: str | None = None, mulaw: bool = False,
                            sample_rate: int | str | None = None,
                            voice_dictionary_ids: Sequence[str] | None = None
                            ) -> Iterator[bytes]:
        """The WAV in chunks as it is synthesized: a 44-byte header whose sizes are
        ``FF FF FF FF`` (unknown), then audio sentence by sentence. Errors come before any
        audio, raised by the first ``next()``."""
        request = tts_request(text, speaker=speaker, dialect=dialect, mulaw=mulaw,
                              sample_rate=sample_rate,
                              voice_dictionary_ids=voice_dictionary_ids, stream=True)
        response = self._send(request, stream=True)
        try:
            yield from response.iter_bytes()
        except HTTP_FAILURES as exc:
            raise connection_error(exc) from exc
        finally:
            response.close()

    def realtime(self, *, timeout: float | None = None) -> RealtimeSession:
        """A connected session on the realtime WebSocket; use it in a ``with`` block.
        ``timeout`` bounds each wait for an answer (default: the client's timeout)."""
        session = RealtimeSession(self._config, timeout or self._config.timeout)
        session.connect()
        return session
