"""What a live conversation takes from an agent record: its texts with the ``{{params}}``
filled (or a 400 naming the ones missing), and the LLM endpoint it talks to (or a clear error
saying what to configure). Kept apart from the records, which a conversation only reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hams.db.models import VoiceAgent
from hams.errors import EngineUnavailable, ValidationFailed
from hams.sealing import SecretBox
from hams.services.voice_agents import PLACEHOLDER, merged_config, template_params
from hams.settings import Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"


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
