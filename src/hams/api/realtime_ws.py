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
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hams.api.deps import presented_key
from hams.api.envelope import validation_failed
from hams.api.realtime import check_audio_quota, prepare, record_stt, synthesized
from hams.api.schemas.tts import RealtimeTts
from hams.engines.vad import EndOfSpeech
from hams.errors import BadRequest, HamsError, PayloadTooLarge, TooManyRequests, ValidationFailed
from hams.media.audio import SAMPLE_RATE
from hams.media.wav import resample
from hams.runtime import Runtime
from hams.services.keys import Principal, authenticate
from hams.services.realtime_stt import (
    DEFAULT_EOS_THRESHOLD,
    UtteranceRequest,
    end_of_speech,
    eos_fields,
    eos_threshold_from,
    flag,
    language_from,
    public_model,
    transcribe_samples,
    transcribe_utterance,
)
from hams.services.transcription import check_language

log = logging.getLogger(__name__)
router = APIRouter(tags=["Realtime"])

CONNECTED = "Connected to realtime WebSocket server"
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013  # the connection was over the key's rate limit
COUNTED_MESSAGES = ("tts", "stt", "stt_stream_start")  # each counts against the rate limit
INBOX_MESSAGES = 64  # messages read ahead while one is being answered
STREAM_RATES = {16000: 16000, 8000: 8000, "16k": 16000, "8k": 8000, "16000": 16000,
                "8000": 8000}


@router.websocket("/v1/realtime/ws")
async def realtime_ws(websocket: WebSocket) -> None:
    """Realtime speech over one long-lived connection (see the module docstring)."""
    await RealtimeConnection(websocket, websocket.app.state.runtime).serve()


@dataclass
class SttStream:
    """Audio of one streaming STT request, gathered frame by frame.

    When the speaker pauses (end of speech), what was said so far is committed: its text is
    kept and later partials transcribe only the audio after it, so each partial costs the
    current phrase, not the whole stream.
    """

    language: str
    model: str
    sample_rate: int
    wants_eos: bool  # whether the client asked for eos events
    eos_threshold: float  # also decides, when not asked, where a phrase ends
    chunks: list[np.ndarray] = field(default_factory=list)  # int16 since the last commit
    samples: int = 0  # at sample_rate, the whole stream
    since_partial: int = 0
    carry: bytes = b""  # an odd byte left over from a frame
    eos_reported: bool = False
    committed_text: str = ""

    @property
    def seconds(self) -> float:
        return round(self.samples / self.sample_rate, 3)

    def tail(self) -> np.ndarray:
        """The audio after the committed part, as 16 kHz float32 (resampled in one go)."""
        pcm = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        if self.sample_rate != SAMPLE_RATE and pcm.size:
            pcm = resample(pcm, self.sample_rate, SAMPLE_RATE)
        return pcm.astype(np.float32) / 32768.0

    def text_with(self, tail_text: str) -> str:
        return f"{self.committed_text} {tail_text}".strip()


class RealtimeConnection:
    """One client: authenticate, greet, then serve its messages one after another."""

    def __init__(self, websocket: WebSocket, runtime: Runtime):
        self.ws = websocket
        self.runtime = runtime
        self.settings = runtime.settings
        self.principal: Principal | None = None
        self.stream: SttStream | None = None
        self.discarded = False  # a stream dropped for length: ignore its audio until its end
        self._checked_at = 0.0
        self._handlers = {"tts": self._on_tts, "stt": self._on_stt,
                          "stt_stream_start": self._on_stream_start,
                          "stt_stream_end": self._on_stream_end}

    async def serve(self) -> None:
        await self.ws.accept()
        try:
            self.principal = await run_in_threadpool(self._authenticate)
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

    def _authenticate(self) -> Principal:
        key = self.ws.query_params.get("api_key") or presented_key(self.ws)
        with self.runtime.db.session() as session:
            principal = authenticate(session, key)
        self._checked_at = time.monotonic()
        return principal

    async def _count_request(self) -> None:
        """One request of the ``realtime`` rate-limit class: the connection, and each request
        message (audio frames belong to their stream and are not counted)."""
        limiter = self.runtime.rate_limiter
        if limiter.limits.get("realtime"):
            await run_in_threadpool(limiter.check, self.principal, "realtime")

    async def _still_authorized(self) -> bool:
        """Check the key again now and then: revoking it must end open connections too."""
        if time.monotonic() - self._checked_at < self.settings.realtime_ws_reauth_seconds:
            return True
        try:
            self.principal = await run_in_threadpool(self._authenticate)
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
        try:
            body = RealtimeTts.model_validate(payload)
        except ValidationError as exc:
            raise validation_failed(exc.errors(), "tts payload", "payload") from exc
        voice, audio, sentences = await run_in_threadpool(prepare, self.runtime,
                                                          self.principal, body)
        pcm = synthesized(self.runtime, self.principal, body.text, voice, sentences, audio)
        first = await anext(pcm, None)  # admitted (or refused) before the ack
        await self._send_event("ack", message="TTS request received")
        try:
            if first is not None:
                await self.ws.send_bytes(audio.encode(first))
            async for chunk in pcm:
                await self.ws.send_bytes(audio.encode(chunk))
            await self._send_event("end", message="End of TTS stream")
        finally:
            await pcm.aclose()

    # --- speech to text, one utterance ----------------------------------------------------

    async def _on_stt(self, payload: dict[str, Any]) -> None:
        request = UtteranceRequest.from_wire(payload)
        await check_audio_quota(self.runtime, self.principal)
        utterance = await self.runtime.realtime.run(
            transcribe_utterance, self.settings, self.runtime.models, request)
        # recorded before the answer, so a client that reads it and hangs up is still counted
        await record_stt(self.runtime, self.principal, utterance.model, utterance.duration,
                         utterance.text)
        await self.ws.send_text(utterance.text)  # a plain text frame, as Hamsa sends it
        if utterance.eos is not None:
            await self._send_event("eos", **eos_fields(utterance.eos))

    # --- speech to text, streamed (hams extension) ----------------------------------------

    async def _on_stream_start(self, payload: dict[str, Any]) -> None:
        if self.stream is not None:
            raise BadRequest("A stream is already open; send stt_stream_end first",
                             message_key="STREAM_ALREADY_OPEN")
        self.discarded = False
        rate_value = payload.get("sampleRate", 16000)
        rate = STREAM_RATES.get(rate_value) if isinstance(rate_value, int | str) else None
        if rate is None:
            raise ValidationFailed("sampleRate must be 16000 or 8000 (PCM16 mono)")
        wants_eos = flag(payload, "isEosEnabled")
        threshold = eos_threshold_from(payload)
        language = language_from(payload)
        model = public_model(payload.get("model"))
        check_language(self.settings, self.runtime.models, language, model)
        await check_audio_quota(self.runtime, self.principal)
        self.stream = SttStream(language=language, model=model, sample_rate=rate,
                                wants_eos=wants_eos,
                                eos_threshold=threshold if wants_eos else DEFAULT_EOS_THRESHOLD)
        await self._send_event("ack", message="STT stream started", sampleRate=rate)

    async def _on_audio(self, data: bytes) -> None:
        stream = self.stream
        if stream is None:
            if self.discarded:
                return  # the error was sent once, when the stream was dropped
            raise BadRequest("Binary frames are audio for a stream: send stt_stream_start "
                             "first", message_key="NO_STREAM")
        data = stream.carry + data
        stream.carry = data[len(data) - len(data) % 2:]
        pcm = np.frombuffer(data[: len(data) - len(stream.carry)], dtype="<i2")
        stream.chunks.append(pcm)
        stream.samples += pcm.size
        stream.since_partial += pcm.size
        limit = self.settings.realtime_max_audio_seconds
        if stream.samples > limit * stream.sample_rate:
            self.stream, self.discarded = None, True
            raise PayloadTooLarge(f"The stream is longer than the realtime limit of {limit:g} s "
                                  "(HAMS_REALTIME_MAX_AUDIO_SECONDS); it was discarded")
        if stream.since_partial >= self.settings.realtime_partial_seconds * stream.sample_rate:
            stream.since_partial = 0
            await self._partial(stream)

    async def _partial(self, stream: SttStream) -> None:
        try:
            text, eos = await self.runtime.realtime.run(self._recognize, stream)
        except TooManyRequests:
            return  # partials are best effort: the next one (or the final) catches up
        await self._send_event("partial", text=stream.text_with(text), duration=stream.seconds)
        if eos is None:
            return
        if stream.wants_eos and eos.speech_heard:
            if eos.is_eos and not stream.eos_reported:
                await self._send_event("eos", **eos_fields(eos))
            stream.eos_reported = eos.is_eos
        if eos.is_eos and text:
            # A pause after speech: commit the phrase. New frames wait in the inbox while a
            # partial runs, so every chunk held now is part of what was just recognized.
            stream.committed_text = stream.text_with(text)
            stream.chunks.clear()

    def _recognize(self, stream: SttStream) -> tuple[str, EndOfSpeech | None]:
        """The text of the uncommitted audio and its end of speech (at the default threshold
        when the client did not ask: it still decides when to commit a phrase)."""
        audio = stream.tail()
        if audio.size == 0:
            return "", None
        eos = end_of_speech(self.settings, audio, stream.eos_threshold)
        if not eos.speech_heard:
            return "", eos  # silence: nothing to decode
        text, _ = transcribe_samples(self.settings, self.runtime.models, audio,
                                     stream.language, stream.model)
        return text, eos

    async def _on_stream_end(self, payload: dict[str, Any]) -> None:
        stream = self.stream
        if stream is None:
            if self.discarded:
                self.discarded = False
                raise PayloadTooLarge("The stream was discarded for being too long "
                                      "(HAMS_REALTIME_MAX_AUDIO_SECONDS); nothing to finish")
            raise BadRequest("No stream is open; send stt_stream_start first",
                             message_key="NO_STREAM")
        text, eos = await self.runtime.realtime.run(self._recognize, stream)
        self.stream = None
        if eos is not None and not eos.speech_heard and stream.committed_text:
            # silence after a committed phrase: the speaker finished that phrase
            eos = EndOfSpeech(eos.probability >= stream.eos_threshold, eos.probability, True)
        extra = eos_fields(eos) if stream.wants_eos and eos else {}
        final = stream.text_with(text)
        await record_stt(self.runtime, self.principal, stream.model, stream.seconds, final)
        await self._send_event("final", text=final, duration=stream.seconds, **extra)


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
