"""Realtime speech to text: one short utterance in, its text (and whether speech ended) out.

Decoding, inference and end-of-speech detection run on a realtime pool thread
(``engines/pool.py``): CPU work that must never block the event loop. ``transcribe_now`` is
the whole call: quota, the pool, and the usage ledger. Streams are in ``stt_stream.py``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
import wave
from dataclasses import dataclass

import numpy as np
from starlette.concurrency import run_in_threadpool

from hams.db.session import Database
from hams.engines.models import SttModels
from hams.engines.pool import InferencePool
from hams.engines.stt import TranscriptionOptions
from hams.engines.vad import EndOfSpeech, shared_vad
from hams.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMedia,
    ValidationFailed,
)
from hams.media.audio import SAMPLE_RATE, decode_audio
from hams.media.wav import resample
from hams.services import quotas
from hams.services.keys import Principal
from hams.services.stt_policy import check_language, engine_for, realtime_model
from hams.services.usage import record_now
from hams.settings import Settings

DEFAULT_EOS_THRESHOLD = 0.3
MIN_RATE, MAX_RATE, MAX_CHANNELS = 8_000, 192_000, 8
# A segment that is only a bracketed note ("[BLANK_AUDIO]", "(music)") is not speech; some
# clients (SpekoAI) would even take a bracketed frame for a status message and wait on.
_BRACKETED = re.compile(r"^\s*(?:[\[(][^\])]*[\])]\s*)+$")


@dataclass(frozen=True)
class RealtimeSttAsk:
    """What every realtime STT request asks, one utterance or a stream."""

    language: str = "ar"
    eos_enabled: bool = False
    eos_threshold: float = DEFAULT_EOS_THRESHOLD
    model: str | None = None

    def checked(self, *, settings: Settings, models: SttModels) -> tuple[str, str | None]:
        """The public model it stands for and the language's code (None: detect), refused
        before any work when that model cannot take the language."""
        model = realtime_model(self.model)
        return model, check_language(settings, models, model, self.language)


@dataclass(frozen=True)
class UtteranceRequest(RealtimeSttAsk):
    """A realtime STT request, as the REST body (``RealtimeStt``) or the WebSocket's ``stt``
    message (``RealtimeSttMessage``) gives it (``api/schemas/realtime.py``)."""

    audio_base64: str | None = None
    audio_list: list[float] | None = None


@dataclass(frozen=True)
class Utterance:
    text: str
    language: str
    duration: float
    model: str
    eos: EndOfSpeech | None


def decode_utterance(request: UtteranceRequest, *, settings: Settings) -> np.ndarray:
    """16 kHz mono float32 samples from ``audioBase64`` (WAV or anything PyAV reads) or
    ``audioList`` (float samples at 16 kHz)."""
    if (request.audio_base64 is None) == (request.audio_list is None):
        raise ValidationFailed("Send exactly one of audioBase64 (a WAV file, base64) or "
                               "audioList (float samples, 16 kHz mono)",
                               data=[{"field": "audioBase64", "message": "required"}])
    limit = settings.realtime_max_audio_seconds
    if request.audio_list is not None:
        audio = _from_list(request.audio_list)
    else:
        try:
            data = base64.b64decode(request.audio_base64 or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("audioBase64 is not valid base64",
                             message_key="VALIDATION_ERROR") from exc
        audio = _pcm16_wav(data, limit)
        if audio is None:
            audio = decode_audio(io.BytesIO(data), max_seconds=limit,
                                 limit_setting="HAMS_REALTIME_MAX_AUDIO_SECONDS")
    if audio.size == 0:
        raise BadRequest("The audio is empty", message_key="EMPTY_AUDIO")
    if audio.size > limit * SAMPLE_RATE:
        raise _too_long(limit)
    return audio


def _too_long(limit: float) -> PayloadTooLarge:
    return PayloadTooLarge(f"The audio is longer than the realtime limit of {limit:g} s "
                           "(HAMS_REALTIME_MAX_AUDIO_SECONDS); use a transcription job")


def _from_list(samples: list[float]) -> np.ndarray:
    try:
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("audioList must hold numbers only") from exc
    if not np.isfinite(audio).all():
        raise ValidationFailed("audioList holds a value that is not a finite number")
    return np.clip(audio, -1.0, 1.0)


def _pcm16_wav(data: bytes, max_seconds: float) -> np.ndarray | None:
    """The fast path for the common case (PCM16 WAV); None for anything else.

    The header is checked before anything is allocated: a claimed rate of 1 Hz would
    otherwise turn a small file into gigabytes of resampled audio.
    """
    if not (data[:4] == b"RIFF" and data[8:12] == b"WAVE"):
        return None
    try:
        with wave.open(io.BytesIO(data)) as reader:
            if reader.getsampwidth() != 2 or reader.getcomptype() != "NONE":
                return None
            rate, channels = reader.getframerate(), reader.getnchannels()
            if not (MIN_RATE <= rate <= MAX_RATE and 1 <= channels <= MAX_CHANNELS):
                raise UnsupportedMedia(f"The WAV header claims {rate} Hz and {channels} "
                                       "channel(s); expected 8–192 kHz and 1–8 channels")
            if reader.getnframes() > max_seconds * rate:
                raise _too_long(max_seconds)
            pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    except (wave.Error, EOFError, RuntimeError, ValueError):  # the wave module's whole range
        return None  # let PyAV try, or say clearly why it cannot
    if channels > 1:
        pcm = pcm[: pcm.size - pcm.size % channels].reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        pcm = resample(pcm.astype(np.int16), rate, SAMPLE_RATE)
    return pcm.astype(np.float32) / 32768.0


def transcribe_samples(audio: np.ndarray, *, model: str, code: str | None, settings: Settings,
                       models: SttModels, greedy: bool = False) -> tuple[str, str]:
    """The text of 16 kHz samples, with the engine behind ``model``, and its language
    (detected when ``code`` is None). ``greedy``: a conversation's turn, already cut by a
    VAD and waited for by the caller, is decoded with one beam and no second VAD pass."""
    engine = engine_for(settings, models, model, code, audio)
    options = TranscriptionOptions(language=code, vad_filter=settings.stt_vad and not greedy,
                                   word_timestamps=False,
                                   beam_size=1 if greedy else settings.stt_beam_size)
    segments, info = engine.transcribe(audio, options)
    texts = (segment.text.strip() for segment in segments)
    text = " ".join(text for text in texts if text and not _BRACKETED.match(text)).strip()
    return text, info.language


def end_of_speech(audio: np.ndarray, *, threshold: float, settings: Settings) -> EndOfSpeech:
    return shared_vad().end_of_speech(audio, threshold, settings.realtime_eos_window_seconds)


def transcribe_utterance(request: UtteranceRequest, *, settings: Settings,
                         models: SttModels) -> Utterance:
    """Decode, transcribe and (when asked) judge end of speech; runs on a pool thread."""
    model, code = request.checked(settings=settings, models=models)
    audio = decode_utterance(request, settings=settings)
    text, language = transcribe_samples(audio, model=model, code=code, settings=settings,
                                        models=models)
    eos = (end_of_speech(audio, threshold=request.eos_threshold, settings=settings)
           if request.eos_enabled else None)
    return Utterance(text=text, language=language,
                     duration=round(audio.size / SAMPLE_RATE, 3), model=model, eos=eos)


async def transcribe_now(db: Database, principal: Principal, request: UtteranceRequest, *,
                         settings: Settings, models: SttModels,
                         pool: InferencePool) -> Utterance:
    """One utterance, REST or WebSocket: refused once the audio quota is spent, run on the
    realtime pool, and in the usage ledger before the caller answers (a client that reads the
    answer and hangs up is still counted)."""
    await check_audio_quota(db, principal)
    utterance = await pool.run(functools.partial(transcribe_utterance, request,
                                                 settings=settings, models=models))
    await record_stt(db, principal, settings=settings, model=utterance.model,
                     seconds=utterance.duration, text=utterance.text)
    return utterance


async def check_audio_quota(db: Database, principal: Principal) -> None:
    """Realtime speech to text, utterances and streams: refused once the audio quota is spent."""
    await run_in_threadpool(quotas.check_call, db, principal.project_id,
                            {quotas.AUDIO_SECONDS: None})


async def record_stt(db: Database, principal: Principal, *, settings: Settings, model: str,
                     seconds: float, text: str) -> None:
    """Realtime speech to text in the usage ledger, utterances and streams alike."""
    await record_now(db, principal, settings=settings, kind="realtime_stt", model=model,
                     audio_seconds=seconds, characters=len(text))
