"""The record of a voice-agent conversation: a VOICE_AGENTS job (real-time, never claimed by a
worker) and its ``conversations`` row, from conversation-init to its end.

PENDING at init → IN_PROGRESS when the SDK's socket opens on some API process (which holds it
under a lease it renews) → COMPLETED (the user or the agent ended it), TERMINATED (the terminate
route or the maximum duration), or FAILED (an error, or its process stopped: whoever sweeps
next fails a conversation whose lease ran out). The end is written in one transaction with the
usage ledger and the follow-up job that extracts the outcome and sends ``call.ended``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hams.db.models import Conversation, ConversationLog, Job, UsageRecord, new_id, utcnow
from hams.errors import Conflict, NotFound
from hams.queue import jobs as queue
from hams.services.keys import Principal
from hams.services.usage import stt_cost, tts_cost
from hams.settings import Settings

JOB_TYPE = "VOICE_AGENTS"
ANALYSIS_JOB_TYPE = "CONVERSATION_ANALYSIS"  # internal: outcome, analysis, call.ended
LIVE_STATE = "live"  # the queue's state column: never runnable, so no worker claims it
LIVE_STATUSES = ("PENDING", "IN_PROGRESS")
CONNECT_WINDOW_SECONDS = 120  # a conversation-init whose socket never opens fails after this


@dataclass(frozen=True)
class NewConversation:
    """What conversation-init asked for, checked."""

    voice_agent_id: str
    agent_name: str
    model: str
    agent_details: dict[str, Any]
    params: dict[str, Any]
    client_tools: list[dict[str, Any]]
    voice_enablement: bool
    channel_type: str = "Web"
    call_params: dict[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None


@dataclass(frozen=True)
class LogEntry:
    """One line of the conversation's log (see ``ConversationLog``)."""

    kind: str  # turn | tool | event
    role: str | None = None
    text: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    interrupted: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """What a conversation used, for the ledger and ``totalCost``."""

    stt_model: str | None = None
    stt_seconds: float = 0.0
    tts_model: str | None = None
    tts_characters: int = 0
    llm_model: str | None = None
    llm_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"sttSeconds": round(self.stt_seconds, 3), "ttsCharacters": self.tts_characters,
                "llmTokens": self.llm_tokens}


@dataclass(frozen=True)
class ConversationEnd:
    """How a conversation ended and what it left."""

    status: str  # COMPLETED | TERMINATED | FAILED
    reason: str
    call_duration: float
    transcript: str = ""
    performance_metrics: dict[str, Any] | None = None
    usage: Usage = Usage()
    recording_key: str | None = None


def create_conversation(session: Session, principal: Principal, new: NewConversation) -> Job:
    """The PENDING job and its row; the socket must open within CONNECT_WINDOW_SECONDS."""
    now = utcnow()
    job = Job(project_id=principal.project_id, api_key_id=principal.api_key_id, type=JOB_TYPE,
              title=new.agent_name, model=new.model, processing_type="real-time",
              voice_agent_id=new.voice_agent_id, webhook_url=new.webhook_url,
              agent_details=json.dumps(new.agent_details, ensure_ascii=False, default=str),
              options={"params": new.params, "voiceEnablement": new.voice_enablement},
              status="PENDING", state=LIVE_STATE, max_attempts=1)
    session.add(job)
    session.flush()
    session.add(Conversation(
        job_id=job.id, project_id=principal.project_id, voice_agent_id=new.voice_agent_id,
        agent_name=new.agent_name, channel_type=new.channel_type, params=new.params,
        client_tools=new.client_tools, voice_enablement=new.voice_enablement,
        call_params=new.call_params,
        alive_until=now + timedelta(seconds=CONNECT_WINDOW_SECONDS)))
    return job


def get_conversation(session: Session, principal: Principal, job_id: str
                     ) -> tuple[Job, Conversation]:
    """The project's conversation, or 404 (another project's looks the same as none)."""
    conversation = session.get(Conversation, job_id)
    if conversation is None or conversation.project_id != principal.project_id:
        raise NotFound("Conversation not found", message_key="CONVERSATION_NOT_FOUND")
    return session.get(Job, job_id), conversation


def open_conversation(session: Session, principal: Principal, job_id: str, *, host: str,
                      lease_seconds: float) -> tuple[Job, Conversation]:
    """The socket opened: PENDING → IN_PROGRESS, held by ``host`` under a lease. A finished
    conversation, or one another socket already holds, is refused."""
    job, conversation = get_conversation(session, principal, job_id)
    if job.status != "PENDING":
        if job.status == "IN_PROGRESS":
            raise Conflict("This conversation already has a connection; one socket per "
                           "conversation", message_key="CONVERSATION_IN_PROGRESS")
        raise Conflict(f"This conversation has already ended ({job.status}); start a new one "
                       "with conversation-init", message_key="CONVERSATION_ENDED")
    now = utcnow()
    taken = session.execute(update(Job).where(Job.id == job_id, Job.status == "PENDING")
                            .values(status="IN_PROGRESS", started_at=now, updated_at=now))
    if taken.rowcount != 1:  # another socket won the race
        raise Conflict("This conversation already has a connection; one socket per "
                       "conversation", message_key="CONVERSATION_IN_PROGRESS")
    conversation.host = host
    conversation.connected_at = now
    conversation.alive_until = now + timedelta(seconds=lease_seconds)
    session.flush()
    session.refresh(job)
    return job, conversation


def append_logs(session: Session, job_id: str, entries: list[LogEntry]) -> None:
    """Add entries after the last one (``seq`` keeps their order)."""
    last = session.scalar(select(func.max(ConversationLog.seq))
                          .where(ConversationLog.job_id == job_id))
    seq = -1 if last is None else last
    for entry in entries:
        seq += 1
        session.add(ConversationLog(
            job_id=job_id, seq=seq, kind=entry.kind, role=entry.role, text=entry.text,
            started_at=entry.started_at, ended_at=entry.ended_at,
            interrupted=entry.interrupted, payload=entry.payload))


def renew_leases(session: Session, host: str, job_ids: list[str], *, lease_seconds: float
                 ) -> tuple[set[str], set[str]]:
    """Extend the leases of the live conversations ``host`` holds. Returns those asked to end
    (the terminate route, from any replica) and those no longer live here (ended elsewhere:
    a sweep that judged this process gone)."""
    if not job_ids:
        return set(), set()
    now = utcnow()
    rows = session.execute(
        select(Conversation.job_id, Conversation.host, Conversation.terminate_requested_at,
               Job.status).join(Job, Job.id == Conversation.job_id)
        .where(Conversation.job_id.in_(job_ids))).all()
    mine = [r.job_id for r in rows if r.host == host and r.status == "IN_PROGRESS"]
    if mine:
        session.execute(update(Conversation).where(Conversation.job_id.in_(mine))
                        .values(alive_until=now + timedelta(seconds=lease_seconds)))
    asked = {r.job_id for r in rows if r.job_id in mine and r.terminate_requested_at}
    return asked, set(job_ids) - set(mine)


def request_termination(session: Session, principal: Principal, job_id: str) -> Job:
    """Ask the process holding the conversation to end it (it looks within a second). A
    conversation whose socket never opened ends here, TERMINATED."""
    job, conversation = get_conversation(session, principal, job_id)
    if job.status not in LIVE_STATUSES:
        raise Conflict(f"This conversation has already ended ({job.status})",
                       message_key="CONVERSATION_ENDED")
    conversation.terminate_requested_at = utcnow()
    if job.status == "PENDING":
        end_conversation(session, job_id, ConversationEnd(
            status="TERMINATED", reason="Terminated before it connected", call_duration=0.0),
            settings=None)
    session.flush()
    return job


def end_conversation(session: Session, job_id: str, end: ConversationEnd, *,
                     settings: Settings | None) -> Job | None:
    """Write the end once: the job's status, cost and recording, the row's figures, the
    ledger, and the follow-up job (outcome, analysis, ``call.ended``). None when it had
    already ended (a sweep and the holder racing)."""
    now = utcnow()
    state = "failed" if end.status == "FAILED" else "completed"
    costs = [cost for _, _, cost in _ledger_rows(end, settings)] if settings else []
    ended = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(LIVE_STATUSES))
        .values(status=end.status, state=state, finished_at=now, updated_at=now,
                error=end.reason if end.status == "FAILED" else None,
                media_key=end.recording_key, total_cost=round(sum(costs), 6),
                usage_seconds=round(end.call_duration, 3),
                usage_tokens=end.usage.llm_tokens or None))
    if ended.rowcount != 1:
        return None
    session.execute(update(Conversation).where(Conversation.job_id == job_id).values(
        ended_at=now, end_reason=end.reason, call_duration=round(end.call_duration, 3),
        transcript=end.transcript, performance_metrics=end.performance_metrics,
        usage=end.usage.as_dict(), alive_until=None, updated_at=now))
    job = session.get(Job, job_id, populate_existing=True)
    _insert_usage(session, job, end, settings=settings, now=now)
    session.add(Job(project_id=job.project_id, api_key_id=job.api_key_id,
                    type=ANALYSIS_JOB_TYPE, title=f"After conversation {job_id}",
                    relevant_job_id=job_id, processing_type="async", state="queued",
                    max_attempts=3, options={}))
    queue.notify_created(session)
    return job


def _ledger_rows(end: ConversationEnd, settings: Settings) -> list[tuple[str, dict, float]]:
    """(kind, measures, cost) per thing a conversation uses: its minutes, STT seconds, TTS
    characters and LLM tokens (the LLM is the user's own endpoint: no price here)."""
    u = end.usage
    minutes_cost = round(end.call_duration / 60 * settings.agent_price_per_minute, 6)
    return [
        ("conversation", {"audio_seconds": end.call_duration, "quantity": end.call_duration,
                          "unit": "seconds", "model": None}, minutes_cost),
        ("agent_stt", {"audio_seconds": u.stt_seconds, "quantity": u.stt_seconds,
                       "unit": "seconds", "model": u.stt_model},
         stt_cost(settings, u.stt_model, u.stt_seconds)),
        ("agent_tts", {"characters": u.tts_characters, "quantity": u.tts_characters,
                       "unit": "characters", "model": u.tts_model},
         tts_cost(settings, u.tts_characters)),
        ("agent_llm", {"tokens": u.llm_tokens, "quantity": u.llm_tokens, "unit": "tokens",
                       "model": u.llm_model}, 0.0),
    ]


def _insert_usage(session: Session, job: Job, end: ConversationEnd, *,
                  settings: Settings | None, now: datetime) -> None:
    """The ledger rows, unique per (job, kind): a conversation is never counted twice."""
    if settings is None or end.call_duration <= 0:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for kind, measures, cost in _ledger_rows(end, settings):
        if not measures["quantity"]:
            continue
        row = {"id": new_id(), "project_id": job.project_id, "api_key_id": job.api_key_id,
               "job_id": job.id, "kind": kind, "cost": cost, "created_at": now,
               "audio_seconds": 0.0, "characters": 0, "tokens": 0, **measures}
        session.execute(dialect.insert(UsageRecord).values(**row).on_conflict_do_nothing(
            index_elements=["job_id", "kind"]))


def fail_abandoned(session: Session, *, settings: Settings, host: str | None = None) -> int:
    """Fail every live conversation whose lease ran out (its process stopped, or its socket
    never opened), and, at a process's start, every one ``host`` held before it restarted."""
    now = utcnow()
    stale = [Conversation.alive_until < now, Conversation.alive_until.is_(None)]
    if host:
        stale.append(Conversation.host == host)
    ids = session.scalars(select(Conversation.job_id).join(Job, Job.id == Conversation.job_id)
                          .where(Job.status.in_(LIVE_STATUSES), or_(*stale))).all()
    count = 0
    for job_id in ids:
        conversation = session.get(Conversation, job_id)
        reason = ("The conversation's socket never opened" if conversation.connected_at is None
                  else "The server holding the conversation stopped before it ended")
        # what it used was not measured to the end: nothing is billed for it
        if end_conversation(session, job_id, ConversationEnd(
                status="FAILED", reason=reason, call_duration=0.0),
                settings=settings) is not None:
            count += 1
    return count

