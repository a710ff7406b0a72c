"""Voice agents, v1 (flat) and v2 (nested): one stored agent, two wire shapes.

Fixed paths of other routers under /v1/voice-agents/ (web-tool, knowledge-base, phone-number,
voice-dictionaries) are registered before this router, so ``{voiceAgentId}`` never shadows them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from hams.api.deps import JOBS, READ, PrincipalDep, RuntimeDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.voice_agents import (
    AgentDeleted,
    AgentsPageV1,
    AgentsPageV2,
    AgentV1Body,
    AgentV1Create,
    AgentV1Public,
    AgentV2Body,
    AgentV2Create,
    AgentV2Public,
    CloneBody,
)
from hams.errors import ValidationFailed
from hams.services import voice_agents
from hams.services.voice_agents import AgentQuery

router = APIRouter(tags=["Voice agents"])
V1, V2 = "/v1/voice-agents", "/v2/voice-agents"
V1Answer, V2Answer = Envelope[AgentV1Public], Envelope[AgentV2Public]
DeletedAnswer = Envelope[AgentDeleted]
MAX_PAGE = 1_000_000
Page = Annotated[int, Query(ge=0, le=MAX_PAGE, description="1-based page number")]
Take = Annotated[int, Query(ge=1, le=100, description="Page size")]


@router.post(V1, dependencies=[JOBS], response_model=V1Answer,
             responses=error_responses(*AUTHENTICATED))
def create_agent_v1(body: AgentV1Create, session: SessionDep, principal: PrincipalDep,
                    runtime: RuntimeDep) -> V1Answer:
    """Create an agent from the flat v1 fields."""
    view = voice_agents.create_agent(session, principal, body.changes(),
                                     settings=runtime.settings, secrets=runtime.secrets)
    return V1Answer(data=AgentV1Public.of(view), message="Voice agent created successfully",
                    messageKey="VoiceAgentCreatedSuccessfully")


@router.get(V1, dependencies=[READ], response_model=Envelope[AgentsPageV1],
            responses=error_responses(*AUTHENTICATED))
def list_agents_v1(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep,
                   skip: Page = 1, take: Take = 10) -> Envelope[AgentsPageV1]:
    """The project's agents, newest first; ``skip`` is a 1-based page number."""
    views, total, filtered = voice_agents.list_agents(
        session, principal, AgentQuery(page=max(1, skip), size=take), secrets=runtime.secrets)
    return Envelope[AgentsPageV1](data=AgentsPageV1(
        total=total, filtered=filtered, voiceAgents=[AgentV1Public.of(v) for v in views]))


@router.post(V1 + "/clone", dependencies=[JOBS], response_model=V1Answer,
             responses=error_responses(*AUTHENTICATED, 404))
def clone_agent(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep,
                voiceAgentId: Annotated[str, Query(max_length=100)],
                body: CloneBody | None = None) -> V1Answer:
    """Copy an agent or a template of the project (settings, secrets, tools, knowledge)."""
    view = voice_agents.clone_agent(session, principal, voiceAgentId,
                                    body.agentName if body else None, secrets=runtime.secrets)
    return V1Answer(data=AgentV1Public.of(view), message="Successful cloning of voice agent",
                    messageKey="VoiceAgentClonedSuccessfully")


@router.get(V1 + "/{voiceAgentId}", dependencies=[READ], response_model=V1Answer,
            responses=error_responses(*AUTHENTICATED, 404))
def get_agent_v1(voiceAgentId: str, session: SessionDep, principal: PrincipalDep,
                 runtime: RuntimeDep) -> V1Answer:
    """One agent, flat."""
    view = voice_agents.read_agent(session, principal, voiceAgentId, secrets=runtime.secrets)
    return V1Answer(data=AgentV1Public.of(view))


@router.patch(V1 + "/{voiceAgentId}", dependencies=[JOBS], response_model=V1Answer,
              responses=error_responses(*AUTHENTICATED, 404))
def update_agent_v1(voiceAgentId: str, body: AgentV1Body, session: SessionDep,
                    principal: PrincipalDep, runtime: RuntimeDep) -> V1Answer:
    """Change the fields sent; a field sent as null returns to its default."""
    view = voice_agents.update_agent(session, principal, voiceAgentId, body.changes(),
                                     settings=runtime.settings, secrets=runtime.secrets)
    return V1Answer(data=AgentV1Public.of(view), message="Voice agent updated successfully",
                    messageKey="VoiceAgentUpdatedSuccessfully")


@router.post(V2, dependencies=[JOBS], response_model=V2Answer,
             responses=error_responses(*AUTHENTICATED))
def create_agent_v2(body: AgentV2Create, session: SessionDep, principal: PrincipalDep,
                    runtime: RuntimeDep) -> V2Answer:
    """Create an agent from the nested v2 object."""
    view = voice_agents.create_agent(session, principal, body.changes(),
                                     settings=runtime.settings, secrets=runtime.secrets)
    return V2Answer(data=AgentV2Public.of(view), message="Voice agent created successfully",
                    messageKey="VoiceAgentCreatedSuccessfully")


@router.get(V2, dependencies=[READ], response_model=Envelope[AgentsPageV2],
            responses=error_responses(*AUTHENTICATED))
def list_agents_v2(
    request: Request, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep,
    skip: Page = 1, take: Take = 10,
    search: Annotated[str | None, Query(max_length=300)] = None,
    sortField: Literal["createdAt", "updatedAt", "name", "agentName"] = "createdAt",
    sortOrder: Annotated[Literal["asc", "desc", "ASC", "DESC"], Query()] = "desc",
    language: Annotated[list[Literal["ar", "en"]] | None, Query()] = None,
    type: Annotated[list[Literal["Single Prompt", "Flow Agent"]] | None, Query()] = None,
) -> Envelope[AgentsPageV2]:
    """Agents filtered by name, language and type; ``language[]=ar`` and ``language=ar``
    (and ``type[]``) are both read, since clients write arrays either way."""
    languages = (*(language or ()), *_bracketed(request, "language", ("ar", "en")))
    types = (*(type or ()), *_bracketed(request, "type", ("Single Prompt", "Flow Agent")))
    query = AgentQuery(page=max(1, skip), size=take, search=search or None,
                       sort_field=sortField, sort_order=sortOrder.lower(),
                       languages=tuple(languages), types=tuple(types))
    views, total, filtered = voice_agents.list_agents(session, principal, query,
                                                      secrets=runtime.secrets)
    return Envelope[AgentsPageV2](data=AgentsPageV2(
        total=total, filtered=filtered, voiceAgents=[AgentV2Public.of(v) for v in views]))


def _bracketed(request: Request, name: str, allowed: tuple[str, ...]) -> list[str]:
    """``name[]`` query values (PHP/axios style arrays), checked as ``name`` values are."""
    values = request.query_params.getlist(f"{name}[]")
    if unknown := [v for v in values if v not in allowed]:
        message = f"use {', '.join(allowed)} (got {', '.join(map(repr, unknown))})"
        raise ValidationFailed(f"Invalid request: {name}[]: {message}",
                               data=[{"field": f"{name}[]", "message": message}])
    return values


@router.get(V2 + "/{voiceAgentId}", dependencies=[READ], response_model=V2Answer,
            responses=error_responses(*AUTHENTICATED, 404))
def get_agent_v2(voiceAgentId: str, session: SessionDep, principal: PrincipalDep,
                 runtime: RuntimeDep) -> V2Answer:
    """One agent, nested."""
    view = voice_agents.read_agent(session, principal, voiceAgentId, secrets=runtime.secrets)
    return V2Answer(data=AgentV2Public.of(view))


@router.patch(V2 + "/{voiceAgentId}", dependencies=[JOBS], response_model=V2Answer,
              responses=error_responses(*AUTHENTICATED, 404))
def update_agent_v2(voiceAgentId: str, body: AgentV2Body, session: SessionDep,
                    principal: PrincipalDep, runtime: RuntimeDep) -> V2Answer:
    """Change the parts sent; nested objects change only the fields they carry."""
    view = voice_agents.update_agent(session, principal, voiceAgentId, body.changes(),
                                     settings=runtime.settings, secrets=runtime.secrets)
    return V2Answer(data=AgentV2Public.of(view), message="Voice agent updated successfully",
                    messageKey="VoiceAgentUpdatedSuccessfully")


@router.delete(V1 + "/{voiceAgentId}", dependencies=[JOBS], response_model=DeletedAnswer,
               responses=error_responses(*AUTHENTICATED, 404))
@router.delete(V2 + "/{voiceAgentId}", dependencies=[JOBS], response_model=DeletedAnswer,
               responses=error_responses(*AUTHENTICATED, 404))
def delete_agent(voiceAgentId: str, session: SessionDep, principal: PrincipalDep
                 ) -> DeletedAnswer:
    """Delete an agent (an extension: Hamsa documents no delete); its number is unassigned.
    The same on both versions, since the answer names only the id."""
    voice_agents.delete_agent(session, principal, voiceAgentId)
    return DeletedAnswer(data=AgentDeleted(id=voiceAgentId),
                         message="Voice agent deleted successfully",
                         messageKey="VoiceAgentDeletedSuccessfully")
