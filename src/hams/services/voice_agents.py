"""Voice agents: one stored agent behind Hamsa's two wire shapes, its defaults and ranges, the
voice, LLM, web tools and knowledge items it uses, and its secrets sealed at rest.

The routers translate a v1 or v2 body into ``AgentChanges`` (the fields sent, under their v1
names); this module merges them into the stored ``config``, checks what only the database can
check (the voice, tool, item and dictionary ids belong to the project; URLs pass the SSRF
guard), and hands back an ``AgentView`` that either wire shape renders.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import asc, delete, desc, func, or_, select
from sqlalchemy.orm import Session

from hams.db.models import (
    KnowledgeItem,
    PhoneNumber,
    Voice,
    VoiceAgent,
    VoiceAgentKnowledgeItem,
    VoiceAgentWebTool,
    VoiceDictionary,
    WebTool,
)
from hams.db.text_search import contains
from hams.errors import BadRequest, NotFound, ValidationFailed
from hams.media.urls import check_url, url_policy
from hams.sealing import SealedSecretUnreadable, SecretBox, is_masked, mask
from hams.services.keys import Principal
from hams.services.voices import resolve_voice, voice_for_dialect
from hams.settings import Settings

field_error = ValidationFailed.at_field  # a 400 naming the field at fault

log = logging.getLogger(__name__)

# Every documented field's default (spec §6.1 examples); ``config`` is merged over these on
# read, so a field added later reads as its default on agents stored before it existed.
DEFAULTS: dict[str, Any] = {
    "greetingMessage": "", "greetingMessageType": "STATIC", "description": None,
    "preamble": "", "pokeMessages": [], "realTime": True, "silenceThreshold": 800,
    "interrupt": True, "outcome": None, "outcomeResponseShape": None, "collectionId": None,
    "icon": None, "webhookUrl": None, "webhookAuthKey": None, "params": {}, "alignment": None,
    "genderDetection": False, "smartCallEnd": True, "toolExtras": {}, "webToolsOverrides": {},
    "voiceId": None, "voiceDictionaryIds": [], "userInactivityTimeout": 15,
    "maxCallDuration": 300, "responseDelay": 400, "backgroundNoise": False,
    "waitForUserToSpeakFirst": False, "thinkingVoice": False, "speakerIdentification": False,
    "noiseCancellation": "telephony-optimized", "cancelNoisePer": "conversation",
    "agenticRag": False, "languageDialectSwitcher": False, "minInterruptionDuration": 0.5,
    "vadActivationThreshold": 0.5, "enableAutoGainControl": False, "sendDenoisedToStt": False,
    "ttsParams": None, "workflow": None,
    "llm": {"provider": None, "model": None, "baseUrl": None, "temperature": 0.2},
}
DEFAULT_DIALECT = {"ar": "msa", "en": "en"}  # the voice of an agent that names none
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]{0,63})\s*\}\}")
SORT_FIELDS = {"createdAt": VoiceAgent.created_at, "updatedAt": VoiceAgent.updated_at,
               "name": VoiceAgent.name, "agentName": VoiceAgent.name}


@dataclass
class ToolRef:
    """A web tool named in a body: a persistentId follows the tool's latest version unless
    ``version`` pins one; a version's own id pins that version."""

    reference: str
    version: int | None = None
    node_id: str | None = None
    overrides: dict[str, Any] | None = None


@dataclass
class AgentChanges:
    """The fields a body sent, under their v1 names; None = not sent."""

    name: str | None = None
    lang: str | None = None
    agent_type: str | None = None
    is_template: bool | None = None
    voice: str | None = None  # "" = back to the language's default voice
    config: dict[str, Any] = field(default_factory=dict)
    llm: dict[str, Any] | None = None  # {} = back to the defaults (the server's LLM)
    llm_api_key: str | None = None  # "" = remove; a masked value = keep
    webhook_auth: dict[str, Any] | None = None  # {} = remove
    web_tools: list[ToolRef] | None = None


@dataclass
class AgentTool:
    persistent_id: str
    version: int | None  # pinned version; None = follows the latest
    tool: WebTool | None  # the version in use (None if the tool was deleted)
    node_id: str | None
    overrides: dict[str, Any] | None

    @property
    def v1_reference(self) -> str:
        """v1's ``webToolsIds`` entry: the pinned version's id, else the persistentId."""
        return self.tool.id if self.version is not None and self.tool else self.persistent_id


@dataclass
class AgentView:
    agent: VoiceAgent
    config: dict[str, Any]
    voice: Voice | None
    params: dict[str, Any]
    tools: list[AgentTool]
    knowledge_item_ids: list[str]
    phone_number: PhoneNumber | None
    llm_api_key_masked: str | None
    webhook_auth_key: str | None
    webhook_auth_secret_masked: str | None


@dataclass(frozen=True)
class AgentQuery:
    page: int = 1
    size: int = 10
    search: str | None = None
    sort_field: str = "createdAt"
    sort_order: str = "desc"
    languages: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


def _readable_secrets(agent: VoiceAgent, secrets: SecretBox) -> dict[str, str]:
    """The agent's secrets for reading and rewriting it: after a change of HAMS_SECRET_KEY the
    old ones cannot be opened, and the agent must stay readable so they can be set again.
    (A conversation opens them strictly, in ``agent_llm``.)"""
    try:
        return secrets.open_fields(agent.sealed_secrets)
    except SealedSecretUnreadable:
        log.warning("voice agent %s: its stored secrets cannot be read with this server's "
                    "key; they read as unset until set again", agent.id)
        return {}


def merged_config(agent: VoiceAgent) -> dict[str, Any]:
    config = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(agent.config or {})}
    config["llm"] = {**DEFAULTS["llm"], **(agent.config or {}).get("llm", {})}
    direction = "rtl" if agent.lang == "ar" else "ltr"  # Arabic text reads right to left
    config["alignment"] = {"greetingMessage": direction, "preamble": direction,
                           **{k: v for k, v in (config["alignment"] or {}).items() if v}}
    return config


def template_params(config: dict[str, Any]) -> list[str]:
    """The ``{{name}}`` parameters of the greeting and the preamble, in order of appearance."""
    text = f"{config.get('greetingMessage') or ''}\n{config.get('preamble') or ''}"
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def agent_params(config: dict[str, Any]) -> dict[str, Any]:
    """``params`` as the agent lists them: every parameter its texts use (its default value,
    or null when a conversation must supply it), plus defaults set for other names."""
    defaults = dict(config.get("params") or {})
    return {**defaults, **{name: defaults.get(name) for name in template_params(config)}}


# ---- reading --------------------------------------------------------------------------------

def get_agent(session: Session, principal: Principal, agent_id: str, *,
              for_update: bool = False) -> VoiceAgent:
    """The project's agent; ``for_update`` locks its row (PostgreSQL) so concurrent writes
    to one agent (its config, its link rows) take turns instead of colliding."""
    agent = session.get(VoiceAgent, agent_id, with_for_update=for_update or None)
    if agent is None or agent.project_id != principal.project_id:
        raise NotFound("Voice agent not found", message_key="VOICE_AGENT_NOT_FOUND")
    return agent


def agent_view(session: Session, agent: VoiceAgent, *, secrets: SecretBox) -> AgentView:
    config = merged_config(agent)
    opened = _readable_secrets(agent, secrets)
    voice = session.get(Voice, config["voiceId"]) if config["voiceId"] else None
    links = session.scalars(select(VoiceAgentWebTool).where(
        VoiceAgentWebTool.agent_id == agent.id).order_by(VoiceAgentWebTool.position)).all()
    tools = [AgentTool(link.persistent_id, link.version,
                       _tool_version(session, agent.project_id, link.persistent_id, link.version),
                       link.node_id, link.overrides) for link in links]
    item_ids = session.scalars(select(VoiceAgentKnowledgeItem.item_id).where(
        VoiceAgentKnowledgeItem.agent_id == agent.id)).all()
    ordered = [i for i in config.get("knowledgeBaseItemsIds", []) if i in set(item_ids)]
    ordered += sorted(set(item_ids) - set(ordered))
    number = session.scalars(select(PhoneNumber).where(
        PhoneNumber.voice_agent_id == agent.id)).first()
    return AgentView(agent, config, voice, agent_params(config), tools, ordered, number,
                     mask(opened.get("llmApiKey")), config.get("webhookAuthKey"),
                     mask(opened.get("webhookAuthSecret")))


def _tool_version(session: Session, project_id: str, persistent_id: str,
                  version: int | None) -> WebTool | None:
    statement = select(WebTool).where(WebTool.project_id == project_id,
                                      WebTool.persistent_id == persistent_id)
    if version is not None:
        statement = statement.where(WebTool.version == version)
    return session.scalars(statement.order_by(WebTool.version.desc())).first()


def read_agent(session: Session, principal: Principal, agent_id: str, *,
               secrets: SecretBox) -> AgentView:
    return agent_view(session, get_agent(session, principal, agent_id), secrets=secrets)


def list_agents(session: Session, principal: Principal, query: AgentQuery, *,
                secrets: SecretBox) -> tuple[list[AgentView], int, int]:
    """One page of the project's agents, the project's total and the count matching."""
    mine = select(VoiceAgent).where(VoiceAgent.project_id == principal.project_id)
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    statement = mine
    if query.search:
        statement = statement.where(or_(contains(VoiceAgent.name, query.search.strip()),
                                        VoiceAgent.id == query.search.strip()))
    if query.languages:
        statement = statement.where(VoiceAgent.lang.in_(query.languages))
    if query.types:
        statement = statement.where(VoiceAgent.agent_type.in_(query.types))
    filtered = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    column = SORT_FIELDS.get(query.sort_field, VoiceAgent.created_at)
    order = asc if query.sort_order == "asc" else desc
    rows = session.scalars(statement.order_by(order(column), order(VoiceAgent.id))
                           .offset((query.page - 1) * query.size).limit(query.size)).all()
    return [agent_view(session, row, secrets=secrets) for row in rows], total, filtered


# ---- writing --------------------------------------------------------------------------------

def create_agent(session: Session, principal: Principal, changes: AgentChanges, *,
                 settings: Settings, secrets: SecretBox) -> AgentView:
    agent = VoiceAgent(project_id=principal.project_id, api_key_id=principal.api_key_id,
                       name=changes.name or "", agent_type="Single Prompt", lang="ar",
                       is_template=False, config={})
    session.add(agent)
    _apply(session, agent, changes, settings=settings, secrets=secrets, creating=True)
    session.flush()
    return agent_view(session, agent, secrets=secrets)


def update_agent(session: Session, principal: Principal, agent_id: str,
                 changes: AgentChanges, *, settings: Settings,
                 secrets: SecretBox) -> AgentView:
    agent = get_agent(session, principal, agent_id, for_update=True)
    _apply(session, agent, changes, settings=settings, secrets=secrets, creating=False)
    session.flush()
    return agent_view(session, agent, secrets=secrets)


def clone_agent(session: Session, principal: Principal, agent_id: str, name: str | None, *,
                secrets: SecretBox) -> AgentView:
    """A copy of an agent (or template) of the project: its settings, secrets, tools and
    knowledge items; not its phone number, and the copy is no template."""
    source = get_agent(session, principal, agent_id)
    agent = VoiceAgent(project_id=principal.project_id, api_key_id=principal.api_key_id,
                       name=name or f"{source.name} (copy)", agent_type=source.agent_type,
                       lang=source.lang, is_template=False,
                       config=copy.deepcopy(source.config or {}),
                       sealed_secrets=secrets.seal_fields(_readable_secrets(source, secrets)))
    session.add(agent)
    session.flush()
    for link in session.scalars(select(VoiceAgentWebTool).where(
            VoiceAgentWebTool.agent_id == source.id)).all():
        session.add(VoiceAgentWebTool(agent_id=agent.id, persistent_id=link.persistent_id,
                                      version=link.version, position=link.position,
                                      node_id=link.node_id, overrides=link.overrides))
    for item_id in session.scalars(select(VoiceAgentKnowledgeItem.item_id).where(
            VoiceAgentKnowledgeItem.agent_id == source.id)).all():
        session.add(VoiceAgentKnowledgeItem(agent_id=agent.id, item_id=item_id))
    session.flush()
    return agent_view(session, agent, secrets=secrets)


def delete_agent(session: Session, principal: Principal, agent_id: str) -> None:
    """Delete an agent; its links go with it and its phone number becomes unassigned."""
    agent = get_agent(session, principal, agent_id, for_update=True)
    for number in session.scalars(select(PhoneNumber).where(
            PhoneNumber.voice_agent_id == agent.id)).all():
        number.voice_agent_id = None
    session.execute(delete(VoiceAgentWebTool).where(VoiceAgentWebTool.agent_id == agent.id))
    session.execute(delete(VoiceAgentKnowledgeItem).where(
        VoiceAgentKnowledgeItem.agent_id == agent.id))
    session.delete(agent)
    session.flush()


def _apply(session: Session, agent: VoiceAgent, changes: AgentChanges, *,
           settings: Settings, secrets: SecretBox, creating: bool) -> None:
    config = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(agent.config or {})}
    for name, value in changes.config.items():
        config[name] = copy.deepcopy(DEFAULTS.get(name)) if value is None else value
    if changes.config.get("alignment"):  # a direction sent changes that one text's only
        config["alignment"] = {**((agent.config or {}).get("alignment") or {}),
                               **{k: v for k, v in changes.config["alignment"].items() if v}}
    if changes.name is not None:
        agent.name = changes.name.strip() or agent.name
    if changes.agent_type is not None:
        agent.agent_type = changes.agent_type
    if changes.is_template is not None:
        agent.is_template = changes.is_template
    lang_changed = changes.lang is not None and changes.lang != agent.lang
    if changes.lang is not None:
        agent.lang = changes.lang
    if changes.voice is not None or creating or lang_changed:
        config["voiceId"] = _voice_id(session, agent, config, changes.voice, lang_changed)
    # URLs are checked when they are sent: a stored one whose host stopped resolving must not
    # block renaming the agent (it is checked again whenever it is used)
    if changes.config.get("webhookUrl"):
        check_url(config["webhookUrl"], url_policy(settings), purpose="webhookUrl")
    opened = _readable_secrets(agent, secrets)
    if changes.llm is not None:
        config["llm"] = ({**DEFAULTS["llm"]} if not changes.llm and changes.llm_api_key == ""
                         else {**DEFAULTS["llm"], **config.get("llm", {}), **{
                             k: (DEFAULTS["llm"][k] if k == "temperature" and v is None else v)
                             for k, v in changes.llm.items()}})
    if (changes.llm or {}).get("baseUrl"):
        check_url(config["llm"]["baseUrl"], url_policy(settings), purpose="llm.baseUrl")
    if changes.llm_api_key is not None and not is_masked(changes.llm_api_key):
        opened["llmApiKey"] = changes.llm_api_key
    if changes.webhook_auth is not None:
        if not changes.webhook_auth:
            config["webhookAuthKey"] = None
            opened.pop("webhookAuthSecret", None)
        if "authKey" in changes.webhook_auth:
            config["webhookAuthKey"] = changes.webhook_auth["authKey"] or None
        secret = changes.webhook_auth.get("authSecret")
        if "authSecret" in changes.webhook_auth and not is_masked(secret):
            opened["webhookAuthSecret"] = secret or ""
    agent.sealed_secrets = secrets.seal_fields(opened)
    config["voiceDictionaryIds"] = _checked_ids(
        session, VoiceDictionary, agent.project_id, config.get("voiceDictionaryIds") or [],
        "voiceDictionaryIds", "voice dictionary")
    if "knowledgeBaseItemsIds" in changes.config:
        item_ids = _checked_ids(session, KnowledgeItem, agent.project_id,
                                changes.config["knowledgeBaseItemsIds"] or [],
                                "knowledgeBaseItemsIds", "knowledge-base item")
        config["knowledgeBaseItemsIds"] = item_ids
        _link_items(session, agent, item_ids)
    if changes.web_tools is not None:
        _link_tools(session, agent, changes.web_tools)
    if config.get("outcomeResponseShape") is not None and not isinstance(
            config["outcomeResponseShape"], dict):
        raise field_error("outcomeResponseShape", "must be a JSON schema object")
    agent.config = config


def _voice_id(session: Session, agent: VoiceAgent, config: dict[str, Any],
              requested: str | None, lang_changed: bool) -> str:
    """The catalog voice: the one named (uuid or name), else the current one if it speaks
    the agent's language, else the language's default voice."""
    if requested:
        try:
            return resolve_voice(session, requested).id
        except BadRequest as exc:
            raise field_error("voiceId", exc.message, message_key="UNKNOWN_VOICE") from exc
    current = session.get(Voice, config["voiceId"]) if config.get("voiceId") else None
    if current is not None and requested is None and not (
            lang_changed and current.language != agent.lang):
        return current.id
    return voice_for_dialect(session, DEFAULT_DIALECT[agent.lang]).id


def _checked_ids(session: Session, model: type, project_id: str, ids: list[str],
                 field_name: str, what: str) -> list[str]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = set(session.scalars(select(model.id).where(
        model.id.in_(ids), model.project_id == project_id)).all())
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise field_error(field_name, f"no {what} {', '.join(unknown)} in this project")
    return ids


def _link_items(session: Session, agent: VoiceAgent, item_ids: list[str]) -> None:
    session.flush()
    session.execute(delete(VoiceAgentKnowledgeItem).where(
        VoiceAgentKnowledgeItem.agent_id == agent.id))
    for item_id in item_ids:
        session.add(VoiceAgentKnowledgeItem(agent_id=agent.id, item_id=item_id))


def _link_tools(session: Session, agent: VoiceAgent, refs: list[ToolRef]) -> None:
    session.flush()
    resolved: dict[str, tuple[int | None, ToolRef]] = {}
    for ref in refs:
        persistent_id, version = _resolve_tool(session, agent.project_id, ref)
        resolved.setdefault(persistent_id, (version, ref))
    session.execute(delete(VoiceAgentWebTool).where(VoiceAgentWebTool.agent_id == agent.id))
    for position, (persistent_id, (version, ref)) in enumerate(resolved.items()):
        session.add(VoiceAgentWebTool(agent_id=agent.id, persistent_id=persistent_id,
                                      version=version, position=position, node_id=ref.node_id,
                                      overrides=ref.overrides))


def _resolve_tool(session: Session, project_id: str, ref: ToolRef) -> tuple[str, int | None]:
    """(persistentId, pinned version or None) of a tool reference, or a 400 naming it."""
    reference = (ref.reference or "").strip()
    mine = select(WebTool).where(WebTool.project_id == project_id)
    latest = session.scalars(mine.where(WebTool.persistent_id == reference)
                             .order_by(WebTool.version.desc())).first()
    if latest is not None:
        persistent_id, pinned = reference, ref.version
    else:
        row = session.scalars(mine.where(WebTool.id == reference)).first()
        if row is None:
            raise field_error("webToolsIds", f"no web tool {reference!r} in this project",
                               message_key="UNKNOWN_WEB_TOOL")
        persistent_id, pinned = row.persistent_id, ref.version or row.version
    if pinned is not None and _tool_version(session, project_id, persistent_id, pinned) is None:
        raise field_error("webToolsIds", f"web tool {persistent_id} has no version {pinned}",
                           message_key="UNKNOWN_WEB_TOOL")
    return persistent_id, pinned
