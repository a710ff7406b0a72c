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
a bad API key (close code 1008). ``info`` greets each connection; an idle one is closed after
HAMS_REALTIME_WS_IDLE_SECONDS; the server pings every HAMS_REALTIME_WS_PING_SECONDS (uvicorn).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from hams.api.deps import presented_key
from hams.api.realtime import prepare
from hams.api.schemas.tts import RealtimeTts
from hams.engines.vad import EndOfSpeech
from hams.errors import BadRequest, HamsError, PayloadTooLarge, TooManyRequests, ValidationFailed
from hams.media.audio import SAMPLE_RATE
from hams.media.wav import resample
from hams.runtime import Runtime
from hams.services.keys import Principal, authenticate
from hams.services.realtime_stt import (
    UtteranceRequest,
    check_language,
    end_of_speech,
    eos_fields,
    eos_threshold_from,
    public_model,
    transcribe_samples,
    transcribe_utterance,
)
from hams.services.tts import engine_name, synthesize_pcm
from hams.services.usage import record_usage

log = logging.getLogger(__name__)
router = APIRouter(tags=["Realtime"])

CONNECTED = "Connected to realtime WebSocket server"
POLICY_VIOLATION = 1008
STREAM_RATES = {16000: 16000, 8000: 8000, "16k": 16000, "8k": 8000, "16000": 16000,
                "8000": 8000}


@router.websocket("/v1/realtime/ws")
async def realtime_ws(websocket: WebSocket) -> None:
    """Realtime speech over one long-lived connection (see the module docstring)."""
    await RealtimeConnection(websocket, websocket.app.state.runtime).serve()


@dataclass
class SttStream:
    """Audio of one streaming STT request, gathered frame by frame."""

    language: str
    model: str
    sample_rate: int
    eos_threshold: float | None  # None: end of speech not asked for
    chunks: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    since_partial: int = 0
    carry: bytes = b""  # an odd byte left over from a frame
    eos_reported: bool = False

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)


class RealtimeConnection:
    """One client: authenticate, greet, then serve its messages one after another."""

    def __init__(self, websocket: WebSocket, runtime: Runtime):
        self.ws = websocket
        self.runtime = runtime
        self.settings = runtime.settings
        self.principal: Principal | None = None
        self.stream: SttStream | None = None

    async def serve(self) -> None:
        await self.ws.accept()
        try:
            self.principal = await run_in_threadpool(self._authenticate)
        except HamsError as exc:
            await self._send_error(exc)
            await self.ws.close(code=POLICY_VIOLATION, reason="unauthorized")
            return
        try:
            await self._send_event("info", message=CONNECTED)
            while True:
                try:
                    message = await asyncio.wait_for(
                        self.ws.receive(), self.settings.realtime_ws_idle_seconds)
                except TimeoutError:
                    await self.ws.close(code=1000, reason="idle timeout")
                    return
                if message["type"] == "websocket.disconnect":
                    return
                await self._dispatch(message)
        except (WebSocketDisconnect, RuntimeError):  # the client went away mid-answer (a send
            return  # on a closed socket is a RuntimeError in Starlette)

    def _authenticate(self) -> Principal:
        key = self.ws.query_params.get("api_key") or presented_key(self.ws)
        with self.runtime.db.session() as session:
            return authenticate(session, key)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        try:
            if message.get("bytes") is not None:
                await self._on_audio(message["bytes"])
                return
            kind, payload = _parse(message.get("text"))
            handler = {"tts": self._on_tts, "stt": self._on_stt,
                       "stt_stream_start": self._on_stream_start,
                       "stt_stream_end": self._on_stream_end}.get(kind)
            if handler is None:
                raise BadRequest(f"Unknown message type {kind!r}; use tts, stt, "
                                 "stt_stream_start or stt_stream_end",
                                 message_key="UNKNOWN_MESSAGE_TYPE")
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
            raise _validation_failed("tts", exc) from exc
        voice, audio, sentences = await run_in_threadpool(prepare, self.runtime,
                                                          self.principal, body)
        await self._send_event("ack", message="TTS request received")
        samples = 0
        chunks = synthesize_pcm(self.runtime.tts, voice, sentences, out_rate=audio.sample_rate)
        async for pcm in iterate_in_threadpool(chunks):
            samples += pcm.size
            await self.ws.send_bytes(audio.encode(pcm))
        await self._send_event("end", message="End of TTS stream")
        await run_in_threadpool(
            record_usage, self.runtime.db, self.principal, kind="realtime_tts",
            model=engine_name(self.runtime.tts, voice),
            audio_seconds=samples / audio.sample_rate, characters=len(body.text))

    # --- speech to text, one utterance ----------------------------------------------------

    async def _on_stt(self, payload: dict[str, Any]) -> None:
        request = UtteranceRequest.from_wire(payload)
        utterance = await self.runtime.realtime.run(
            transcribe_utterance, self.settings, self.runtime.models, request)
        await self.ws.send_text(utterance.text)  # a plain text frame, as Hamsa sends it
        if utterance.eos is not None:
            await self._send_event("eos", **eos_fields(utterance.eos))
        await self._record_stt(utterance.model, utterance.duration, utterance.text)

    async def _record_stt(self, model: str, seconds: float, text: str) -> None:
        await run_in_threadpool(record_usage, self.runtime.db, self.principal,
                                kind="realtime_stt", model=model, audio_seconds=seconds,
                                characters=len(text))

    # --- speech to text, streamed (hams extension) ----------------------------------------

    async def _on_stream_start(self, payload: dict[str, Any]) -> None:
        if self.stream is not None:
            raise BadRequest("A stream is already open; send stt_stream_end first",
                             message_key="STREAM_ALREADY_OPEN")
        rate = STREAM_RATES.get(payload.get("sampleRate", 16000))
        if rate is None:
            raise ValidationFailed("sampleRate must be 16000 or 8000 (PCM16 mono)")
        wants_eos = bool(payload.get("isEosEnabled", False))
        threshold = eos_threshold_from(payload)
        language = str(payload.get("language") or "ar")
        model = public_model(payload.get("model"))
        check_language(self.settings, self.runtime.models, language, model)
        self.stream = SttStream(language=language, model=model, sample_rate=rate,
                                eos_threshold=threshold if wants_eos else None)
        await self._send_event("ack", message="STT stream started", sampleRate=rate)

    async def _on_audio(self, data: bytes) -> None:
        stream = self.stream
        if stream is None:
            raise BadRequest("Binary frames are audio for a stream: send stt_stream_start "
                             "first", message_key="NO_STREAM")
        data = stream.carry + data
        stream.carry = data[len(data) - len(data) % 2:]
        pcm = np.frombuffer(data[: len(data) - len(stream.carry)], dtype="<i2")
        if stream.sample_rate != SAMPLE_RATE:
            pcm = resample(pcm, stream.sample_rate, SAMPLE_RATE)
        stream.chunks.append(pcm.astype(np.float32) / 32768.0)
        stream.samples += pcm.size
        stream.since_partial += pcm.size
        limit = self.settings.realtime_max_audio_seconds
        if stream.samples > limit * SAMPLE_RATE:
            self.stream = None
            raise PayloadTooLarge(f"The stream is longer than the realtime limit of {limit:g} s "
                                  "(HAMS_REALTIME_MAX_AUDIO_SECONDS); it was discarded")
        if stream.since_partial >= self.settings.realtime_partial_seconds * SAMPLE_RATE:
            stream.since_partial = 0
            await self._partial(stream)

    async def _partial(self, stream: SttStream) -> None:
        try:
            text, eos = await self.runtime.realtime.run(self._recognize, stream)
        except TooManyRequests:
            return  # partials are best effort: the next one (or the final) catches up
        await self._send_event("partial", text=text,
                               duration=round(stream.samples / SAMPLE_RATE, 3))
        if eos is not None:
            if eos.is_eos and not stream.eos_reported:
                await self._send_event("eos", **eos_fields(eos))
            stream.eos_reported = eos.is_eos

    def _recognize(self, stream: SttStream) -> tuple[str, EndOfSpeech | None]:
        audio = stream.audio()
        if audio.size == 0:
            return "", None
        text = transcribe_samples(self.settings, self.runtime.models, audio, stream.language,
                                  stream.model)
        eos = (end_of_speech(self.settings, audio, stream.eos_threshold)
               if stream.eos_threshold is not None else None)
        return text, eos

    async def _on_stream_end(self, payload: dict[str, Any]) -> None:
        stream = self.stream
        if stream is None:
            raise BadRequest("No stream is open; send stt_stream_start first",
                             message_key="NO_STREAM")
        text, eos = await self.runtime.realtime.run(self._recognize, stream)
        self.stream = None
        duration = round(stream.samples / SAMPLE_RATE, 3)
        await self._send_event("final", text=text, duration=duration, **eos_fields(eos))
        await self._record_stt(stream.model, duration, text)


def _parse(text: str | None) -> tuple[str, dict[str, Any]]:
    try:
        message = json.loads(text or "")
    except ValueError as exc:
        raise BadRequest("Messages must be JSON: {\"type\": ..., \"payload\": {...}}",
                         message_key="INVALID_MESSAGE") from exc
    if not isinstance(message, dict):
        raise BadRequest("A message must be a JSON object with type and payload",
                         message_key="INVALID_MESSAGE")
    payload = message.get("payload") or {}
    if not isinstance(payload, dict):
        raise BadRequest("payload must be a JSON object", message_key="INVALID_MESSAGE")
    return str(message.get("type")), payload


def _validation_failed(kind: str, exc: ValidationError) -> ValidationFailed:
    fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
              for e in exc.errors()]
    summary = "; ".join(f"{f['field'] or 'payload'}: {f['message']}" for f in fields[:5])
    return ValidationFailed(f"Invalid {kind} payload: {summary}", data=fields)
