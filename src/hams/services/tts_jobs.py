"""TTS jobs and TTS histories: synthesize, store the WAV, hand out signed links to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hams.db.models import Job, TtsHistory, Voice, new_id
from hams.errors import BadRequest, NotFound
from hams.media.urls import check_url, url_policy
from hams.services import quotas
from hams.services.idempotency import fingerprint
from hams.services.jobs import NewJob, create_job
from hams.services.keys import Principal, check_project
from hams.services.links import FileLinks
from hams.services.tts import (
    AudioFormat,
    check_text,
    dictionary_words,
    engine_name,
    prepare_sentences,
    synthesize_wav,
)
from hams.services.usage import tts_cost, usage_row
from hams.services.voices import resolve_voice
from hams.worker.outcome import JobOutcome

if TYPE_CHECKING:
    from hams.db.session import Database
    from hams.engines.voices import TtsEngines
    from hams.settings import Settings
    from hams.storage import BlobStorage

TTS_MODEL = "Hamsa-TTS-V1.0"
HISTORY_MAX_CHARS = 3000


@dataclass(frozen=True)
class TtsRequest:
    voice: str
    text: str
    title: str | None
    webhook_url: str | None
    webhook_auth: dict | None
    dictionary_ids: list[str] | None
    base_url: str


def submit_tts_job(session: Session, principal: Principal, request: TtsRequest,
                   idempotency_key: str | None, *, settings: Settings) -> Job:
    """Check voice, text, webhook and dictionaries now; synthesis happens in a worker."""
    text = check_text(request.text, settings.tts_job_max_chars)
    if request.webhook_url:
        check_url(request.webhook_url, url_policy(settings), purpose="webhookUrl")
    voice = resolve_voice(session, request.voice)
    replacements = dictionary_words(session, principal.project_id, request.dictionary_ids)
    prepare_sentences(text, voice.language, replacements, settings.tts_job_max_chars)
    new = NewJob(
        type="TTS", title=request.title, model=TTS_MODEL, language=voice.language,
        media_url=None, media_key=None, webhook_url=request.webhook_url,
        webhook_auth=request.webhook_auth, tts_voice_id=voice.id,
        options={"text": text, "replacements": replacements, "baseUrl": request.base_url},
    )
    body = {"voice": voice.id, "text": text, "title": request.title,
            "webhook": request.webhook_url, "dictionaries": request.dictionary_ids}
    return create_job(session, principal, new, settings=settings,
                      idempotency_key=idempotency_key, fingerprint=fingerprint(body))


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
    storage.write_bytes(key, audio)
    links = FileLinks(secret_key, settings.signed_url_seconds,
                      settings.public_url or job.options.get("baseUrl", ""))
    url = links.url(key)
    return JobOutcome(job_response={"text": text, "ttsMediaFile": url},
                      usage_seconds=duration, total_cost=tts_cost(settings, len(text)),
                      media_key=key, media_url=url)


@dataclass(frozen=True)
class HistoryRequest:
    voice_id: str
    script: str
    config: dict[str, Any]
    dictionary_ids: list[str] | None


@dataclass(frozen=True)
class HistoryEntry:
    """A TTS history as read now: its voice (None once deleted) and a fresh link to its audio."""

    history: TtsHistory
    voice: Voice | None
    audio_url: str


def create_history(db: Database, principal: Principal, request: HistoryRequest, *,
                   settings: Settings, tts: TtsEngines, storage: BlobStorage,
                   links: FileLinks) -> HistoryEntry:
    """Synthesize now and keep the result: POST /v2/tts/histories.

    Synthesis runs between two short transactions, never inside one: on SQLite an open
    transaction holds the write lock.
    """
    script = check_text(request.script, HISTORY_MAX_CHARS)
    speed = request.config.get("speed", 1.0)
    if not isinstance(speed, int | float) or isinstance(speed, bool) or not 0.5 <= speed <= 2:
        raise BadRequest("config.speed must be a number from 0.5 to 2",
                         message_key="VALIDATION_ERROR")
    with db.session() as session:
        quotas.check(session, principal.project_id, {quotas.TTS_CHARACTERS: len(script)})
        voice = resolve_voice(session, request.voice_id)
        replacements = dictionary_words(session, principal.project_id, request.dictionary_ids)
    sentences = prepare_sentences(script, voice.language, replacements, HISTORY_MAX_CHARS)
    audio, duration = synthesize_wav(tts, voice, sentences, AudioFormat(), float(speed))
    history_id = new_id()
    key = f"histories/{principal.project_id}/{history_id}.wav"
    storage.write_bytes(key, audio)
    history = TtsHistory(id=history_id, project_id=principal.project_id,
                         api_key_id=principal.api_key_id, voice_id=voice.id, script=script,
                         config=request.config, media_key=key, duration=duration)
    with db.session() as session:  # the history and its usage commit together
        session.add(history)
        session.add(usage_row(settings, principal, kind="tts_history",
                              model=engine_name(tts, voice), audio_seconds=duration,
                              characters=len(script)))
    return HistoryEntry(history=history, voice=voice, audio_url=links.url(key))


def list_histories(session: Session, principal: Principal, *, project_id: str | None,
                   page: int, per_page: int, links: FileLinks
                   ) -> tuple[list[HistoryEntry], int]:
    """One page of the project's histories, newest first, and how many it has."""
    check_project(principal, project_id)
    base = select(TtsHistory).where(TtsHistory.project_id == principal.project_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(TtsHistory.created_at.desc(), TtsHistory.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return _entries(session, links, rows), total


def get_history(session: Session, principal: Principal, history_id: str, *,
                project_id: str | None, links: FileLinks) -> HistoryEntry:
    check_project(principal, project_id)
    history = session.get(TtsHistory, history_id)
    if history is None or history.project_id != principal.project_id:
        raise NotFound("TTS history not found")
    [entry] = _entries(session, links, [history])
    return entry


def _entries(session: Session, links: FileLinks, histories: Sequence[TtsHistory]
             ) -> list[HistoryEntry]:
    """Histories with their voices, read in one query (not one per row)."""
    voice_ids = {history.voice_id for history in histories}
    voices = {voice.id: voice for voice in session.scalars(
        select(Voice).where(Voice.id.in_(voice_ids)))} if voice_ids else {}
    return [HistoryEntry(history=history, voice=voices.get(history.voice_id),
                         audio_url=links.url(history.media_key)) for history in histories]
