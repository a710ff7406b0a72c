"""OpenAI-compatible speech: OpenAI's voices mapped onto the catalog, OpenAI's speed range
and output formats, synthesized now (no job: the caller holds the line for the audio)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hams.db.models import Voice
from hams.db.session import Database
from hams.engines.pool import InferencePool
from hams.engines.tts import MAX_SPEED, MIN_SPEED
from hams.engines.voices import TtsEngines
from hams.errors import BadRequest, ValidationFailed
from hams.media.encode import ENCODINGS, change_tempo, encode, encoder_for
from hams.media.wav import to_wav_bytes
from hams.services import quotas
from hams.services.keys import Principal
from hams.services.tts import engine_name, prepare_sentences, synthesize_all
from hams.services.tts_jobs import TTS_MODEL
from hams.services.usage import record_now
from hams.services.voices import is_arabic, resolve_voice, voice_for_dialect
from hams.settings import Settings

MIN_OPENAI_SPEED, MAX_OPENAI_SPEED = 0.25, 4.0  # the engines do 0.5-2, time-stretching the rest
SPEECH_RATE = 24_000  # OpenAI's rate for every format, raw pcm included
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""Listed by GET /v1/models; any other gpt-*tts* name is accepted as well."""
OPENAI_VOICE_GENDERS = {
    "alloy": None, "ash": "male", "ballad": "male", "coral": "female", "echo": "male",
    "fable": "male", "nova": "female", "onyx": "male", "sage": "female", "shimmer": "female",
    "verse": "male", "marin": "female", "cedar": "male",
}
"""OpenAI's built-in voices and how they sound, to pick the closer catalog voice."""
ARABIC_DIALECT, OTHER_DIALECT = "msa", "en"
MEDIA_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm",
               **{fmt: encoding.media_type for fmt, encoding in ENCODINGS.items()}}


@dataclass(frozen=True)
class OpenAISpeechRequest:
    """POST /v1/audio/speech as sent; ``voice`` is a name or the id of a custom voice."""

    model: str
    text: str
    voice: str
    response_format: str = "mp3"
    speed: float = 1.0


@dataclass(frozen=True)
class SpeechPlan:
    """What will be said, by which voice, how fast, and in what format."""

    voice: Voice
    sentences: list[str]
    response_format: str
    engine_speed: float
    tempo: float  # the part of the speed the engine cannot do, done by time-stretching

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.response_format]


def available_formats() -> tuple[str, ...]:
    """The speech formats this server can write (the compressed ones need FFmpeg encoders)."""
    return tuple(f for f in SPEECH_FORMATS if f not in ENCODINGS or encoder_for(f))


def check_model(model: str) -> str:
    if model == TTS_MODEL or model in OPENAI_TTS_MODELS or (
            model.startswith("gpt-") and "tts" in model):
        return model
    raise BadRequest(f"Unknown model {model!r}; use tts-1, tts-1-hd, gpt-4o-mini-tts or "
                     f"{TTS_MODEL}", message_key="MODEL_NOT_FOUND", data={"field": "model"})


def plan_speech(session: Session, request: OpenAISpeechRequest, *,
                settings: Settings) -> SpeechPlan:
    """Every check that can fail, before any audio is made."""
    check_model(request.model)
    fmt = request.response_format
    if fmt not in SPEECH_FORMATS:
        raise ValidationFailed(f"response_format must be one of {', '.join(SPEECH_FORMATS)}, "
                               f"not {fmt!r}", data={"field": "response_format"})
    if fmt in ENCODINGS and not encoder_for(fmt):
        raise BadRequest(f"response_format {fmt!r} is not available on this server: its FFmpeg "
                         f"build has no {fmt} encoder; use one of "
                         f"{', '.join(available_formats())}", message_key="FORMAT_UNAVAILABLE",
                         data={"field": "response_format"})
    if not MIN_OPENAI_SPEED <= request.speed <= MAX_OPENAI_SPEED:
        raise ValidationFailed(f"speed must be from {MIN_OPENAI_SPEED} to {MAX_OPENAI_SPEED}",
                               data={"field": "speed"})
    if not request.text.strip():
        raise ValidationFailed("input must not be empty", data={"field": "input"})
    limit = settings.openai_speech_max_chars
    if len(request.text) > limit:
        raise BadRequest(f"input is {len(request.text)} characters; the limit is {limit} "
                         "(HAMS_OPENAI_SPEECH_MAX_CHARS)", message_key="TEXT_TOO_LONG",
                         data={"field": "input"})
    voice = speech_voice(session, request.voice, request.text, settings=settings)
    engine_speed = min(max(request.speed, MIN_SPEED), MAX_SPEED)
    return SpeechPlan(voice=voice,
                      sentences=prepare_sentences(request.text, voice.language, None, limit),
                      response_format=fmt, engine_speed=engine_speed,
                      tempo=request.speed / engine_speed)


def speech_voice(session: Session, name: str, text: str, *, settings: Settings) -> Voice:
    """A configured mapping first, then an OpenAI voice by the text's script, then the
    catalog (a hams voice name or id)."""
    key = name.strip()
    mapped = settings.openai_voices.get(key) or settings.openai_voices.get(key.lower())
    if mapped:
        return resolve_voice(session, mapped)
    if key.lower() in OPENAI_VOICE_GENDERS:
        dialect = ARABIC_DIALECT if is_arabic(text) else OTHER_DIALECT
        return _voice_of_gender(session, dialect, OPENAI_VOICE_GENDERS[key.lower()])
    return resolve_voice(session, key)


def _voice_of_gender(session: Session, dialect: str, gender: str | None) -> Voice:
    """The dialect's first voice of that gender (Hamsa's documented speakers before the
    legacy ones); its first voice when it has none."""
    voices = session.scalars(select(Voice).where(Voice.dialect == dialect)
                             .order_by(Voice.created_at, Voice.name)).all()
    voices = sorted(voices, key=lambda v: "standard" not in (v.tags or []))
    chosen = next((v for v in voices if gender is None or gender in (v.tags or [])), None)
    return chosen or voice_for_dialect(session, dialect)


@dataclass(frozen=True)
class Spoken:
    """The audio made for a plan, its duration in seconds, and the engine that spoke it."""

    plan: SpeechPlan
    audio: bytes
    duration: float
    engine: str


async def speak(db: Database, principal: Principal, request: OpenAISpeechRequest, *,
                settings: Settings, tts: TtsEngines, pool: InferencePool) -> Spoken:
    """POST /v1/audio/speech: refused before any audio when the TTS characters quota would be
    exceeded, made on the realtime pool, then in the usage ledger."""
    def plan() -> SpeechPlan:
        with db.session() as session:
            quotas.check(session, principal.project_id,
                         {quotas.TTS_CHARACTERS: len(request.text)})
            return plan_speech(session, request, settings=settings)

    speech = await run_in_threadpool(plan)
    audio, duration = await pool.run(synthesize_speech, tts, speech)
    engine = engine_name(tts, speech.voice)
    await record_now(db, principal, settings=settings, kind="speech", model=engine,
                     audio_seconds=duration, characters=len(request.text))
    return Spoken(plan=speech, audio=audio, duration=duration, engine=engine)


def synthesize_speech(engines: TtsEngines, plan: SpeechPlan) -> tuple[bytes, float]:
    """The audio file (or raw pcm) at 24 kHz, and its duration in seconds."""
    pcm = synthesize_all(engines, plan.voice, plan.sentences, out_rate=SPEECH_RATE,
                         speed=plan.engine_speed)
    if abs(plan.tempo - 1) > 1e-6:
        pcm = change_tempo(pcm, SPEECH_RATE, plan.tempo)
    duration = round(len(pcm) / SPEECH_RATE, 3)
    if plan.response_format == "pcm":
        return pcm.astype("<i2").tobytes(), duration
    if plan.response_format == "wav":
        return to_wav_bytes(pcm, SPEECH_RATE), duration
    return encode(pcm, SPEECH_RATE, plan.response_format), duration
