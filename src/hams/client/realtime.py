"""The realtime WebSocket (``/v1/realtime/ws``): many TTS and STT requests on one connection.

The exchanges are written once, as generators that yield :class:`Send` and :class:`Receive`
steps (the same pattern as the REST methods); :class:`RealtimeSession` runs them on the
``websockets`` sync client, :class:`AsyncRealtimeSession` on its asyncio client. The
``websockets`` modules are imported when a session connects, so importing the SDK stays fast
and needs only httpx and pydantic; websockets comes with ``pip install 'hams[realtime]'``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, Callable, Generator, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from hams.client._http import USER_AGENT, Config
from hams.client._ops import (
    AudioInput,
    body_of,
    operation,
    run_async,
    run_sync,
    stt_payload,
    tts_payload,
)
from hams.client.errors import (
    APIConnectionError,
    APITimeoutError,
    HamsError,
    error_for,
)
from hams.client.models import EndOfSpeech

T = TypeVar("T")
PATH = "/v1/realtime/ws"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one sentence of audio per frame, however long
ASYNC_POLL_SECONDS = 0.005  # how long a poll waits for a frame that may already be there
PartialCallback = Callable[[str], Any]
EosCallback = Callable[[EndOfSpeech], Any]


@dataclass(frozen=True)
class Send:
    data: str | bytes


@dataclass(frozen=True)
class Receive:
    """The next frame; with ``poll`` only one that has already arrived (else None)."""

    poll: bool = False


WsOp = Generator[Send | Receive, Any, T]


def _message(kind: str, payload: dict[str, Any]) -> Send:
    return Send(json.dumps({"type": kind, "payload": payload}, ensure_ascii=False))


def _event(frame: str | bytes) -> dict[str, Any] | None:
    """A JSON event frame, or None for a plain text frame (an STT transcript) or audio."""
    if isinstance(frame, bytes):
        return None
    try:
        event = json.loads(frame)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "type" in event else None


def _raise_if_error(event: dict[str, Any]) -> None:
    if event.get("type") == "error":
        payload = event.get("payload") or {}
        raise error_for(str(payload.get("message") or "The server reported an error"),
                        message_key=payload.get("messageKey"), body=event,
                        retry_after=payload.get("retryAfter"))


def _eos(payload: dict[str, Any]) -> EndOfSpeech:
    return EndOfSpeech.model_validate(payload)


class SessionMethods:
    """The WebSocket requests, defined once for both sessions."""

    def __init__(self) -> None:
        self.eos: EndOfSpeech | None = None  # from the last stt/stream that asked for it
        self._on_partial: PartialCallback | None = None
        self._on_eos: EosCallback | None = None
        self._stream_eos = False

    def _run(self, op: WsOp[T]) -> Any:  # pragma: no cover - each session defines it
        raise NotImplementedError

    def _greeting(self) -> WsOp[None]:
        """The server's first frame: ``info``, or an ``error`` (a bad key) and a close."""
        event = _event((yield Receive()))
        if event is None:
            raise HamsError("Unexpected first frame from the realtime WebSocket",
                            message_key="INVALID_RESPONSE")
        _raise_if_error(event)

    @operation
    def tts(self, text: str, *, speaker: str | None = None, dialect: str | None = None,
            language_id: str | None = None, mulaw: bool = False,
            sample_rate: int | str | None = None,
            voice_dictionary_ids: Sequence[str] | None = None) -> WsOp[bytes]:
        """Synthesize ``text``: raw audio, no header (PCM16 16 kHz mono; 8 kHz PCM16 with
        ``sample_rate=8000``; 8 kHz μ-law with ``mulaw``)."""
        yield _message("tts", tts_payload(text, speaker=speaker, dialect=dialect, mulaw=mulaw,
                                          sample_rate=sample_rate, languageId=language_id,
                                          voice_dictionary_ids=voice_dictionary_ids))
        audio = bytearray()
        while True:
            frame = yield Receive()
            if isinstance(frame, bytes):
                audio += frame
                continue
            event = _event(frame) or {}
            _raise_if_error(event)
            if event.get("type") == "end":
                return bytes(audio)

    @operation
    def stt(self, audio: AudioInput, *, language: str = "ar", eos: bool = False,
            eos_threshold: float | None = None, model: str | None = None) -> WsOp[str]:
        """Transcribe one utterance (as :meth:`Hams.realtime_stt` takes it); with ``eos``
        the end-of-speech verdict is left in ``session.eos``."""
        self.eos = None
        yield _message("stt", stt_payload(audio, language=language, eos=eos,
                                          eos_threshold=eos_threshold, model=model))
        text = yield from self._transcript()
        if eos:
            self.eos = _eos((yield from self._until("eos")).get("payload") or {})
        return text

    def _transcript(self) -> WsOp[str]:
        while True:
            frame = yield Receive()
            if isinstance(frame, bytes):
                continue  # stray audio of an abandoned request
            event = _event(frame)
            if event is None:
                return frame
            _raise_if_error(event)

    def _until(self, kind: str) -> WsOp[dict[str, Any]]:
        """The next event of ``kind``, skipping other frames; an error event is raised."""
        while True:
            event = _event((yield Receive()))
            if event is not None:
                _raise_if_error(event)
                if event.get("type") == kind:
                    return event

    # --- streaming STT (hams extension) --------------------------------------------------

    @operation
    def stt_stream_start(self, *, language: str = "ar", sample_rate: int = 16000,
                         eos: bool = False, eos_threshold: float | None = None,
                         model: str | None = None, on_partial: PartialCallback | None = None,
                         on_eos: EosCallback | None = None) -> WsOp[None]:
        """Open a stream: then :meth:`send_audio` PCM16 mono chunks at ``sample_rate`` and
        :meth:`stt_stream_end`. ``on_partial(text)`` gets the transcript so far about every
        second; ``on_eos(EndOfSpeech)`` each pause (with ``eos``)."""
        self.eos = None
        yield _message("stt_stream_start", body_of(
            language=language, sampleRate=sample_rate, isEosEnabled=eos or None,
            eosThreshold=eos_threshold, model=model))
        yield from self._until("ack")
        self._on_partial, self._on_eos, self._stream_eos = on_partial, on_eos, eos

    @operation
    def send_audio(self, pcm: bytes) -> WsOp[None]:
        """Send a chunk of the open stream; partials that arrived meanwhile are handed to the
        callbacks, and an error the server sent (a stream too long) is raised."""
        yield Send(bytes(pcm))
        while True:
            frame = yield Receive(poll=True)
            if frame is None:
                return
            self._on_stream_frame(frame)

    @operation
    def stt_stream_end(self) -> WsOp[str]:
        """Close the stream: the final transcript of everything sent."""
        yield _message("stt_stream_end", {})
        try:
            while True:
                frame = yield Receive()
                final = self._on_stream_frame(frame)
                if final is not None:
                    if self._stream_eos and "isEos" in final:
                        self.eos = _eos(final)
                    return str(final.get("text") or "")
        finally:
            self._on_partial = self._on_eos = None

    def _on_stream_frame(self, frame: str | bytes) -> dict[str, Any] | None:
        """Dispatch a partial or eos; the final's payload when it is the final."""
        event = _event(frame)
        if event is None:
            return None
        _raise_if_error(event)
        payload = event.get("payload") or {}
        kind = event.get("type")
        if kind == "partial" and self._on_partial is not None:
            self._on_partial(str(payload.get("text") or ""))
        elif kind == "eos" and self._on_eos is not None:
            self._on_eos(_eos(payload))
        return payload if kind == "final" else None


def _need_websockets() -> None:
    """websockets is the ``realtime`` extra, not a dependency of the SDK: say how to get it."""
    try:
        import websockets  # noqa: F401
    except ModuleNotFoundError:
        raise ModuleNotFoundError("Realtime sessions need the websockets package: "
                                  "pip install 'hams[realtime]'", name="websockets") from None


def _closed_error(exc: Exception) -> HamsError:
    """A closed connection, with the server's reason (1008: the key was refused)."""
    rcvd = getattr(exc, "rcvd", None)
    code, reason = (rcvd.code, rcvd.reason) if rcvd is not None else (None, "")
    if code == 1008:
        return error_for(f"The server closed the connection: {reason or 'policy violation'}",
                         message_key="UNAUTHORIZED")
    return APIConnectionError(f"The realtime WebSocket closed ({code or 'no close frame'}"
                              f"{': ' + reason if reason else ''})")


def _connect_error(exc: Exception) -> HamsError:
    response = getattr(exc, "response", None)  # websockets' InvalidStatus
    if response is not None and getattr(response, "status_code", None):
        return error_for(f"WebSocket handshake refused: HTTP {response.status_code}",
                         status_code=response.status_code)
    return APIConnectionError(f"Could not connect to the realtime WebSocket: {exc}")


class RealtimeSession(SessionMethods):
    """One realtime WebSocket connection, from blocking code (``Hams.realtime()``)."""

    def __init__(self, config: Config, timeout: float):
        super().__init__()
        self._config, self._timeout = config, timeout
        self._ws: Any = None
        self._stack = ExitStack()

    def connect(self) -> RealtimeSession:
        _need_websockets()
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        try:
            # entered as a context manager, as websockets ≥ 17.1 wants; closed in close()
            self._ws = self._stack.enter_context(connect(
                self._config.ws_url(PATH), open_timeout=self._timeout,
                additional_headers=_auth(self._config),
                user_agent_header=USER_AGENT, max_size=MAX_MESSAGE_BYTES))
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise _connect_error(exc) from exc
        try:
            self._run(self._greeting())
        except HamsError:
            self.close()
            raise
        return self

    def _run(self, op: WsOp[T]) -> T:
        if self._ws is None:
            raise HamsError("The session is not connected", message_key="NOT_CONNECTED")
        return run_sync(op, self._execute)

    def _execute(self, step: Send | Receive) -> Any:
        from websockets.exceptions import ConnectionClosed

        try:
            if isinstance(step, Send):
                self._ws.send(step.data)
                return None
            return self._ws.recv(timeout=0 if step.poll else self._timeout)
        except TimeoutError as exc:
            if isinstance(step, Receive) and step.poll:
                return None
            raise APITimeoutError(f"No answer on the realtime WebSocket within "
                                  f"{self._timeout:g} s") from exc
        except ConnectionClosed as exc:
            raise _closed_error(exc) from exc

    def stream_stt(self, chunks: Iterable[bytes], **options: Any) -> str:
        """Start a stream (``options`` as :meth:`stt_stream_start`), send every chunk of
        PCM16 audio, end it: the final transcript."""
        self.stt_stream_start(**options)
        for chunk in chunks:
            self.send_audio(chunk)
        return self.stt_stream_end()

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> RealtimeSession:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class AsyncRealtimeSession(SessionMethods):
    """One realtime WebSocket connection, from asyncio: ``async with client.realtime() as
    session``; every method is awaited."""

    def __init__(self, config: Config, timeout: float):
        super().__init__()
        self._config, self._timeout = config, timeout
        self._ws: Any = None

    async def connect(self) -> AsyncRealtimeSession:
        _need_websockets()
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        try:
            self._ws = await connect(self._config.ws_url(PATH), open_timeout=self._timeout,
                                     additional_headers=_auth(self._config),
                                     user_agent_header=USER_AGENT, max_size=MAX_MESSAGE_BYTES)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise _connect_error(exc) from exc
        try:
            await self._run(self._greeting())
        except HamsError:
            await self.close()
            raise
        return self

    async def _run(self, op: WsOp[T]) -> T:
        if self._ws is None:
            raise HamsError("The session is not connected", message_key="NOT_CONNECTED")
        return await run_async(op, self._execute)

    async def _execute(self, step: Send | Receive) -> Any:
        from websockets.exceptions import ConnectionClosed

        try:
            if isinstance(step, Send):
                await self._ws.send(step.data)
                return None
            wait = ASYNC_POLL_SECONDS if step.poll else self._timeout
            return await asyncio.wait_for(self._ws.recv(), wait)
        except TimeoutError as exc:
            if isinstance(step, Receive) and step.poll:
                return None
            raise APITimeoutError(f"No answer on the realtime WebSocket within "
                                  f"{self._timeout:g} s") from exc
        except ConnectionClosed as exc:
            raise _closed_error(exc) from exc

    async def stream_stt(self, chunks: Iterable[bytes] | AsyncIterable[bytes],
                         **options: Any) -> str:
        """Start a stream, send every chunk (from a plain or an async iterable, such as a
        microphone), end it: the final transcript."""
        await self.stt_stream_start(**options)
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                await self.send_audio(chunk)
        else:
            for chunk in chunks:
                await self.send_audio(chunk)
        return await self.stt_stream_end()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> AsyncRealtimeSession:
        return await self.connect() if self._ws is None else self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


def _auth(config: Config) -> dict[str, str]:
    """The key in ``Authorization``: websockets drops that header (unlike X-Api-Key) when a
    redirect leads to another host."""
    return {"Authorization": f"Token {config.api_key}"}
