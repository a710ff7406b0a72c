"""TTS jobs and TTS histories: synthesize, store the WAV, hand out signed links to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hams.db.models import Job, TtsHistory, Voice, new_id
from hams.errors import BadRequest, NotFound
from hams.media.urls import check_url
from hams.services import quotas
from hams.services.idempotency import fingerprint
from hams.services.jobs import NewJob, create_job, iso
from hams.services.keys import Principal
from hams.services.links import sign_file
from hams.services.transcription import url_policy
from hams.services.tts import (
    AudioFormat,
    check_text,
    dictionary_words,
    engine_name,
    prepare_sentences,
    synthesize_wav,
)
from hams.services.usage import tts_cost, usage_row
from hams.services.voices import resolve_voice, voice_public
from hams.worker.outcome import JobOutcome

if TYPE_CHECKING:
    from hams.db.session import Database
    from hams.engines.voices import TtsEngines
    from hams.runtime import Runtime
    from hams.settings import Settings
    from hams.storage import BlobStorage

TTS_MODEL = "Hamsa-TTS-V1.0"
HISTORY_MAX_CHARS = 3000


def file_url(runtime: Runtime, base: str, key: str) -> str:
    """An absolute, signed, expiring link to a stored file."""
    return base + sign_file(runtime.secret_key, key, runtime.settings.signed_url_seconds)


@dataclass(frozen=True)
class TtsRequest:
    voice: str
    text: str
    title: str | None
    webhook_url: str | None
    webhook_auth: dict | None
    dictionary_ids: list[str] | None
    base_url: str


def submit_tts_job(session: Session, runtime: Runtime, principal: Principal, request: TtsRequest,
                   idempotency_key: str | None) -> Job:
    """Check voice, text, webhook and dictionaries now; synthesis happens in a worker."""
    text = check_text(request.text, runtime.settings.tts_job_max_chars)
    if request.webhook_url:
        check_url(request.webhook_url, url_policy(runtime.settings), purpose="webhookUrl")
    voice = resolve_voice(session, request.voice)
    replacements = dictionary_words(session, principal.project_id, request.dictionary_ids)
    prepare_sentences(text, voice.language, replacements, runtime.settings.tts_job_max_chars)
    new = NewJob(
        type="TTS", title=request.title, model=TTS_MODEL, language=voice.language,
        media_url=None, media_key=None, webhook_url=request.webhook_url,
        webhook_auth=request.webhook_auth, tts_voice_id=voice.id,
        options={"text": text, "replacements": replacements, "baseUrl": request.base_url},
    )
    body = {"voice": voice.id, "text": text, "title": request.title,
            "webhook": request.webhook_url, "dictionaries": request.dictionary_ids}
    return create_job(session, principal, new, max_attempts=runtime.settings.max_attempts,
                      idempotency_key=idempotency_key, fingerprint=fingerprint(body),
                      idempotency_hours=runtime.settings.idempotency_hours)


def run_tts_job(db: Database, job: Job, *, settings: Settings, tts: TtsEngines,
                storage: BlobStorage, secret_key: str) -> JobOutcome:
    """Synthesize the job's text to a 16 kHz WAV in storage; its link is the job's mediaUrl."""
    with db.session() as session:
        voice = session.get(Voice, job.tts_voice_id)
    if voice is None:
        raise NotFound("The job's voice no longer exists")
    text = job.options["text"]
    sentences = prepare_sentences(text, voice.language, job.options.get("replacements"),
                                  settings.tts_job_max_chars)
    audio, duration = synthesize_wav(tts, voice, sentences, AudioFormat())
    key = f"jobs/{job.id}/speech.wav"
    storage.path_for(key).write_bytes(audio)
    base = settings.public_url or job.options.get("baseUrl", "")
    url = base + sign_file(secret_key, key, settings.signed_url_seconds)
    return JobOutcome(job_response={"text": text, "ttsMediaFile": url},
                      usage_seconds=duration, total_cost=tts_cost(settings, len(text)),
                      media_key=key, media_url=url)


def create_history(runtime: Runtime, principal: Principal, *, voice_id: str, script: str,
                   config: dict, dictionary_ids: list[str] | None) -> TtsHistory:
    """Synthesize now and keep the result: POST /v2/tts/histories.

    Synthesis runs between two short transactions, never inside one: on SQLite an open
    transaction holds the write lock.
    """
    script = check_text(script, HISTORY_MAX_CHARS)
    speed = config.get("speed", 1.0)
    if not isinstance(speed, int | float) or isinstance(speed, bool) or not 0.5 <= speed <= 2:
        raise BadRequest("config.speed must be a number from 0.5 to 2",
                         message_key="VALIDATION_ERROR")
    with runtime.db.session() as session:
        quotas.check(session, principal.project_id, {quotas.TTS_CHARACTERS: len(script)})
        voice = resolve_voice(session, voice_id)
        replacements = dictionary_words(session, principal.project_id, dictionary_ids)
    sentences = prepare_sentences(script, voice.language, replacements, HISTORY_MAX_CHARS)
    audio, duration = synthesize_wav(runtime.tts, voice, sentences, AudioFormat(), float(speed))
    history_id = new_id()
    key = f"histories/{principal.project_id}/{history_id}.wav"
    runtime.storage.path_for(key).write_bytes(audio)
    history = TtsHistory(id=history_id, project_id=principal.project_id,
                         api_key_id=principal.api_key_id, voice_id=voice.id, script=script,
                         config=config, media_key=key, duration=duration)
    with runtime.db.session() as session:  # the history and its usage commit together
        session.add(history)
        session.add(usage_row(runtime.settings, principal, kind="tts_history",
                              model=engine_name(runtime.tts, voice), audio_seconds=duration,
                              characters=len(script)))
    return history


def list_histories(session: Session, principal: Principal, *, page: int, per_page: int
                   ) -> tuple[list[TtsHistory], int]:
    base = select(TtsHistory).where(TtsHistory.project_id == principal.project_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(TtsHistory.created_at.desc(), TtsHistory.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def get_history(session: Session, principal: Principal, history_id: str) -> TtsHistory:
    history = session.get(TtsHistory, history_id)
    if history is None or history.project_id != principal.project_id:
        raise NotFound("TTS history not found")
    return history


def histories_public(session: Session, runtime: Runtime, base: str,
                     histories: Sequence[TtsHistory]) -> list[dict[str, Any]]:
    """Histories on the wire, with their voices read in one query (not one per row)."""
    voice_ids = {history.voice_id for history in histories}
    voices = {voice.id: voice for voice in session.scalars(
        select(Voice).where(Voice.id.in_(voice_ids)))} if voice_ids else {}
    items = []
    for history in histories:
        url = file_url(runtime, base, history.media_key)
        voice = voices.get(history.voice_id)
        items.append({"id": history.id, "audio": url, "downloadUrl": url + "&download=1",
                      "script": history.script, "duration": history.duration,
                      "config": history.config, "createdAt": iso(history.created_at),
                      "ttsVoice": voice_public(voice) if voice else None})
    return items


def fresh_media_links(runtime: Runtime, base: str, job: Job, data: dict[str, Any]
                      ) -> dict[str, Any]:
    """A finished TTS job as read now: its audio link signed anew, never an expired one."""
    if job.type != "TTS" or not job.media_key or job.status != "COMPLETED":
        return data
    url = file_url(runtime, base, job.media_key)
    return {**data, "mediaUrl": url, "jobResponse": {**(data["jobResponse"] or {}),
                                                     "ttsMediaFile": url}}
