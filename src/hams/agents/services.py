"""hams' own speech engines as Pipecat services: the same models, the same realtime pool, the
same dictionaries and Arabic text front end as /v1/realtime, behind Pipecat's STT and TTS
interfaces so any transport (the SDK's socket now, a phone stream later) can use them.

A conversation waits its turn for the pool instead of failing: it retries a busy pool every
``POOL_RETRY_SECONDS`` for up to ``POOL_PATIENCE_SECONDS``, holding no slot while it waits, so
realtime requests are still admitted between its attempts."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from pipecat.frames.frames import ErrorFrame, Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from hams.db.models import Voice
from hams.engines.models import SttModels
from hams.engines.pool import InferencePool
from hams.engines.voices import TtsEngines
from hams.errors import HamsError, TooManyRequests
from hams.services.realtime_stt import transcribe_samples
from hams.services.tts import prepare_sentences, synthesize_pcm
from hams.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
SAMPLE_RATE = 16_000
POOL_RETRY_SECONDS = 0.05
POOL_PATIENCE_SECONDS = 10.0


async def run_when_admitted(pool: InferencePool, fn: Callable[..., T], *args: object) -> T:
    """``pool.run`` that waits for a slot (see the module docstring)."""
    deadline = time.monotonic() + POOL_PATIENCE_SECONDS
    while True:
        try:
            return await pool.run(fn, *args)
        except TooManyRequests:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(POOL_RETRY_SECONDS)


@dataclass
class SpeechUsage:
    """What a conversation's engines did, for the ledger and the turn metrics."""

    stt_seconds: float = 0.0
    tts_characters: int = 0
    stt_latencies_ms: list[float] = field(default_factory=list)
    tts_first_audio_ms: list[float] = field(default_factory=list)


class HamsSTTService(SegmentedSTTService):
    """The caller's utterances (cut by the VAD) transcribed by hams' engine for ``model``."""

    def __init__(self, *, model: str, language: str, settings: Settings, models: SttModels,
                 pool: InferencePool, usage: SpeechUsage, **kwargs: object) -> None:
        super().__init__(sample_rate=SAMPLE_RATE, trailing_silence_secs=0.2,
                         settings=STTSettings(model=model, language=language), **kwargs)
        self._model = model
        self._language = language
        self._hams_settings = settings
        self._models = models
        self._pool = pool
        self._usage = usage

    @property
    def wants_wav_segments(self) -> bool:
        return False  # raw PCM16, which the engine reads directly

    def can_generate_metrics(self) -> bool:
        return True

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        samples = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
        started = time.monotonic()
        await self.start_processing_metrics()
        try:
            text, _ = await run_when_admitted(self._pool, functools.partial(
                transcribe_samples, samples, model=self._model, code=self._language,
                settings=self._hams_settings, models=self._models, greedy=True))
        except HamsError as exc:
            yield ErrorFrame(error=f"speech to text: {exc.message}")
            return
        finally:
            await self.stop_processing_metrics()
        self._usage.stt_seconds += samples.size / SAMPLE_RATE
        self._usage.stt_latencies_ms.append((time.monotonic() - started) * 1000)
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), self._language)


class HamsTTSService(TTSService):
    """The agent's catalog voice spoken by hams' engine, sentence by sentence, with the
    agent's dictionaries and the Arabic text front end (numbers, diacritics...)."""

    def __init__(self, *, voice: Voice, replacements: dict[str, str], settings: Settings,
                 engines: TtsEngines, pool: InferencePool, usage: SpeechUsage,
                 **kwargs: object) -> None:
        super().__init__(push_start_frame=True, push_stop_frames=True, sample_rate=SAMPLE_RATE,
                         settings=TTSSettings(model=voice.engine, voice=voice.name,
                                              language=voice.language), **kwargs)
        self._voice = voice
        self._replacements = replacements
        self._hams_settings = settings
        self._engines = engines
        self._pool = pool
        self._usage = usage

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        try:
            sentences = prepare_sentences(text, self._voice.language, self._replacements,
                                          self._hams_settings.tts_realtime_max_chars)
        except HamsError:
            return  # nothing speakable (punctuation, an emoji): say nothing
        self._usage.tts_characters += len(text)
        await self.start_tts_usage_metrics(text)
        started = time.monotonic()
        first = True
        try:
            async for frame in self._stream_audio_frames_from_iterator(
                    self._pcm(sentences), in_sample_rate=SAMPLE_RATE, context_id=context_id):
                if first:
                    self._usage.tts_first_audio_ms.append((time.monotonic() - started) * 1000)
                    first = False
                await self.stop_ttfb_metrics()
                yield frame
        except HamsError as exc:
            yield ErrorFrame(error=f"text to speech: {exc.message}")
        finally:
            await self.stop_ttfb_metrics()

    async def _pcm(self, sentences: list[str]) -> AsyncIterator[bytes]:
        """Each sentence made on the pool as it is needed (so an interruption stops it)."""
        for sentence in sentences:
            chunks = await run_when_admitted(self._pool, _all_pcm, self._engines, self._voice,
                                             [sentence])
            for chunk in chunks:
                yield chunk.astype("<i2").tobytes()


def warm_up(settings: Settings, models: SttModels, engines: TtsEngines, voice: Voice) -> None:
    """Load the STT model and the voice before the call starts (a thread's work), so the
    greeting and the first reply do not wait for a model to load."""
    from hams.services.stt_policy import realtime_model

    models.get(settings.engine_model_for(realtime_model(settings.agent_stt_model)))
    engines.engine_for(voice)


def _all_pcm(engines: TtsEngines, voice: Voice, sentences: list[str]) -> list[np.ndarray]:
    return list(synthesize_pcm(engines, voice, sentences, out_rate=SAMPLE_RATE))
