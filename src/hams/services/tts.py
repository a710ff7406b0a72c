"""Speech from text: the front end, dictionaries, the engine, and the wire's audio formats."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hams.db.models import Voice, VoiceDictionary
from hams.engines.voices import TtsEngines
from hams.errors import BadRequest, NotFound
from hams.media.wav import encode_mulaw, resample, to_wav_bytes, wav_header
from hams.text import prepare_text

OUTPUT_RATE = 16_000
MULAW_RATE = 8_000
MAX_DICTIONARY_WORDS = 2000  # each request compiles its replacements into one pattern
EXPANSION_ALLOWANCE = 4  # spelled-out numbers and dictionary entries may lengthen text


@dataclass(frozen=True)
class AudioFormat:
    """What the caller asked for: 16 kHz PCM16 by default, 8 kHz μ-law for telephony."""

    sample_rate: int = OUTPUT_RATE
    mulaw: bool = False

    @classmethod
    def from_request(cls, mulaw: bool, sample_rate: str | None) -> AudioFormat:
        if sample_rate not in (None, "", "16k", "8k", "16000", "8000"):
            raise BadRequest("sampleRate must be '16k' or '8k'", message_key="VALIDATION_ERROR")
        rate = MULAW_RATE if mulaw or (sample_rate or "").startswith("8") else OUTPUT_RATE
        return cls(sample_rate=rate, mulaw=mulaw)

    @property
    def media_type(self) -> str:
        return "audio/wav"

    def encode(self, pcm: np.ndarray) -> bytes:
        return encode_mulaw(pcm) if self.mulaw else pcm.astype("<i2").tobytes()

    def stream_header(self) -> bytes:
        """A 44-byte WAV header with unknown sizes (0xFFFFFFFF), as Hamsa's stream starts."""
        return wav_header(self.sample_rate, data_size=None, mulaw=self.mulaw, compact=True)


def check_text(text: str | None, limit: int) -> str:
    """Non-empty text within the limit, or a clear 400."""
    if text is None or not text.strip():
        raise BadRequest("text must not be empty", message_key="VALIDATION_ERROR")
    if len(text) > limit:
        raise BadRequest(f"text is {len(text)} characters; the limit is {limit}",
                         message_key="TEXT_TOO_LONG")
    return text


def dictionary_words(session: Session, project_id: str, ids: Sequence[str] | None
                     ) -> dict[str, str]:
    """The merged replacements of the project's dictionaries named by ``ids`` (later wins)."""
    if not ids:
        return {}
    found = {d.id: d for d in session.scalars(select(VoiceDictionary).where(
        VoiceDictionary.id.in_(list(ids)), VoiceDictionary.project_id == project_id))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"Voice dictionary {missing[0]!r} not found")
    merged: dict[str, str] = {}
    for dictionary_id in ids:
        for entry in found[dictionary_id].words:
            merged[entry["word"]] = entry["pronunciation"]
    if len(merged) > MAX_DICTIONARY_WORDS:
        raise BadRequest(f"The dictionaries hold {len(merged)} words together; at most "
                         f"{MAX_DICTIONARY_WORDS} may be used in one request",
                         message_key="VALIDATION_ERROR")
    return merged


def prepare_sentences(text: str, language: str, replacements: dict[str, str] | None,
                      limit: int) -> list[str]:
    """What the engine will be asked to say, checked now so a bad request fails before audio.

    The limit applies again after dictionaries and number reading, which can multiply the
    text: the audio made (and held in memory for a WAV) stays bounded.
    """
    try:
        sentences = prepare_text(text, language, replacements=replacements)
    except ValueError as exc:
        raise BadRequest(f"text could not be prepared for speech: {exc}",
                         message_key="VALIDATION_ERROR") from exc
    if not sentences:
        raise BadRequest("text has nothing to say (no letters or digits)",
                         message_key="VALIDATION_ERROR")
    spoken = sum(len(sentence) for sentence in sentences)
    if spoken > limit * EXPANSION_ALLOWANCE:
        raise BadRequest(f"text becomes {spoken} characters once dictionaries and numbers are "
                         f"spelled out; the limit is {limit * EXPANSION_ALLOWANCE}",
                         message_key="TEXT_TOO_LONG")
    return sentences


def synthesize_pcm(engines: TtsEngines, voice: Voice, sentences: list[str], *, out_rate: int,
                   speed: float = 1.0) -> Iterator[np.ndarray]:
    """Yield int16 PCM at ``out_rate``, one array per sentence, as each is synthesized."""
    engine, options = engines.engine_for(voice, speed)
    for pcm in engine.synthesize(sentences, options):
        if pcm.size:
            yield resample(pcm, engine.sample_rate, out_rate)


def synthesize_all(engines: TtsEngines, voice: Voice, sentences: list[str], *, out_rate: int,
                   speed: float = 1.0) -> np.ndarray:
    """All the int16 PCM at ``out_rate`` in one array, for a whole file."""
    chunks = list(synthesize_pcm(engines, voice, sentences, out_rate=out_rate, speed=speed))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def synthesize_wav(engines: TtsEngines, voice: Voice, sentences: list[str], audio: AudioFormat,
                   speed: float = 1.0) -> tuple[bytes, float]:
    """A complete WAV file and its duration in seconds."""
    pcm = synthesize_all(engines, voice, sentences, out_rate=audio.sample_rate, speed=speed)
    return (to_wav_bytes(pcm, audio.sample_rate, mulaw=audio.mulaw),
            round(len(pcm) / audio.sample_rate, 3))


def engine_name(engines: TtsEngines, voice: Voice) -> str:
    """Which engine speaks ``voice`` here (reported in X-Engine)."""
    return engines.engine_for(voice)[0].name
