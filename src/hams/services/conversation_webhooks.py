"""Voice-agent webhooks (spec §7.1): a conversation's events in Hamsa's envelope, queued as
deliveries on the conversation job's ``webhookUrl`` and sent, signed and retried like job
webhooks by the workers' ``WebhookSender`` (with ``Authorization: <authKey> <authSecret>``
from the job's ``webhook_auth``).

The envelope is ``{eventType, callId, timestamp, projectId, agentId, agentName, data}``;
``callId`` is the conversation's job id. The ``data`` of each event is built by one small
function here, so the live runtime and the follow-up job say the same thing the same way:

- ``call.started``: ``call_started(conversation)``
- ``transcription.update``: ``transcription_update(speaker, text, at)``
- ``tool.executed``: ``tool_executed(name, kind, input, output, duration_ms, error)``
- ``call.ended``: ``call_ended(...)`` (queued by ``conversation_analysis``, once)

Each event is its own delivery: receivers order them by ``timestamp``, not by arrival.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hams.db.models import Conversation, Job, WebhookDelivery, utcnow

CALL_STARTED = "call.started"
CALL_ANSWERED = "call.answered"
TRANSCRIPTION_UPDATE = "transcription.update"
TOOL_EXECUTED = "tool.executed"
CALL_ENDED = "call.ended"
EVENTS = (CALL_STARTED, CALL_ANSWERED, TRANSCRIPTION_UPDATE, TOOL_EXECUTED, CALL_ENDED)
SPEAKERS = ("user", "agent")
TOOL_KINDS = ("client", "web", "knowledge")


def iso(at: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a ``Z``: 2025-01-31T09:30:00.123Z."""
    if at is None:
        return None
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(job: Job, conversation: Conversation, event_type: str, data: dict[str, Any], *,
             at: datetime | None = None) -> dict[str, Any]:
    """The documented envelope around one event's ``data``."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown voice-agent event {event_type!r}; one of {', '.join(EVENTS)}")
    return {"eventType": event_type, "callId": job.id, "timestamp": iso(at or utcnow()),
            "projectId": job.project_id, "agentId": conversation.voice_agent_id,
            "agentName": conversation.agent_name, "data": data}


def enqueue_call_event(session: Session, job: Job, conversation: Conversation,
                       event_type: str, data: dict[str, Any]) -> WebhookDelivery | None:
    """Queue one event for the conversation's ``webhookUrl`` in the caller's transaction;
    None when the conversation has no URL. The workers send it (signed, retried)."""
    if not job.webhook_url:
        return None
    body = json.dumps(envelope(job, conversation, event_type, data), ensure_ascii=False,
                      default=str)
    delivery = WebhookDelivery(job_id=job.id, project_id=job.project_id, url=job.webhook_url,
                               event=event_type, payload=body)
    session.add(delivery)
    return delivery


def event_queued(session: Session, job_id: str, event_type: str) -> bool:
    """Whether ``event_type`` was already queued for the conversation (``call.ended`` is sent
    once, however often the follow-up job runs)."""
    return session.scalar(select(WebhookDelivery.id).where(
        WebhookDelivery.job_id == job_id, WebhookDelivery.event == event_type).limit(1)
    ) is not None


# ---- the data of each event -----------------------------------------------------------------

def call_started(conversation: Conversation) -> dict[str, Any]:
    """``call.started``: who called (``callParams``), the start ``params`` and the channel."""
    return {"callParams": conversation.call_params or {}, "params": conversation.params or {},
            "channelType": conversation.channel_type}


def transcription_update(speaker: str, text: str, at: datetime | None = None
                         ) -> dict[str, Any]:
    """``transcription.update``: one final line of the conversation, ``user`` or ``agent``."""
    if speaker not in SPEAKERS:
        raise ValueError(f"speaker must be one of {SPEAKERS}, not {speaker!r}")
    return {"speaker": speaker, "text": text, "timestamp": iso(at or utcnow())}


def tool_executed(tool_name: str, kind: str, tool_input: Any, output: Any, duration_ms: float,
                  error: str | None = None) -> dict[str, Any]:
    """``tool.executed``: a client, web or knowledge tool call, its arguments, result and
    duration; ``error`` only when it failed (timed out, refused, the server answered 5xx)."""
    if kind not in TOOL_KINDS:
        raise ValueError(f"tool kind must be one of {TOOL_KINDS}, not {kind!r}")
    data = {"toolName": tool_name, "type": kind, "input": tool_input, "output": output,
            "durationMs": round(duration_ms)}
    if error:
        data["error"] = error
    return data


def call_ended(*, status: str, end_reason: str | None, call_duration: float | None,
               transcript: str, logs: list[dict[str, Any]], recording_url: str | None,
               performance_metrics: dict[str, Any] | None, outcome_result: dict[str, Any],
               call_analysis: dict[str, Any], outcome: dict[str, Any] | None
               ) -> dict[str, Any]:
    """``call.ended``: how it ended, the transcript and logs, the recording, the metrics and
    the analysis. ``outcomeResult`` (the start ``params`` merged with the extracted outcome) is
    at ``data.outcomeResult`` and, as Hamsa's receivers read it, at
    ``data.data.outcomeResult``."""
    return {"status": status, "endReason": end_reason, "callDuration": call_duration,
            "transcript": transcript, "logs": logs, "recordingUrl": recording_url,
            "performanceMetrics": performance_metrics, "outcome": outcome,
            "outcomeResult": outcome_result, "callAnalysis": call_analysis,
            "data": {"outcomeResult": outcome_result}}
