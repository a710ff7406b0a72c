"""What a live conversation takes from an agent record: its texts with the ``{{params}}``
filled (or a 400 naming the ones missing), and the LLM endpoint it talks to (or a clear error
saying what to configure). Kept apart from the records, which a conversation only reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hams.db.models import (
    Conversation,
    Job,
    Voice,
    VoiceAgent,
    VoiceAgentKnowledgeItem,
    VoiceAgentWebTool,
    WebTool,
)
from hams.errors import EngineUnavailable, ValidationFailed
from hams.sealing import SecretBox
from hams.services.voice_agents import (
    DEFAULT_DIALECT,
    PLACEHOLDER,
    merged_config,
    template_params,
)
from hams.services.voices import voice_for_dialect
from hams.settings import Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class LlmEndpoint:
    """Where a conversation's LLM is reached: the agent's own settings, else the server's."""

    base_url: str
    model: str
    api_key: str | None
    temperature: float
    source: str  # "agent" | "server"


def conversation_params(config: dict[str, Any], given: dict[str, Any] | None) -> dict[str, str]:
    """The values a conversation fills the texts with, or a 400 naming every parameter the
    greeting or preamble needs that neither the start request nor the agent supplies."""
    values = {k: v for k, v in (config.get("params") or {}).items() if v not in (None, "")}
    values.update({k: v for k, v in (given or {}).items() if v is not None})
    missing = [name for name in template_params(config) if values.get(name) in (None, "")]
    if missing:
        raise ValidationFailed(
            f"Missing params {', '.join(missing)}: the agent's greeting or preamble uses them",
            message_key="MISSING_PARAMS",
            data=[{"field": f"params.{name}", "message": "required by the agent"}
                  for name in missing])
    return {k: v if isinstance(v, str) else str(v) for k, v in values.items()}


def fill_template(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def agent_llm(agent: VoiceAgent, *, settings: Settings, secrets: SecretBox) -> LlmEndpoint:
    """The LLM a conversation with ``agent`` uses, or a clear error saying what to configure.
    An agent may be saved without one; it is refused only when it must talk."""
    llm = merged_config(agent)["llm"]
    key = secrets.open_fields(agent.sealed_secrets).get("llmApiKey")
    base_url = llm.get("baseUrl") or (OPENAI_BASE_URL if llm.get("provider") == "openai"
                                      else None)
    if base_url and llm.get("model"):
        return LlmEndpoint(base_url.rstrip("/"), llm["model"], key, float(llm["temperature"]),
                           "agent")
    if settings.llm_base_url and settings.llm_model:
        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return LlmEndpoint(settings.llm_base_url, llm.get("model") or settings.llm_model,
                           api_key, float(llm["temperature"]), "server")
    raise EngineUnavailable(
        f"Voice agent {agent.id} has no LLM: set llm.baseUrl and llm.model on the agent (any "
        "OpenAI-compatible endpoint: vLLM, llama.cpp's server, Ollama, OpenAI), or "
        "HAMS_LLM_BASE_URL and HAMS_LLM_MODEL on the server", message_key="LLM_NOT_CONFIGURED")


# ---- a conversation's plan: everything the live pipeline needs, read once ----------------

MAX_CLIENT_TOOLS = 32


@dataclass(frozen=True)
class SpokenVoice:
    """The catalog voice an agent speaks with (detached from any session)."""

    id: str
    name: str
    language: str
    dialect: str
    engine: str
    engine_voice: str


@dataclass(frozen=True)
class ConversationPlan:
    """An agent's fields as a live conversation uses them (spec §6.1), texts filled."""

    job_id: str
    agent_id: str
    agent_name: str
    lang: str  # ar | en: what the caller is transcribed in
    greeting: str  # empty: none
    greeting_is_prompt: bool  # PROMPT: the LLM says it from this instruction
    wait_for_user: bool
    system_prompt: str
    voice: SpokenVoice
    dictionary_ids: tuple[str, ...]
    llm: LlmEndpoint
    interrupt: bool
    min_interruption_seconds: float
    response_delay_seconds: float
    vad_threshold: float
    silence_seconds: float
    poke_messages: tuple[str, ...]
    inactivity_seconds: float
    max_duration_seconds: float
    smart_call_end: bool
    client_tools: tuple[dict[str, Any], ...]  # the SDK's, in OpenAI's function shape
    web_tool_ids: tuple[str, ...]  # web_tools.id of each version the agent uses
    knowledge_item_ids: tuple[str, ...]
    agentic_rag: bool
    params: dict[str, str] = field(default_factory=dict)


def client_tools(tools: list[Any] | None) -> list[dict[str, Any]]:
    """The SDK's tools as conversation-init sends them (OpenAI's function shape, maybe with
    ``func_map``), kept as the LLM will be offered them; a malformed one is a 400."""
    if tools is None:
        return []
    if not isinstance(tools, list) or len(tools) > MAX_CLIENT_TOOLS:
        raise ValidationFailed.at_field("tools", f"must be a list of at most "
                                        f"{MAX_CLIENT_TOOLS} tools")
    checked = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise ValidationFailed.at_field(
                f"tools[{index}].function.name", "must be 1-64 letters, digits, _ or -")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise ValidationFailed.at_field(f"tools[{index}].function.parameters",
                                            "must be a JSON Schema object")
        checked.append({"type": "function", "function": {
            "name": name, "description": str(function.get("description") or "")[:1000],
            "parameters": parameters}})
    return checked


def conversation_plan(session: Session, job: Job, conversation: Conversation, agent: VoiceAgent,
                      *, settings: Settings, secrets: SecretBox) -> ConversationPlan:
    """Read once when the socket opens: later edits to the agent apply to later calls."""
    config = merged_config(agent)
    values = {k: str(v) for k, v in (conversation.params or {}).items() if v is not None}
    values = {**{k: str(v) for k, v in (config.get("params") or {}).items() if v is not None},
              **values}
    voice = (session.get(Voice, config["voiceId"]) if config.get("voiceId") else None) \
        or voice_for_dialect(session, DEFAULT_DIALECT.get(agent.lang, "msa"))
    tool_ids = []
    for link in session.scalars(select(VoiceAgentWebTool).where(
            VoiceAgentWebTool.agent_id == agent.id).order_by(VoiceAgentWebTool.position)):
        statement = select(WebTool.id).where(WebTool.project_id == agent.project_id,
                                             WebTool.persistent_id == link.persistent_id)
        statement = (statement.where(WebTool.version == link.version) if link.version
                     else statement.order_by(WebTool.version.desc()))
        found = session.scalars(statement.limit(1)).first()
        if found:
            tool_ids.append(found)
    items = session.scalars(select(VoiceAgentKnowledgeItem.item_id).where(
        VoiceAgentKnowledgeItem.agent_id == agent.id)).all()
    return ConversationPlan(
        job_id=job.id, agent_id=agent.id, agent_name=agent.name, lang=agent.lang,
        greeting=fill_template(config.get("greetingMessage") or "", values).strip(),
        greeting_is_prompt=config.get("greetingMessageType") == "PROMPT",
        wait_for_user=bool(config.get("waitForUserToSpeakFirst")),
        system_prompt=fill_template(config.get("preamble") or "", values).strip(),
        voice=SpokenVoice(voice.id, voice.name, voice.language, voice.dialect, voice.engine,
                          voice.engine_voice),
        dictionary_ids=tuple(config.get("voiceDictionaryIds") or ()),
        llm=agent_llm(agent, settings=settings, secrets=secrets),
        interrupt=bool(config.get("interrupt", True)),
        min_interruption_seconds=float(config.get("minInterruptionDuration") or 0.0),
        response_delay_seconds=float(config.get("responseDelay") or 0) / 1000,
        vad_threshold=float(config.get("vadActivationThreshold") or 0.5),
        silence_seconds=float(config.get("silenceThreshold") or 800) / 1000,
        poke_messages=tuple(str(m) for m in config.get("pokeMessages") or () if m),
        inactivity_seconds=float(config.get("userInactivityTimeout") or 0),
        max_duration_seconds=float(config.get("maxCallDuration") or 0),
        smart_call_end=bool(config.get("smartCallEnd")),
        client_tools=tuple(conversation.client_tools or ()),
        web_tool_ids=tuple(tool_ids), knowledge_item_ids=tuple(items),
        agentic_rag=bool(config.get("agenticRag")), params=values)
