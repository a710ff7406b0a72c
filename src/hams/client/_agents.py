"""Voice agents: ``client.agents``, one definition for both clients.

The SDK speaks the nested v2 shape (``/v2/voice-agents``): it groups the settings as the
product does (conversation, voice, llm, callSettings), its tools can pin a web tool's version,
its list can search, sort and filter, and its answer also carries the fields v1 keeps flat, so
nothing is lost. Only clone is a v1 route; its answer is read back as v2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from hams.client._http import ApiRequest
from hams.client._knowledge import KnowledgeBase
from hams.client._ops import ClientBase, Op, body_of, data_of, operation, segment
from hams.client._phone_numbers import PhoneNumbers
from hams.client._resource import Resource, camel_fields, many, merge
from hams.client._web_tools import WebTools
from hams.client.models import Agent, AgentPage

V1_AGENTS = "/v1/voice-agents"
V2_AGENTS = "/v2/voice-agents"
AGENT_SECTIONS = ("conversation", "voice", "llm", "callSettings", "webhookAuth", "workflow")


def agent_body(fields: Mapping[str, Any], *, name: str | None = None, lang: str | None = None,
               voice: str | Mapping[str, Any] | None = None, preamble: str | None = None,
               greeting: str | None = None) -> dict[str, Any]:
    """A v2 body: ``fields`` by their v2 names (snake_case or camelCase, sections as dicts;
    a field given as None is sent as null, which returns it to its default), then the
    shortcuts, which go where v2 nests them."""
    body = camel_fields(fields, AGENT_SECTIONS)
    if "tools" in body and body["tools"] is not None:  # a persistentId alone follows the latest
        body["tools"] = [{"persistentId": tool} if isinstance(tool, str) else
                         camel_fields(tool) for tool in body["tools"]]
    if isinstance(voice, Mapping):
        body["voice"] = {**(body.get("voice") or {}), **camel_fields(voice)}
        voice = None
    if name is not None:
        body["name"] = name
    merge(body, "voice", voiceId=voice, lang=lang)
    merge(body, "conversation", preamble=preamble, greetingMessage=greeting)
    return body


class Agents(Resource):
    """``client.agents``: create, read, list, change, clone and delete voice agents."""

    @operation
    def create(self, name: str, *, lang: str | None = None,
               voice: str | Mapping[str, Any] | None = None, preamble: str | None = None,
               greeting: str | None = None, **fields: Any) -> Op[Agent]:
        """A new agent. ``lang`` ("ar" | "en"), ``voice`` (a catalog voice's id or name),
        ``preamble`` (the system prompt) and ``greeting`` are shortcuts; any other v2 field
        goes in ``fields`` (``type="Flow Agent"``, ``call_settings={"silence_threshold":
        500}``, ``llm={...}``, ``tools=[persistent_id, ...]``, ...)."""
        response = yield ApiRequest("POST", V2_AGENTS, json=agent_body(
            fields, name=name, lang=lang, voice=voice, preamble=preamble, greeting=greeting))
        return Agent.model_validate(data_of(response))

    @operation
    def get(self, agent_id: str) -> Op[Agent]:
        response = yield ApiRequest("GET", f"{V2_AGENTS}/{segment(agent_id)}")
        return Agent.model_validate(data_of(response))

    @operation
    def list(self, *, page: int = 1, per_page: int = 10, search: str | None = None,
             sort_field: str | None = None, sort_order: str | None = None,
             language: str | Sequence[str] | None = None,
             type: str | Sequence[str] | None = None) -> Op[AgentPage]:
        """One page of the project's agents, newest first unless ``sort_field`` ("createdAt",
        "updatedAt", "name") / ``sort_order`` ("asc", "desc"); ``search`` matches the name
        (or the id); ``language`` and ``type`` take one value or several."""
        response = yield ApiRequest("GET", V2_AGENTS, params=dict(
            skip=page, take=per_page, search=search, sortField=sort_field,
            sortOrder=sort_order, language=many(language), type=many(type)))
        return AgentPage.model_validate(data_of(response))

    @operation
    def update(self, agent_id: str, *, name: str | None = None, lang: str | None = None,
               voice: str | Mapping[str, Any] | None = None, preamble: str | None = None,
               greeting: str | None = None, **fields: Any) -> Op[Agent]:
        """Change what is given; the other fields, also inside a section, stay as they are.
        ``tools`` and the id lists are replaced whole."""
        response = yield ApiRequest(
            "PATCH", f"{V2_AGENTS}/{segment(agent_id)}", idempotent=True,
            json=agent_body(fields, name=name, lang=lang, voice=voice, preamble=preamble,
                            greeting=greeting))
        return Agent.model_validate(data_of(response))

    @operation
    def clone(self, agent_id: str, *, name: str | None = None) -> Op[Agent]:
        """A copy of an agent or template: settings, secrets, tools and knowledge items, not
        its phone number (default name: "<name> (copy)")."""
        response = yield ApiRequest("POST", f"{V1_AGENTS}/clone",
                                    params={"voiceAgentId": agent_id},
                                    json=body_of(agentName=name))
        copied = data_of(response)["id"]
        response = yield ApiRequest("GET", f"{V2_AGENTS}/{segment(copied)}")
        return Agent.model_validate(data_of(response))

    @operation
    def delete(self, agent_id: str) -> Op[None]:
        """Delete an agent (a hams extension); its phone number becomes unassigned."""
        yield ApiRequest("DELETE", f"{V2_AGENTS}/{segment(agent_id)}")


class AgentResources(ClientBase):
    """The voice-agent namespaces of a client, made on first use."""

    @cached_property
    def agents(self) -> Agents:
        """Voice agents (``/v2/voice-agents``)."""
        return Agents(self)

    @cached_property
    def web_tools(self) -> WebTools:
        """Web tools: HTTP functions agents call (``/v2/voice-agents/web-tool``)."""
        return WebTools(self)

    @cached_property
    def knowledge_base(self) -> KnowledgeBase:
        """Knowledge-base items and search (``/v1/voice-agents/knowledge-base``)."""
        return KnowledgeBase(self)

    @cached_property
    def phone_numbers(self) -> PhoneNumbers:
        """Twilio and SIP numbers and their agents (``/v1/voice-agents/phone-number``)."""
        return PhoneNumbers(self)
