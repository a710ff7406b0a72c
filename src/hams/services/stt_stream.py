"""Streaming speech to text (hams' extension of the realtime WebSocket): PCM16 arrives frame by
frame; every HAMS_REALTIME_PARTIAL_SECONDS of new audio gives a partial, a pause after speech
commits the phrase, and the end gives the final text, recorded in the usage ledger.

The WebSocket only translates frames; what a stream is and when it speaks is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hams.db.session import Database
from hams.engines.models import SttModels
from hams.engines.pool import InferencePool
from hams.engines.vad import EndOfSpeech
from hams.errors import BadRequest, PayloadTooLarge, TooManyRequests, ValidationFailed
from hams.media.audio import SAMPLE_RATE
from hams.media.wav import resample
from hams.services.keys import Principal
from hams.services.realtime_stt import (
    DEFAULT_EOS_THRESHOLD,
    RealtimeSttAsk,
    check_audio_quota,
    end_of_speech,
    record_stt,
    transcribe_samples,
)
from hams.settings import Settings

STREAM_RATES = (16000, 8000)  # PCM16 mono


@dataclass(frozen=True)
class StreamRequest(RealtimeSttAsk):
    """What ``stt_stream_start`` asks for (``SttStreamStart`` in ``api/schemas/realtime.py``
    reads it off the wire)."""

    sample_rate: int = 16000  # one of STREAM_RATES


@dataclass(frozen=True)
class Partial:
    """The text so far (committed phrases and the current one) and the stream's length."""

    text: str
    duration: float


@dataclass(frozen=True)
class Final:
    """The whole text; ``eos`` only when the client asked for end-of-speech events."""

    text: str
    duration: float
    eos: EndOfSpeech | None


@dataclass
class SttStream:
    """Audio of one streaming STT request, gathered frame by frame.

    When the speaker pauses (end of speech), what was said so far is committed: its text is
    kept and later partials transcribe only the audio after it, so each partial costs the
    current phrase, not the whole stream.
    """

    code: str | None  # the language's code; None = detect
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

    def add(self, data: bytes) -> None:
        """PCM16 bytes of a frame; an odd last byte waits for the next frame."""
        data = self.carry + data
        self.carry = data[len(data) - len(data) % 2:]
        pcm = np.frombuffer(data[: len(data) - len(self.carry)], dtype="<i2")
        self.chunks.append(pcm)
        self.samples += pcm.size
        self.since_partial += pcm.size


class SttStreams:
    """One connection's streaming STT: at most one open stream at a time. A stream dropped
    for its length leaves its later frames ignored (the error was said once) until its end."""

    def __init__(self, db: Database, *, settings: Settings, models: SttModels,
                 pool: InferencePool):
        self.db, self.settings, self.models, self.pool = db, settings, models, pool
        self.stream: SttStream | None = None
        self.discarded = False

    def check_can_start(self) -> None:
        """Refuse a start while a stream is open, and forget a stream dropped for its length.
        The WebSocket asks before it reads the start's payload: a second start is
        STREAM_ALREADY_OPEN whatever it holds."""
        if self.stream is not None:
            raise BadRequest("A stream is already open; send stt_stream_end first",
                             message_key="STREAM_ALREADY_OPEN")
        self.discarded = False

    async def start(self, principal: Principal, request: StreamRequest) -> int:
        """Open a stream (its sample rate is returned), refused before any audio when the
        model cannot take the language or the audio quota is spent."""
        self.check_can_start()
        if request.sample_rate not in STREAM_RATES:
            raise ValidationFailed("sampleRate must be 16000 or 8000 (PCM16 mono)")
        model, code = request.checked(settings=self.settings, models=self.models)
        await check_audio_quota(self.db, principal)
        self.stream = SttStream(code=code, model=model, sample_rate=request.sample_rate,
                                wants_eos=request.eos_enabled,
                                eos_threshold=(request.eos_threshold if request.eos_enabled
                                               else DEFAULT_EOS_THRESHOLD))
        return request.sample_rate

    async def feed(self, data: bytes) -> list[Partial | EndOfSpeech]:
        """A frame of audio; what it makes known: a partial, then an end of speech."""
        stream = self.stream
        if stream is None:
            if self.discarded:
                return []  # the error was sent once, when the stream was dropped
            raise BadRequest("Binary frames are audio for a stream: send stt_stream_start "
                             "first", message_key="NO_STREAM")
        stream.add(data)
        limit = self.settings.realtime_max_audio_seconds
        if stream.samples > limit * stream.sample_rate:
            self.stream, self.discarded = None, True
            raise PayloadTooLarge(f"The stream is longer than the realtime limit of {limit:g} s "
                                  "(HAMS_REALTIME_MAX_AUDIO_SECONDS); it was discarded")
        if stream.since_partial < self.settings.realtime_partial_seconds * stream.sample_rate:
            return []
        stream.since_partial = 0
        return await self._partial(stream)

    async def end(self, principal: Principal) -> Final:
        """Close the stream: the text of all of it, in the usage ledger."""
        stream = self.stream
        if stream is None:
            if self.discarded:
                self.discarded = False
                raise PayloadTooLarge("The stream was discarded for being too long "
                                      "(HAMS_REALTIME_MAX_AUDIO_SECONDS); nothing to finish")
            raise BadRequest("No stream is open; send stt_stream_start first",
                             message_key="NO_STREAM")
        text, eos = await self.pool.run(self._recognize, stream)
        self.stream = None
        if eos is not None and not eos.speech_heard and stream.committed_text:
            # silence after a committed phrase: the speaker finished that phrase
            eos = EndOfSpeech(eos.probability >= stream.eos_threshold, eos.probability, True)
        final = stream.text_with(text)
        await record_stt(self.db, principal, settings=self.settings, model=stream.model,
                         seconds=stream.seconds, text=final)
        return Final(text=final, duration=stream.seconds,
                     eos=eos if stream.wants_eos else None)

    async def _partial(self, stream: SttStream) -> list[Partial | EndOfSpeech]:
        try:
            text, eos = await self.pool.run(self._recognize, stream)
        except TooManyRequests:
            return []  # partials are best effort: the next one (or the final) catches up
        events: list[Partial | EndOfSpeech] = [Partial(stream.text_with(text), stream.seconds)]
        if eos is None:
            return events
        if stream.wants_eos and eos.speech_heard:
            if eos.is_eos and not stream.eos_reported:
                events.append(eos)
            stream.eos_reported = eos.is_eos
        if eos.is_eos and text:
            # A pause after speech: commit the phrase. New frames wait in the inbox while a
            # partial runs, so every chunk held now is part of what was just recognized.
            stream.committed_text = stream.text_with(text)
            stream.chunks.clear()
        return events

    def _recognize(self, stream: SttStream) -> tuple[str, EndOfSpeech | None]:
        """The text of the uncommitted audio and its end of speech (at the default threshold
        when the client did not ask: it still decides when to commit a phrase)."""
        audio = stream.tail()
        if audio.size == 0:
            return "", None
        eos = end_of_speech(audio, threshold=stream.eos_threshold, settings=self.settings)
        if not eos.speech_heard:
            return "", eos  # silence: nothing to decode
        text, _ = transcribe_samples(audio, model=stream.model, code=stream.code,
                                     settings=self.settings, models=self.models)
        return text, eos
