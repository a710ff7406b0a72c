"""Web tools: versioned HTTP functions an agent may call (Voice Agents routes, v1 and v2).

Every route answers alike under /v1 and /v2. ``{tool_id}`` is a version's id or a
persistentId (then the latest version, or ``?version=``). Extensions over Hamsa: DELETE (every
version) and ``POST …/{tool_id}/test``, which calls the tool once and reports the answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Path, Query

from hams.api.deps import JOBS, READ, PrincipalDep, RuntimeDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.paging import MAX_PAGE
from hams.api.schemas.web_tools import (
    ID,
    TEXT,
    WebToolCreate,
    WebToolDeleted,
    WebToolList,
    WebToolPublic,
    WebToolTest,
    WebToolTestResult,
    WebToolUpdate,
)
from hams.services import web_tool_calls, web_tools

router = APIRouter(tags=["Web tools"])
V1, V2 = "/v1/voice-agents/web-tool", "/v2/voice-agents/web-tool"
ToolAnswer = Envelope[WebToolPublic]
ListAnswer = Envelope[WebToolList]
DeletedAnswer = Envelope[WebToolDeleted]
TestAnswer = Envelope[WebToolTestResult]
ToolId = Path(pattern=ID, description="A version's id, or a persistentId (its latest version)")
Version = Query(None, ge=1, le=MAX_PAGE, description="This version of the tool")
FOUND = error_responses(*AUTHENTICATED, 404)


@router.post(V2, dependencies=[JOBS], response_model=ToolAnswer,
             responses=error_responses(*AUTHENTICATED))
@router.post(V1, dependencies=[JOBS], response_model=ToolAnswer,
             responses=error_responses(*AUTHENTICATED))
def create_web_tool(body: WebToolCreate, runtime: RuntimeDep, session: SessionDep,
                    principal: PrincipalDep) -> ToolAnswer:
    """Create a web tool (version 1); its serverUrl must pass the URL guard."""
    tool = web_tools.create_web_tool(session, principal, body.fields(),
                                     settings=runtime.settings, secrets=runtime.secrets)
    return ToolAnswer(data=WebToolPublic.of(tool), message="Web tool created successfully",
                      messageKey="WebToolCreatedSuccessfully")


@router.get(V2 + "/list", dependencies=[READ], response_model=ListAnswer,
            responses=error_responses(*AUTHENTICATED))
@router.get(V1 + "/list", dependencies=[READ], response_model=ListAnswer,
            responses=error_responses(*AUTHENTICATED))
def list_web_tools(
    session: SessionDep, principal: PrincipalDep,
    skip: int = Query(1, ge=0, le=MAX_PAGE, description="Page number, from 1 (0 means 1)"),
    take: int = Query(10, ge=1, le=1000, description="Page size"),
    collection_id: str | None = Query(None, alias="collectionId", max_length=100,
                                      pattern=TEXT),
    is_active: bool | None = Query(None, alias="isActive"),
    return_uncategorized: bool = Query(False, alias="returnUncategorized",
                                       description="Also (or, without collectionId, only) "
                                       "tools in no collection"),
    search: str | None = Query(None, max_length=500, pattern=TEXT,
                               description="In the name or the description"),
    type: str | None = Query(None, max_length=30, pattern=TEXT),
    voice_agent_id: str | None = Query(None, alias="voiceAgentId", max_length=100,
                                       pattern=TEXT),
) -> ListAnswer:
    """List the project's web tools, each in its latest version."""
    query = web_tools.ToolQuery(page=max(skip, 1), take=take, collection_id=collection_id,
                                is_active=is_active, search=search or None, type=type or None,
                                return_uncategorized=return_uncategorized,
                                voice_agent_id=voice_agent_id)
    rows, total, filtered = web_tools.list_web_tools(session, principal, query)
    return ListAnswer(data=WebToolList(total=total, filtered=filtered,
                                       items=[WebToolPublic.of(t) for t in rows]))


@router.get(V2 + "/{tool_id}", dependencies=[READ], response_model=ToolAnswer,
            responses=FOUND)
@router.get(V1 + "/{tool_id}", dependencies=[READ], response_model=ToolAnswer,
            responses=FOUND)
def get_web_tool(session: SessionDep, principal: PrincipalDep, tool_id: str = ToolId,
                 version: int | None = Version) -> ToolAnswer:
    """One web tool: a version by its id, or the latest version of a persistentId."""
    tool = web_tools.get_web_tool(session, principal, tool_id, version)
    return ToolAnswer(data=WebToolPublic.of(tool))


@router.patch(V2 + "/{tool_id}", dependencies=[JOBS], response_model=ToolAnswer,
              responses=error_responses(*AUTHENTICATED, 404, 409))
@router.patch(V1 + "/{tool_id}", dependencies=[JOBS], response_model=ToolAnswer,
              responses=error_responses(*AUTHENTICATED, 404, 409))
def update_web_tool(body: WebToolUpdate, runtime: RuntimeDep, session: SessionDep,
                    principal: PrincipalDep, tool_id: str = ToolId) -> ToolAnswer:
    """Update a web tool: a new version under the same persistentId, unsent fields kept."""
    tool = web_tools.update_web_tool(session, principal, tool_id, body.fields(),
                                     settings=runtime.settings, secrets=runtime.secrets)
    return ToolAnswer(data=WebToolPublic.of(tool), message="Web tool updated successfully",
                      messageKey="WebToolUpdatedSuccessfully")


@router.delete(V2 + "/{tool_id}", dependencies=[JOBS], response_model=DeletedAnswer,
               responses=FOUND)
@router.delete(V1 + "/{tool_id}", dependencies=[JOBS], response_model=DeletedAnswer,
               responses=FOUND)
def delete_web_tool(session: SessionDep, principal: PrincipalDep,
                    tool_id: str = ToolId) -> DeletedAnswer:
    """Delete a web tool: every version, and every agent's link to it."""
    persistent_id, count = web_tools.delete_web_tool(session, principal, tool_id)
    return DeletedAnswer(data=WebToolDeleted(id=tool_id, persistentId=persistent_id,
                                             deletedVersions=count),
                         message="Web tool deleted successfully",
                         messageKey="WebToolDeletedSuccessfully")


@router.post(V2 + "/{tool_id}/test", dependencies=[JOBS], response_model=TestAnswer,
             responses=FOUND)
@router.post(V1 + "/{tool_id}/test", dependencies=[JOBS], response_model=TestAnswer,
             responses=FOUND)
def test_web_tool(runtime: RuntimeDep, principal: PrincipalDep, tool_id: str = ToolId,
                  version: int | None = Version,
                  body: WebToolTest | None = Body(None)) -> TestAnswer:
    """Call a web tool once with the given arguments: status, latency and the answer. The call
    waits at most 15 s (or the tool's shorter timeOut); a few run at once per server process,
    another is a 429 with Retry-After."""
    arguments = (body or WebToolTest()).chosen()
    result = web_tool_calls.try_web_tool(runtime.db, principal, tool_id, arguments,
                                         version=version, settings=runtime.settings,
                                         secrets=runtime.secrets)
    return TestAnswer(data=WebToolTestResult.of(result))
