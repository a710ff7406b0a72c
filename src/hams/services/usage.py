"""The usage ledger (``usage_records``): one row per billable event, per project and API key.

A job is recorded by ``record_job`` in the transaction that ends it (``job_ended``), so its
outcome and its usage commit together or not at all; the row is unique per (job, kind), so a
job finished again after a crash cannot be counted twice. A realtime call has no transaction
of its own: ``record_usage`` writes its row once the work is done.

Each row keeps every measure (audio seconds, characters, tokens) and, as ``quantity`` and
``unit``, the one its ``cost`` is priced on (see the price settings).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hams.db.models import Job, UsageRecord, new_id, utcnow
from hams.services.keys import Principal

if TYPE_CHECKING:
    from hams.db.session import Database
    from hams.settings import Settings

STT_KINDS = ("transcription", "realtime_stt")
TTS_KINDS = ("tts", "realtime_tts", "speech", "tts_history")
JOB_KINDS = {"TRANSCRIPTION": "transcription", "TRANSLATION": "transcription", "TTS": "tts",
             "AI_CONTENT": "ai_content"}


def stt_cost(settings: Settings, model: str | None, seconds: float) -> float:
    """Audio minutes at the model's HAMS_STT_PRICE_PER_MINUTE (jobs and realtime alike)."""
    return round(seconds / 60 * settings.stt_price_per_minute.get(model or "", 0.0), 6)


def tts_cost(settings: Settings, characters: int) -> float:
    """Characters at HAMS_TTS_PRICE_PER_1K_CHARS (TTS jobs, realtime TTS, OpenAI speech)."""
    return round(characters / 1000 * settings.tts_price_per_1k_chars, 6)


def usage_row(settings: Settings, principal: Principal, *, kind: str, model: str | None,
               audio_seconds: float = 0.0, characters: int = 0) -> UsageRecord:
    """The ledger row of work done on the spot (not a job), priced on its kind's measure."""
    if kind in STT_KINDS:
        quantity, unit = round(audio_seconds, 3), "seconds"
        cost = stt_cost(settings, model, audio_seconds)
    else:
        quantity, unit, cost = characters, "characters", tts_cost(settings, characters)
    return UsageRecord(project_id=principal.project_id, api_key_id=principal.api_key_id,
                       kind=kind, model=model, audio_seconds=round(audio_seconds, 3),
                       characters=characters, quantity=quantity, unit=unit, cost=cost)


def record_usage(db: Database, principal: Principal, *, settings: Settings, kind: str,
                 model: str | None, audio_seconds: float = 0.0, characters: int = 0) -> None:
    """A realtime call, in its own short transaction after the work it accounts for."""
    with db.session() as session:
        session.add(usage_row(settings, principal, kind=kind, model=model,
                              audio_seconds=audio_seconds, characters=characters))


async def record_now(db: Database, principal: Principal, **values: Any) -> None:
    """``record_usage`` from async code, off the event loop."""
    await run_in_threadpool(functools.partial(record_usage, db, principal, **values))


def record_later(db: Database, principal: Principal, **values: Any) -> None:
    """Record usage from async code that may be cancelled (a client gone mid-stream): the
    write runs on a thread and nobody waits for it."""
    def write() -> None:
        try:
            record_usage(db, principal, **values)
        except Exception:  # noqa: BLE001 - usage must never break the request it counts
            logging.getLogger(__name__).exception("could not record usage")

    asyncio.get_running_loop().run_in_executor(None, write)


def record_job(session: Session, job: Job | Row[Any]) -> bool:
    """In the transaction that ends ``job``: its ledger row, if it used anything (a completed
    job; a failed one only for the LLM tokens it had spent). False when there was nothing to
    record or the job was already recorded."""
    kind = JOB_KINDS.get(job.type)
    tokens = job.usage_tokens or 0
    if kind is None or (job.state != "completed" and not tokens):
        return False
    seconds = job.usage_seconds or 0.0
    if kind == "transcription":
        characters = len(str((job.job_response or {}).get("text") or ""))
        quantity, unit = seconds, "seconds"
    elif kind == "tts":
        characters = len(str((job.options or {}).get("text") or ""))
        quantity, unit = characters, "characters"
    else:
        characters = _transcript_length(session, job.relevant_job_id)
        quantity, unit = (tokens, "tokens") if tokens else (characters, "characters")
    row = {"id": new_id(), "project_id": job.project_id, "api_key_id": job.api_key_id,
           "job_id": job.id, "kind": kind, "model": job.model, "audio_seconds": seconds,
           "characters": characters, "tokens": tokens, "quantity": quantity, "unit": unit,
           "cost": (job.total_cost or 0.0) if job.state == "completed" else 0.0,
           "created_at": job.finished_at or utcnow()}
    inserted = session.execute(_INSERT_JOB_ROW[session.get_bind().dialect.name], row)
    return inserted.rowcount == 1


_INSERT_JOB_ROW = {  # built once, by dialect name: building it per job showed in profiles
    "postgresql": postgresql.insert(UsageRecord.__table__).on_conflict_do_nothing(
        index_elements=["job_id", "kind"]),
    "sqlite": sqlite.insert(UsageRecord.__table__).on_conflict_do_nothing(
        index_elements=["job_id", "kind"]),
}


def _transcript_length(session: Session, source_id: str | None) -> int:
    """Characters of the transcript an AI content job was made from (what it is priced on)."""
    source = session.get(Job, source_id) if source_id else None
    return len(str((source.job_response or {}).get("text") or "").strip()) if source else 0
