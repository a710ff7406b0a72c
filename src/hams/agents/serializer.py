"""The Hamsa voice SDK's WebSocket protocol (≤0.3.1, spec hamsa-clients §1b) as a Pipecat
frame serializer.

In: ``start``, ``media`` (base64 of float32 mono samples at the SDK's AudioContext rate,
16 kHz; a ``sampleRate`` on ``start`` or on ``media`` — a hams extension — says another rate,
resampled to 16 kHz), ``mark``, ``tools_response`` and ``stop``. Control messages reach the
pipeline as ``InputTransportMessageFrame`` for ``ConversationControl`` to act on. Out: audio as
``media`` (base64 PCM16 LE, 16 kHz), an interruption as ``clear``, and the events the pipeline
sends (``transcription``, ``answer``, ``info``, ``tools``, ``mark``, ``error``) as they are.

Input is bounded: a frame over ``MAX_FRAME_SECONDS`` of audio, or audio arriving more than
``MAX_AHEAD_SECONDS`` ahead of the wall clock, is dropped and reported once, never buffered.
The SDK's 8 ms frames are passed on in ``BATCH_SAMPLES`` blocks (Silero's 32 ms window): a
quarter of the frames through the pipeline, for at most 24 ms of added delay.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

import numpy as np
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.serializers.base_serializer import FrameSerializer

SAMPLE_RATE = 16_000
STREAM_SID = "WEBSDK"
MAX_FRAME_SECONDS = 1.0  # the SDK sends 8 ms per frame; one second is generous
MAX_AHEAD_SECONDS = 10.0  # audio may arrive this far ahead of real time, no further
MAX_TEXT_FRAME_BYTES = 256 * 1024
BATCH_SAMPLES = 512  # a tools_response with a large result, at most
ALLOWED_RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
CONTROL_EVENTS = ("start", "mark", "tools_response", "stop")


def control(event: str, **fields: Any) -> InputTransportMessageFrame:
    return InputTransportMessageFrame(message={"event": event, **fields})


class HamsaSdkSerializer(FrameSerializer):
    """Frames ⇄ the SDK's JSON text frames (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.input_rate = SAMPLE_RATE
        self.received_seconds = 0.0
        self._started = time.monotonic()
        self._warned = False
        self._in_resampler = create_stream_resampler()
        self._out_resampler = create_stream_resampler()
        self._pending = bytearray()  # 16 kHz PCM16 not yet passed on (under one batch)

    async def serialize(self, frame: Frame) -> str | None:
        if isinstance(frame, OutputAudioRawFrame):
            pcm = frame.audio
            if frame.sample_rate != SAMPLE_RATE:
                pcm = await self._out_resampler.resample(pcm, frame.sample_rate, SAMPLE_RATE)
            if len(pcm) % 2:  # the SDK's player throws on an odd byte count
                pcm = pcm[:-1]
            return json.dumps({"event": "media", "streamSid": STREAM_SID,
                               "media": {"payload": base64.b64encode(pcm).decode()}})
        if isinstance(frame, InterruptionFrame):
            return json.dumps({"event": "clear", "streamSid": STREAM_SID})
        if isinstance(frame, OutputTransportMessageFrame | OutputTransportMessageUrgentFrame):
            if self.should_ignore_frame(frame):
                return None
            return json.dumps(frame.message, ensure_ascii=False)
        return None

    async def deserialize(self, data: str | bytes) -> Frame | None:
        if isinstance(data, bytes):
            return control("malformed", reason="binary frames are not part of the protocol; "
                           "send JSON text frames with an event")
        if len(data) > MAX_TEXT_FRAME_BYTES:
            return control("malformed", reason=f"a frame of {len(data)} bytes is over the "
                           f"{MAX_TEXT_FRAME_BYTES}-byte limit")
        try:
            message = json.loads(data)
        except ValueError:
            return control("malformed", reason="a frame that is not JSON")
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            return control("malformed", reason="a frame without an event")
        event = message["event"]
        if event == "media":
            return await self._media(message)
        if event in CONTROL_EVENTS:
            if event == "start":
                rate = _rate(message)
                if rate:
                    self.input_rate = rate
            return InputTransportMessageFrame(message=message)
        return control("malformed", reason=f"unknown event {event[:40]!r}")

    async def _media(self, message: dict[str, Any]) -> Frame | None:
        media = message.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str):
            return control("malformed", reason="media without media.payload")
        rate = _rate(media) or self.input_rate
        if len(payload) > MAX_FRAME_SECONDS * rate * 4 * 4 / 3 + 8:
            return control("malformed", reason=f"a media frame over {MAX_FRAME_SECONDS:g} s "
                           "of audio")
        try:
            raw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return control("malformed", reason="media.payload is not base64")
        if len(raw) % 4:
            return control("malformed", reason="media.payload is not float32 samples "
                           "(its length is not a multiple of 4 bytes)")
        samples = np.frombuffer(raw, dtype="<f4")
        seconds = samples.size / rate
        elapsed = time.monotonic() - self._started
        if self.received_seconds + seconds > elapsed + MAX_AHEAD_SECONDS:
            if self._warned:
                return None
            self._warned = True
            return control("malformed", reason="audio is arriving faster than real time; "
                           "frames beyond the allowance are dropped")
        self.received_seconds += seconds
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
        pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
        if rate != SAMPLE_RATE:
            pcm = await self._in_resampler.resample(pcm, rate, SAMPLE_RATE)
        self._pending += pcm
        if len(self._pending) < BATCH_SAMPLES * 2:
            return None
        batch, self._pending = bytes(self._pending), bytearray()
        return InputAudioRawFrame(audio=batch, sample_rate=SAMPLE_RATE, num_channels=1)


def _rate(fields: dict[str, Any]) -> int | None:
    """A ``sampleRate`` the client declared (a hams extension), if it is one we take."""
    value = fields.get("sampleRate")
    return value if isinstance(value, int) and value in ALLOWED_RATES else None
