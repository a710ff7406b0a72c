"""Reading conversations: one conversation as the SDK polls it (its job, record, log, signed
recording and the agent's current tools and knowledge), the minimal call list, and the
refusal of the newer SDK's LiveKit routes.

The record itself (create, open, log, end, terminate) is ``services/conversations.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hams.db.models import (
    Conversation,
    ConversationLog,
    Job,
    KnowledgeItem,
    VoiceAgent,
    VoiceAgentKnowledgeItem,
    VoiceAgentWebTool,
    WebTool,
)
from hams.errors import NotAvailableYet, ValidationFailed
from hams.services.conversations import JOB_TYPE, get_conversation, request_termination
from hams.services.keys import Principal
from hams.services.links import FileLinks

# The JobStatus enum of Hamsa's call records (list-minimal-calls); hams writes the first five
# (NO_ANSWER and FORWARDED come with telephone calls).
CALL_STATUSES = ("PENDING", "IN_PROGRESS", "COMPLETED", "NO_ANSWER", "FAILED", "FORWARDED",
                 "TERMINATED")


@dataclass(frozen=True)
class AgentLinks:
    """The agent's web tools and knowledge items as they are now (not at the call's time)."""

    agent: VoiceAgent
    tools: list[WebTool]
    knowledge_items: list[KnowledgeItem]


@dataclass(frozen=True)
class ConversationView:
    job: Job
    conversation: Conversation
    agent_details: dict[str, Any]
    logs: list[ConversationLog]
    media_url: str | None  # the recording, signed now
    agent: AgentLinks | None  # None once the agent is deleted


def read_conversation(session: Session, principal: Principal, conversation_id: str, *,
                      job_id: str | None, links: FileLinks) -> ConversationView:
    """The project's conversation (404 otherwise). ``job_id`` is the SDK's ``?jobId=``, which
    names the same conversation; another id is refused rather than silently ignored."""
    if job_id and job_id != conversation_id:
        raise ValidationFailed.at_field(
            "jobId", f"must be the conversation's id {conversation_id!r} (got {job_id!r})")
    job, conversation = get_conversation(session, principal, conversation_id)
    logs = session.scalars(select(ConversationLog).where(ConversationLog.job_id == job.id)
                           .order_by(ConversationLog.seq)).all()
    return ConversationView(
        job=job, conversation=conversation, agent_details=_parsed(job.agent_details),
        logs=list(logs), media_url=links.url(job.media_key) if job.media_key else None,
        agent=_agent_links(session, principal, conversation.voice_agent_id))


def terminate(session: Session, principal: Principal, conversation_id: str
              ) -> tuple[Job, Conversation]:
    """Ask for the conversation's end (``conversations.request_termination``: 404 unknown,
    409 already ended); the job and record as the request leaves them."""
    request_termination(session, principal, conversation_id)
    return get_conversation(session, principal, conversation_id)


def _parsed(details: str | None) -> dict[str, Any]:
    """The agent snapshot stored with the job (JSON text) as an object; {} when unreadable."""
    try:
        value = json.loads(details) if details else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _agent_links(session: Session, principal: Principal,
                 agent_id: str | None) -> AgentLinks | None:
    agent = session.get(VoiceAgent, agent_id) if agent_id else None
    if agent is None or agent.project_id != principal.project_id:
        return None
    tools = []
    for link in session.scalars(select(VoiceAgentWebTool).where(
            VoiceAgentWebTool.agent_id == agent.id).order_by(VoiceAgentWebTool.position)):
        version = select(WebTool).where(WebTool.project_id == agent.project_id,
                                        WebTool.persistent_id == link.persistent_id)
        if link.version is not None:
            version = version.where(WebTool.version == link.version)
        if tool := session.scalars(version.order_by(WebTool.version.desc())).first():
            tools.append(tool)
    items = session.scalars(select(KnowledgeItem).join(
        VoiceAgentKnowledgeItem, VoiceAgentKnowledgeItem.item_id == KnowledgeItem.id).where(
        VoiceAgentKnowledgeItem.agent_id == agent.id).order_by(KnowledgeItem.created_at,
                                                               KnowledgeItem.id)).all()
    return AgentLinks(agent, tools, list(items))


# ---- the minimal list ---------------------------------------------------------------------

@dataclass(frozen=True)
class CallQuery:
    """The minimal list's filters: ``start``/``end`` are epoch milliseconds, both inclusive."""

    voice_agent_id: str | None = None
    statuses: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None
    page: int = 1
    per_page: int = 100


@dataclass(frozen=True)
class CallRow:
    job: Job
    conversation: Conversation


def list_calls(session: Session, principal: Principal, query: CallQuery
               ) -> tuple[list[CallRow], int, int]:
    """One page of the project's conversations, newest first; the project's total and the
    count after the filters."""
    if query.start is not None and query.end is not None and query.end < query.start:
        raise ValidationFailed.at_field("endTime", "must not be before startTime")
    if unknown := [s for s in query.statuses if s not in CALL_STATUSES]:
        raise ValidationFailed.at_field(
            "status", f"use {', '.join(CALL_STATUSES)} (got {', '.join(map(repr, unknown))})")
    mine = (select(Job, Conversation).join(Conversation, Conversation.job_id == Job.id)
            .where(Job.project_id == principal.project_id, Job.type == JOB_TYPE))
    total = _count(session, mine)
    filtered = mine
    if query.voice_agent_id:
        filtered = filtered.where(Conversation.voice_agent_id == query.voice_agent_id)
    if query.statuses:
        filtered = filtered.where(Job.status.in_(query.statuses))
    if query.start is not None:
        filtered = filtered.where(Job.created_at >= _instant(query.start, "startTime"))
    if query.end is not None:  # inclusive: everything up to the end's last microsecond
        filtered = filtered.where(Job.created_at < _instant(query.end + 1, "endTime"))
    count = _count(session, filtered)
    rows = session.execute(filtered.order_by(Job.created_at.desc(), Job.id.desc())
                           .limit(query.per_page)
                           .offset((query.page - 1) * query.per_page)).all()
    return [CallRow(job, conversation) for job, conversation in rows], total, count


def _count(session: Session, statement) -> int:
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def _instant(epoch_ms: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(epoch_ms / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed.at_field(name, "must be UTC epoch milliseconds") from None


# ---- the LiveKit path of the newer SDK ----------------------------------------------------

LIVEKIT_SETTINGS = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")


def refuse_livekit_room(route: str) -> NoReturn:
    """The newer SDK's LiveKit routes: hams has no LiveKit server configured; it serves the
    WebSocket SDK (≤0.3.1) instead."""
    raise NotAvailableYet(
        f"{route} is the LiveKit path of @hamsa-ai/voice-agents-sdk 0.4 and later, and LiveKit "
        f"is not configured on this server (it needs a LiveKit server: "
        f"{', '.join(LIVEKIT_SETTINGS)}). hams serves the WebSocket SDK (0.3.1, the version "
        "on npm): POST /v1/voice-agents/conversation-init, then the socket at "
        "/stream/{jobId}?api_key= (WS_URL = ws(s)://<host>/stream).",
        message_key="LIVEKIT_NOT_CONFIGURED",
        data={"category": NotAvailableYet.message_key, "missing": list(LIVEKIT_SETTINGS),
              "conversationInit": "/v1/voice-agents/conversation-init",
              "stream": "/stream/{jobId}"})
