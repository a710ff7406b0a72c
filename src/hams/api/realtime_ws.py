"""The realtime WebSocket, ``/v1/realtime/ws``: Hamsa's ``tts`` and ``stt`` messages, plus a
streaming speech-to-text extension, many requests per connection, handled in order.

Client → server, JSON text frames ``{type, payload}``:

    tts               {text, speaker, dialect, languageId, mulaw, sampleRate}
                      → {type:"ack"}, binary audio frames (PCM16 16 kHz, or 8 kHz μ-law),
                        {type:"end"}
    stt               {audioBase64 | audioList, language, isEosEnabled, eosThreshold, model}
                      → the transcript as a plain text frame (as Hamsa answers), then
                        {type:"eos", payload:{isEos, eos, eosProbability}} when asked for
    stt_stream_start  {language, sampleRate (16000 | 8000), isEosEnabled, eosThreshold, model}
                      → {type:"ack"}; then binary PCM16 frames of audio; every
                        HAMS_REALTIME_PARTIAL_SECONDS of new audio → {type:"partial"} and,
                        when the speaker stops, {type:"eos"}
    stt_stream_end    {} → {type:"final", payload:{text, duration, ...eos}}

Errors are ``{type:"error", payload:{message, messageKey}}`` and never close the socket, except
a bad API key (close code 1008) and a connection over the key's rate limit (``RATE_LIMITED``
with ``retryAfter``, close code 1013). The connection and each tts, stt and stt_stream_start
message count as one ``realtime`` request; a message over the limit gets the error frame.
``info`` greets each connection; an idle one is closed after HAMS_REALTIME_WS_IDLE_SECONDS; the
server pings every HAMS_REALTIME_WS_PING_SECONDS (uvicorn).

This module only translates frames; the work is in services: ``realtime_tts`` (speech),
``realtime_stt`` (utterances) and ``stt_stream`` (streams).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, TypeVar

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from hams.api.deps import presented_key
from hams.api.envelope import validation_failed
from hams.api.schemas.realtime import (
    RealtimeSttMessage,
    RealtimeTts,
    SttStreamStart,
    eos_fields,
)
from hams.engines.vad import EndOfSpeech
from hams.errors import BadRequest, HamsError, TooManyRequests
from hams.runtime import Runtime
from hams.services.keys import KeyCheck, Principal
from hams.services.realtime_stt import transcribe_now
from hams.services.realtime_tts import speak_stream
from hams.services.stt_stream import Partial, SttStreams

log = logging.getLogger(__name__)
Payload = TypeVar("Payload", bound=BaseModel)
router = APIRouter(tags=["Realtime"])

CONNECTED = "Connected to realtime WebSocket server"
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013  # the connection was over the key's rate limit
COUNTED_MESSAGES = ("tts", "stt", "stt_stream_start")  # each counts against the rate limit
INBOX_MESSAGES = 64  # messages read ahead while one is being answered


@router.websocket("/v1/realtime/ws")
async def realtime_ws(websocket: WebSocket) -> None:
    """Realtime speech over one long-lived connection (see the module docstring)."""
    await RealtimeConnection(websocket, websocket.app.state.runtime).serve()


class RealtimeConnection:
    """One client: authenticate, greet, then serve its messages one after another."""

    def __init__(self, websocket: WebSocket, runtime: Runtime):
        self.ws = websocket
        self.runtime = runtime
        self.settings = runtime.settings
        self.principal: Principal | None = None
        self.key = KeyCheck(runtime.db, websocket.query_params.get("api_key")
                            or presented_key(websocket),
                            every_seconds=runtime.settings.realtime_ws_reauth_seconds)
        self.streams = SttStreams(runtime.db, settings=runtime.settings, models=runtime.models,
                                  pool=runtime.realtime)
        self._handlers = {"tts": self._on_tts, "stt": self._on_stt,
                          "stt_stream_start": self._on_stream_start,
                          "stt_stream_end": self._on_stream_end}

    async def serve(self) -> None:
        await self.ws.accept()
        try:
            self.principal = await run_in_threadpool(self.key.renew)
        except HamsError as exc:
            await self._send_error(exc)
            await self.ws.close(code=POLICY_VIOLATION, reason="unauthorized")
            return
        try:
            await self._count_request()
        except TooManyRequests as exc:
            await self._send_error(exc)
            await self.ws.close(code=TRY_AGAIN_LATER, reason="rate limited")
            return
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=INBOX_MESSAGES)
        reader = asyncio.create_task(self._read(inbox))
        try:
            await self._send_event("info", message=CONNECTED)
            while True:
                try:  # a timeout scope, not wait_for: no task per message (audio frames)
                    async with asyncio.timeout(self.settings.realtime_ws_idle_seconds):
                        message = await inbox.get()
                except TimeoutError:
                    await self.ws.close(code=1000, reason="idle timeout")
                    return
                if message["type"] == "websocket.disconnect":
                    return
                if not await self._still_authorized():
                    return
                await self._dispatch(message)
        except (WebSocketDisconnect, RuntimeError):  # the client went away mid-answer (a send
            return  # on a closed socket is a RuntimeError in Starlette)
        finally:
            reader.cancel()

    async def _read(self, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        """Keep reading while a request is being answered.

        uvicorn stops reading the socket until the application takes the message it holds, so
        without this a long request would leave the client's pongs unread and the keepalive
        would drop a healthy connection. The inbox is bounded: a client that floods is slowed
        down by TCP, not buffered without limit.
        """
        try:
            while True:
                message = await self.ws.receive()
                await inbox.put(message)
                if message["type"] == "websocket.disconnect":
                    return
        except (WebSocketDisconnect, RuntimeError):
            await inbox.put({"type": "websocket.disconnect"})

    async def _count_request(self) -> None:
        """One request of the ``realtime`` rate-limit class: the connection, and each request
        message (audio frames belong to their stream and are not counted)."""
        limiter = self.runtime.rate_limiter
        if limiter.limits.get("realtime"):  # no limit: nothing to count, no thread to borrow
            await run_in_threadpool(limiter.check, self.principal, "realtime")

    async def _still_authorized(self) -> bool:
        """Check the key again now and then: revoking it must end open connections too."""
        if not self.key.due:
            return True
        try:
            self.principal = await run_in_threadpool(self.key.renew)
        except HamsError as exc:
            await self._send_error(exc)
            await self.ws.close(code=POLICY_VIOLATION, reason="unauthorized")
            return False
        return True

    async def _dispatch(self, message: dict[str, Any]) -> None:
        try:
            if message.get("bytes") is not None:
                await self._on_audio(message["bytes"])
                return
            text = message.get("text") or ""
            # big messages (audioList) are parsed off the event loop
            kind, payload = (_parse(text) if len(text) < 65_536
                             else await run_in_threadpool(_parse, text))
            handler = self._handlers.get(kind)
            if handler is None:
                raise BadRequest(f"Unknown message type {kind!r}; use tts, stt, "
                                 "stt_stream_start or stt_stream_end",
                                 message_key="UNKNOWN_MESSAGE_TYPE")
            if kind in COUNTED_MESSAGES:
                await self._count_request()
            await handler(payload)
        except HamsError as exc:
            await self._send_error(exc)
        except WebSocketDisconnect:
            raise
        except Exception:  # noqa: BLE001 - one bad request must not end the connection
            log.exception("realtime WebSocket request failed")
            await self._send_error(HamsError("Internal error; the server log has details"))

    async def _send_event(self, kind: str, **payload: Any) -> None:
        await self.ws.send_text(json.dumps({"type": kind, "payload": payload},
                                           ensure_ascii=False))

    async def _send_error(self, error: HamsError) -> None:
        extra = {"retryAfter": error.retry_after} if isinstance(error, TooManyRequests) else {}
        await self._send_event("error", message=error.message, messageKey=error.message_key,
                               **extra)

    # --- text to speech -------------------------------------------------------------------

    async def _on_tts(self, payload: dict[str, Any]) -> None:
        body = _validated(RealtimeTts, payload, "tts payload")
        stream = await speak_stream(self.runtime.db, self.principal, body.request(),
                                    settings=self.settings, tts=self.runtime.tts,
                                    pool=self.runtime.realtime)
        try:  # the first sentence was made (admitted, or refused) before the ack
            await self._send_event("ack", message="TTS request received")
            async for chunk in stream.chunks:
                await self.ws.send_bytes(chunk)
            await self._send_event("end", message="End of TTS stream")
        finally:
            await stream.aclose()

    # --- speech to text, one utterance ----------------------------------------------------

    async def _on_stt(self, payload: dict[str, Any]) -> None:
        request = _validated(RealtimeSttMessage, payload, "stt payload").request()
        utterance = await transcribe_now(
            self.runtime.db, self.principal, request, settings=self.settings,
            models=self.runtime.models, pool=self.runtime.realtime)
        await self.ws.send_text(utterance.text)  # a plain text frame, as Hamsa sends it
        if utterance.eos is not None:
            await self._send_event("eos", **eos_fields(utterance.eos))

    # --- speech to text, streamed (hams extension) ----------------------------------------

    async def _on_stream_start(self, payload: dict[str, Any]) -> None:
        self.streams.check_can_start()  # STREAM_ALREADY_OPEN comes before a payload's faults
        request = _validated(SttStreamStart, payload, "stt_stream_start payload").request()
        rate = await self.streams.start(self.principal, request)
        await self._send_event("ack", message="STT stream started", sampleRate=rate)

    async def _on_audio(self, data: bytes) -> None:
        for event in await self.streams.feed(data):
            if isinstance(event, Partial):
                await self._send_event("partial", text=event.text, duration=event.duration)
            elif isinstance(event, EndOfSpeech):
                await self._send_event("eos", **eos_fields(event))

    async def _on_stream_end(self, payload: dict[str, Any]) -> None:
        final = await self.streams.end(self.principal)
        await self._send_event("final", text=final.text, duration=final.duration,
                               **eos_fields(final.eos))


def _validated(model: type[Payload], payload: dict[str, Any], subject: str) -> Payload:
    """A payload read by its wire model; pydantic's faults as one ValidationFailed (the stt
    models raise their own, with the messages the WebSocket has always sent)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(exc.errors(), subject, "payload") from exc


def _parse(text: str | None) -> tuple[str, dict[str, Any]]:
    try:
        message = json.loads(text or "")
    except ValueError as exc:
        raise BadRequest("Messages must be JSON: {\"type\": ..., \"payload\": {...}}",
                         message_key="INVALID_MESSAGE") from exc
    if not isinstance(message, dict):
        raise BadRequest("A message must be a JSON object with type and payload",
                         message_key="INVALID_MESSAGE")
    payload = message.get("payload")
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise BadRequest("payload must be a JSON object", message_key="INVALID_MESSAGE")
    return str(message.get("type")), payload
