"""Monthly quotas per project (UTC calendar month): audio seconds, TTS characters, tokens.

A request is refused with 402 before any work when it would take the month past a quota:

* what the month has used is the ledger's sum since the first of the month, plus the known
  size of the project's jobs accepted but not finished (a TTS job's characters), so a burst of
  creates cannot slip past the quota before the first of them is recorded;
* a request whose size is known up front (text to speech) is refused when used + size would
  exceed the limit; one whose size only the work reveals (audio seconds of a transcription,
  LLM tokens) is refused once the month has reached the limit, so the last request accepted
  may take it past by its own size.

Job creates check inside the transaction that inserts the job, with the project row locked on
PostgreSQL (SQLite has a single writer), so two creates cannot both take the last of a quota.
Realtime calls check before their work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hams.db.models import Job, Project, UsageRecord, utcnow
from hams.db.session import Database
from hams.errors import PaymentRequired, ValidationFailed
from hams.queue.jobs import UNFINISHED_STATES
from hams.services.usage import STT_KINDS, TTS_KINDS


@dataclass(frozen=True)
class Quota:
    name: str  # the wire name, in errors and statistics
    label: str  # for people
    column: str  # on projects
    message_key: str


AUDIO_SECONDS = Quota("audioSeconds", "audio seconds", "quota_audio_seconds",
                      "QUOTA_AUDIO_SECONDS_EXCEEDED")
TTS_CHARACTERS = Quota("ttsCharacters", "TTS characters", "quota_tts_characters",
                       "QUOTA_TTS_CHARACTERS_EXCEEDED")
TOKENS = Quota("tokens", "tokens", "quota_tokens", "QUOTA_TOKENS_EXCEEDED")
QUOTAS = (AUDIO_SECONDS, TTS_CHARACTERS, TOKENS)

Needs = dict[Quota, float | None]  # None: the size is only known after the work
JOB_NEEDS = {"TRANSCRIPTION": AUDIO_SECONDS, "TRANSLATION": AUDIO_SECONDS, "AI_CONTENT": TOKENS}


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current UTC calendar month."""
    now = now or utcnow()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def limits(project: Project) -> dict[Quota, float]:
    """The project's quotas that are set (an unset one is unlimited)."""
    return {q: getattr(project, q.column) for q in QUOTAS
            if getattr(project, q.column) is not None}


def used(session: Session, project_id: str, quota: Quota, since: datetime) -> float:
    """What the project has used of ``quota`` since ``since``, plus what its unfinished jobs
    are already known to need."""
    records = select(UsageRecord).where(UsageRecord.project_id == project_id,
                                        UsageRecord.created_at >= since)
    if quota is AUDIO_SECONDS:
        total = records.where(UsageRecord.kind.in_(STT_KINDS)).with_only_columns(
            func.sum(UsageRecord.audio_seconds))
    elif quota is TTS_CHARACTERS:
        total = records.where(UsageRecord.kind.in_(TTS_KINDS)).with_only_columns(
            func.sum(UsageRecord.characters))
    else:
        total = records.with_only_columns(func.sum(UsageRecord.tokens))
    value = float(session.scalar(total) or 0)
    if quota is TTS_CHARACTERS:
        value += float(session.scalar(select(func.sum(func.length(
            Job.options["text"].as_string()))).where(
                Job.project_id == project_id, Job.type == "TTS",
                Job.state.in_(UNFINISHED_STATES))) or 0)
    return value


def check(session: Session, project_id: str, needs: Needs, *, lock: bool = False) -> None:
    """Raise PaymentRequired naming the first quota ``needs`` would exceed this month."""
    project = session.get(Project, project_id)
    if project is None or not needs.keys() & limits(project).keys():
        return
    if lock:  # serialize this project's creates until the job is inserted (PostgreSQL)
        project = session.get(Project, project_id, with_for_update=True,
                              populate_existing=True)
    since = month_start()
    for quota, limit in limits(project).items():
        if quota not in needs:
            continue
        need = needs[quota]
        spent = used(session, project_id, quota, since)
        if spent + (need or 0) > limit or (need is None and spent >= limit):
            raise _exceeded(quota, spent, limit, need)


def check_call(db: Database, project_id: str, needs: Needs) -> None:
    """Before a realtime call's work (in its own short transaction)."""
    with db.session() as session:
        check(session, project_id, needs)


def check_job(session: Session, project_id: str, job_type: str, options: dict) -> None:
    """Before a job is inserted: the quota its type draws on."""
    if job_type == "TTS":
        needs: Needs = {TTS_CHARACTERS: len(str(options.get("text") or ""))}
    elif job_type in JOB_NEEDS:
        needs = {JOB_NEEDS[job_type]: None}
    else:
        return
    check(session, project_id, needs, lock=True)


def _exceeded(quota: Quota, spent: float, limit: float, need: float | None) -> PaymentRequired:
    asked = f"; this request needs {need:g} more" if need else ""
    return PaymentRequired(
        f"Monthly {quota.label} quota exceeded: {spent:g} of {limit:g} used this month "
        f"(UTC){asked}. Ask the operator to raise it (hams projects quota), or wait for the "
        "next month.", message_key=quota.message_key,
        data={"quota": quota.name, "used": spent, "limit": limit, "requested": need})


def set_quotas(session: Session, project: Project, changes: dict[Quota, float | None]) -> None:
    """Set (a number) or clear (None) the project's quotas named in ``changes``."""
    for quota, value in changes.items():
        if value is not None and value < 0:
            raise ValidationFailed(f"The {quota.label} quota must be 0 or more")
        if value is not None and quota is not AUDIO_SECONDS:
            value = int(value)
        setattr(project, quota.column, value)


def quota_report(session: Session, project: Project) -> dict[str, dict[str, float | None]]:
    """Each quota's limit (None = unlimited) and what this month has used of it."""
    since = month_start()
    return {q.name: {"limit": getattr(project, q.column),
                     "used": used(session, project.id, q, since)} for q in QUOTAS}
