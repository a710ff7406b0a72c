"""The two moments a conversation touches its agent: conversation-init (every check that can
fail, then the PENDING record) and the socket's opening (the record IN_PROGRESS, and the
agent read once into the plan the pipeline is built from)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hams.db.models import Conversation, Job, VoiceAgent, WebTool
from hams.db.session import Database
from hams.engines.models import SttModels
from hams.errors import BadRequest, EngineUnavailable, HamsError
from hams.media.urls import check_url, url_policy
from hams.sealing import SecretBox
from hams.services import conversation_webhooks, conversations
from hams.services.agent_runtime import (
    ConversationPlan,
    agent_llm,
    client_tools,
    conversation_params,
    conversation_plan,
)
from hams.services.keys import Principal
from hams.services.stt_policy import check_language, realtime_model
from hams.services.tts import dictionary_words
from hams.services.voice_agents import agent_view, get_agent, merged_config
from hams.settings import Settings


@dataclass(frozen=True)
class ConversationInit:
    """conversation-init's body, as the SDK sends it."""

    voice_agent_id: str
    params: dict[str, Any]
    voice_enablement: bool
    tools: list[Any] | None
    channel_type: str = "Web"
    base_url: str | None = None  # where links in its webhooks point (the recording)


@dataclass(frozen=True)
class LiveStart:
    """What the socket's opening hands the pipeline."""

    job: Job
    plan: ConversationPlan
    web_tools: list[WebTool]
    replacements: dict[str, str]


def init_conversation(session: Session, principal: Principal, init: ConversationInit, *,
                      settings: Settings, secrets: SecretBox, models: SttModels) -> Job:
    """Refuse now what would fail once talking (unknown agent, missing ``{{params}}``, no
    LLM, a language the STT engine cannot take, malformed tools); else the PENDING job."""
    agent = get_agent(session, principal, init.voice_agent_id)
    config = merged_config(agent)
    conversation_params(config, init.params)  # a 400 naming any missing ones
    tools = client_tools(init.tools)
    try:
        llm = agent_llm(agent, settings=settings, secrets=secrets)
    except EngineUnavailable as exc:  # a request that cannot work as configured: 400
        raise BadRequest(exc.message, message_key="LLM_NOT_CONFIGURED") from exc
    try:
        check_language(settings, models, realtime_model(settings.agent_stt_model), agent.lang)
    except HamsError as exc:
        raise BadRequest(f"This agent speaks {agent.lang!r}: {exc.message} (set "
                         "HAMS_AGENT_STT_MODEL or the STT model settings)",
                         message_key="UNSUPPORTED_LANGUAGE") from exc
    view = agent_view(session, agent, secrets=secrets)
    details = {"id": agent.id, "agentName": agent.name, "lang": agent.lang,
               "voiceId": config.get("voiceId"), "llm": {"model": llm.model,
                                                         "source": llm.source},
               "greetingMessage": config.get("greetingMessage"),
               "outcome": config.get("outcome"),
               "outcomeResponseShape": config.get("outcomeResponseShape"),
               "webTools": [tool.persistent_id for tool in view.tools]}
    webhook = config.get("webhookUrl")
    job = conversations.create_conversation(session, principal, conversations.NewConversation(
        voice_agent_id=agent.id, agent_name=agent.name, model=llm.model,
        agent_details=details, params=dict(init.params or {}),
        client_tools=tools, voice_enablement=init.voice_enablement,
        channel_type=init.channel_type, webhook_url=webhook))
    job.webhook_auth = _webhook_auth(agent, config, secrets) if webhook else None
    if init.base_url:
        job.options = {**job.options, "baseUrl": init.base_url}
    return job


def _webhook_auth(agent: VoiceAgent, config: dict[str, Any], secrets: SecretBox
                  ) -> dict[str, str] | None:
    """The agent's webhookAuth as job webhooks send it (``Authorization: <key> <secret>``)."""
    secret = secrets.open_fields(agent.sealed_secrets).get("webhookAuthSecret")
    key = config.get("webhookAuthKey")
    return {"authKey": key or "Bearer", "authSecret": secret} if secret else None


def start_live(session: Session, principal: Principal, job_id: str, *, host: str,
               settings: Settings, secrets: SecretBox) -> LiveStart:
    """The socket opened: IN_PROGRESS under this process's lease, the plan read once."""
    job, conversation = conversations.open_conversation(
        session, principal, job_id, host=host, lease_seconds=settings.agent_lease_seconds)
    conversation_webhooks.enqueue_call_event(session, job, conversation, "call.started",
                                             conversation_webhooks.call_started(conversation))
    agent = session.get(VoiceAgent, job.voice_agent_id) if job.voice_agent_id else None
    if agent is None:
        raise BadRequest("The conversation's voice agent was deleted",
                         message_key="VOICE_AGENT_NOT_FOUND")
    plan = conversation_plan(session, job, conversation, agent, settings=settings,
                             secrets=secrets)
    if plan.llm.source == "agent":  # checked at save; its name may point elsewhere by now
        check_url(plan.llm.base_url, url_policy(settings), purpose="llm.baseUrl")
    tools = [session.get(WebTool, tool_id) for tool_id in plan.web_tool_ids]
    for tool in tools:
        session.expunge(tool)
    replacements = dictionary_words(session, principal.project_id, list(plan.dictionary_ids))
    session.expunge(job)
    return LiveStart(job, plan, [t for t in tools if t is not None], replacements)


def begin_live(db: Database, principal: Principal, job_id: str, *, host: str,
               settings: Settings, secrets: SecretBox) -> LiveStart:
    """``start_live`` in a short transaction of its own (the socket's handler has none)."""
    with db.session() as session:
        return start_live(session, principal, job_id, host=host, settings=settings,
                          secrets=secrets)


def log_and_notify(db: Database, job_id: str, entry: conversations.LogEntry) -> None:
    """One log entry and, with it, its webhook: a final line of either side is a
    ``transcription.update``, a tool call a ``tool.executed``."""
    with db.session() as session:
        conversations.append_logs(session, job_id, [entry])
        event = _event_of(entry)
        if event is None:
            return
        job, conversation = session.get(Job, job_id), session.get(Conversation, job_id)
        if job is not None and conversation is not None:
            conversation_webhooks.enqueue_call_event(session, job, conversation, *event)


def _event_of(entry: conversations.LogEntry) -> tuple[str, dict[str, Any]] | None:
    if entry.kind == "turn" and entry.role in ("user", "agent") and entry.text:
        return "transcription.update", conversation_webhooks.transcription_update(
            entry.role, entry.text, entry.ended_at)
    if entry.kind == "tool":
        p = entry.payload
        kind = p.get("toolType")
        if kind not in conversation_webhooks.TOOL_KINDS:
            return None
        return "tool.executed", conversation_webhooks.tool_executed(
            p.get("name") or "", kind, p.get("arguments"), p.get("result"),
            float(p.get("durationMs") or 0), p.get("error"))
    return None
