"""Voice-agent conversations as records: one conversation (what the SDK polls after a call),
the minimal call list, terminate, and the newer SDK's LiveKit routes (501: not configured).

Registered before ``voice_agents``, whose ``/v1/voice-agents/{voiceAgentId}`` would otherwise
be tried first for these fixed paths.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from hams.api.deps import JOBS, READ, LinksDep, PrincipalDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses, iso
from hams.api.schemas.conversations import (
    CallsPage,
    CallStatus,
    CallSummary,
    ConversationPublic,
    RoomConversation,
    RoomRequest,
    RoomToken,
    TerminateAnswer,
    TerminationRequested,
)
from hams.api.schemas.paging import MAX_PAGE
from hams.services import conversation_views
from hams.services.conversation_views import CallQuery

router = APIRouter(tags=["Voice-agent conversations"])
BASE = "/v1/voice-agents"
ONE = BASE + "/conversation/{conversationId}"
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
ConversationId = Annotated[str, Path(max_length=100)]
EpochMs = Annotated[int | None, Query(ge=0, le=MAX_EPOCH_MS,
                                      description="UTC epoch milliseconds, inclusive")]
Statuses = Annotated[list[CallStatus] | None, Query(description="Repeat to pass several")]
ConversationAnswer = Envelope[ConversationPublic]
CallsAnswer = Envelope[CallsPage]
ROOM = error_responses(*AUTHENTICATED, 501)


@router.get(ONE, dependencies=[READ], response_model=ConversationAnswer,
            responses=error_responses(*AUTHENTICATED, 404))
def get_conversation(conversationId: ConversationId, session: SessionDep,
                     principal: PrincipalDep, links: LinksDep,
                     jobId: Annotated[str | None, Query(max_length=100)] = None
                     ) -> ConversationAnswer:
    """Get a conversation: its status, log, transcript, recording, metrics and outcome."""
    view = conversation_views.read_conversation(session, principal, conversationId,
                                                job_id=jobId, links=links)
    return ConversationAnswer(data=ConversationPublic.of(view), message="Success")


@router.get(ONE + "/terminate", dependencies=[JOBS], response_model=TerminateAnswer,
            responses=error_responses(*AUTHENTICATED, 404, 409))
def terminate_conversation(conversationId: ConversationId, session: SessionDep,
                           principal: PrincipalDep) -> TerminateAnswer:
    """End a live conversation (the process holding its socket ends it within a second)."""
    job, row = conversation_views.terminate(session, principal, conversationId)
    return TerminateAnswer(data=TerminationRequested(
        id=job.id, status=job.status, terminateRequestedAt=iso(row.terminate_requested_at)))


@router.get(BASE + "/conversations/minimal-list", dependencies=[READ],
            response_model=CallsAnswer, responses=error_responses(*AUTHENTICATED))
def list_conversations(
    session: SessionDep, principal: PrincipalDep,
    voiceAgentId: Annotated[str | None, Query(max_length=100)] = None,
    status: Statuses = None,
    status_brackets: Annotated[list[CallStatus] | None, Query(alias="status[]")] = None,
    startTime: EpochMs = None, endTime: EpochMs = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    perPage: Annotated[int, Query(ge=1, le=200)] = 100,
) -> CallsAnswer:
    """The project's conversations, newest first: filters by agent, status and creation time."""
    query = CallQuery(voice_agent_id=voiceAgentId,
                      statuses=(*(status or ()), *(status_brackets or ())),
                      start=startTime, end=endTime, page=page, per_page=perPage)
    rows, total, filtered = conversation_views.list_calls(session, principal, query)
    return CallsAnswer(data=CallsPage(total=total, filtered=filtered,
                                      calls=[CallSummary.of(row) for row in rows]))


@router.post(BASE + "/room/participant-token", dependencies=[JOBS],
             response_model=Envelope[RoomToken], responses=ROOM)
def participant_token(body: RoomRequest | None = None) -> Envelope[RoomToken]:
    """The newer SDK's LiveKit token (501 here: LiveKit is not configured; use the WebSocket
    SDK's /v1/voice-agents/conversation-init)."""
    conversation_views.refuse_livekit_room("POST /v1/voice-agents/room/participant-token")


@router.post(BASE + "/room/conversation-init", dependencies=[JOBS],
             response_model=Envelope[RoomConversation], responses=ROOM)
def room_conversation_init(body: RoomRequest | None = None) -> Envelope[RoomConversation]:
    """The newer SDK's LiveKit conversation start (501 here: LiveKit is not configured)."""
    conversation_views.refuse_livekit_room("POST /v1/voice-agents/room/conversation-init")
