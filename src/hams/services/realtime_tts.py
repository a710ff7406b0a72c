"""Realtime text to speech, REST and WebSocket alike: every check before any audio is made, then
a whole WAV or a stream that starts with sentence one, made on the realtime pool and recorded in
the usage ledger."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import numpy as np
from starlette.concurrency import run_in_threadpool

from hams.db.models import Voice
from hams.db.session import Database
from hams.engines.pool import InferencePool
from hams.engines.voices import TtsEngines
from hams.services import quotas
from hams.services.keys import Principal
from hams.services.tts import (
    AudioFormat,
    check_text,
    dictionary_words,
    engine_name,
    prepare_sentences,
    synthesize_pcm,
    synthesize_wav,
)
from hams.services.usage import record_later, record_now
from hams.services.voices import resolve_voice, voice_for_dialect
from hams.settings import Settings


@dataclass(frozen=True)
class SpeechRequest:
    """A realtime TTS request as parsed from REST or WebSocket."""

    text: str
    speaker: str | None = None
    dialect: str | None = None
    mulaw: bool = False
    sample_rate: str | None = None
    dictionary_ids: list[str] | None = None


@dataclass(frozen=True)
class Speech:
    """What will be said, by which voice, in which format."""

    text: str
    voice: Voice
    audio: AudioFormat
    sentences: list[str]


@dataclass(frozen=True)
class SpokenFile:
    """A whole WAV, the voice and engine that spoke it, and its duration in seconds."""

    audio: AudioFormat
    voice: Voice
    engine: str
    wav: bytes
    duration: float


@dataclass(frozen=True)
class SpeechStream:
    """Audio being made: ``chunks`` yields it encoded, one piece per sentence; the first was
    made (the pool admitted the stream) before this was handed back. ``aclose`` ends it
    early; what was made is still recorded."""

    audio: AudioFormat
    voice: Voice
    engine: str
    chunks: AsyncGenerator[bytes, None]

    async def aclose(self) -> None:
        await self.chunks.aclose()


def prepare(db: Database, principal: Principal, request: SpeechRequest, *,
            settings: Settings) -> Speech:
    """Every check that can fail (the TTS characters quota too), before any audio is made
    (one short transaction)."""
    limit = settings.tts_realtime_max_chars
    check_text(request.text, limit)
    audio = AudioFormat.from_request(request.mulaw, request.sample_rate)
    with db.session() as session:
        quotas.check(session, principal.project_id, {quotas.TTS_CHARACTERS: len(request.text)})
        voice = (resolve_voice(session, request.speaker, request.dialect) if request.speaker
                 else voice_for_dialect(session, request.dialect))
        words = dictionary_words(session, principal.project_id, request.dictionary_ids)
    return Speech(text=request.text, voice=voice, audio=audio,
                  sentences=prepare_sentences(request.text, voice.language, words, limit))


async def speak_file(db: Database, principal: Principal, request: SpeechRequest, *,
                     settings: Settings, tts: TtsEngines, pool: InferencePool) -> SpokenFile:
    """A complete WAV (16 kHz PCM16, or 8 kHz μ-law), in the usage ledger once made."""
    speech = await _prepare(db, principal, request, settings=settings)
    wav, duration = await pool.run(synthesize_wav, tts, speech.voice, speech.sentences,
                                   speech.audio)
    engine = engine_name(tts, speech.voice)
    await record_now(db, principal, settings=settings, kind="realtime_tts", model=engine,
                     audio_seconds=duration, characters=len(speech.text))
    return SpokenFile(audio=speech.audio, voice=speech.voice, engine=engine, wav=wav,
                      duration=duration)


async def speak_stream(db: Database, principal: Principal, request: SpeechRequest, *,
                       settings: Settings, tts: TtsEngines, pool: InferencePool
                       ) -> SpeechStream:
    """Audio as each sentence is ready. The first sentence is made before this returns, so a
    full pool or a failing engine is still a clean error, not a broken stream."""
    speech = await _prepare(db, principal, request, settings=settings)
    pcm = _synthesized(db, principal, speech, settings=settings, tts=tts, pool=pool)
    try:
        first = await anext(pcm, None)
    except BaseException:
        await pcm.aclose()
        raise

    async def encoded() -> AsyncGenerator[bytes, None]:
        try:
            if first is not None:
                yield speech.audio.encode(first)
            async for chunk in pcm:
                yield speech.audio.encode(chunk)
        finally:
            await pcm.aclose()

    return SpeechStream(audio=speech.audio, voice=speech.voice,
                        engine=engine_name(tts, speech.voice), chunks=encoded())


async def _prepare(db: Database, principal: Principal, request: SpeechRequest, *,
                   settings: Settings) -> Speech:
    return await run_in_threadpool(functools.partial(prepare, db, principal, request,
                                                     settings=settings))


async def _synthesized(db: Database, principal: Principal, speech: Speech, *,
                       settings: Settings, tts: TtsEngines, pool: InferencePool
                       ) -> AsyncGenerator[np.ndarray, None]:
    """PCM at the requested rate, one array per sentence, made on the realtime pool (admitted
    at the first sentence). Usage is recorded once it ends, also when the caller stops early:
    what was synthesized was used."""
    chunks = pool.stream(synthesize_pcm(tts, speech.voice, speech.sentences,
                                        out_rate=speech.audio.sample_rate))
    samples = 0
    try:
        async for pcm in chunks:
            samples += pcm.size
            yield pcm
    finally:
        await chunks.aclose()
        if samples:  # nothing made (refused by a full pool): nothing used
            record_later(db, principal, settings=settings, kind="realtime_tts",
                         model=engine_name(tts, speech.voice),
                         audio_seconds=samples / speech.audio.sample_rate,
                         characters=len(speech.text))
