"""Talking to an agent through Hamsa's voice SDK (≤0.3.1): ``conversation-init`` makes the
conversation and answers its ``jobId``; the SDK then opens ``/stream/{jobId}?api_key=`` (its
``WS_URL`` is ``ws(s)://host/stream``) and the call runs on this process (``hams.agents``).

A socket that cannot start a call gets one ``error`` event ``{event, content, messageKey}``
and is closed: a bad key (1008), an unknown, finished or already connected conversation
(1008), this process at its conversation limit (1013). The refusal is also sent as an
``info`` event ``{event: "info", type: "error", ...}``: the SDK 0.3.1 hands only ``info`` to
the application.
"""

from __future__ import annotations

import functools
import json
import logging

from fastapi import APIRouter, Request, WebSocket
from starlette.concurrency import run_in_threadpool

from hams.agents.host import ConversationHost
from hams.api.deps import (
    JOBS,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    base_url,
    presented_key,
)
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.conversation_init import ConversationInitBody, ConversationStarted
from hams.errors import HamsError, TooManyRequests
from hams.logs import job_context
from hams.runtime import Runtime
from hams.services.keys import authenticate_key
from hams.services.live_conversations import ConversationInit, begin_live, init_conversation

log = logging.getLogger(__name__)
router = APIRouter(tags=["Voice agent conversations"])
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
RETRY_AFTER_SECONDS = 5


def conversation_host(runtime: Runtime) -> ConversationHost:
    host = runtime.conversations
    if host is None:  # a runtime built outside the app (tests): one host, started lazily
        host = runtime.conversations = ConversationHost(
            runtime.db, runtime.settings, runtime.instance_name,
            runtime.settings.agent_max_conversations)
    return host


@router.post("/v1/voice-agents/conversation-init", dependencies=[JOBS],
             response_model=Envelope[ConversationStarted],
             responses=error_responses(*AUTHENTICATED, 404, 429))
def conversation_init(body: ConversationInitBody, session: SessionDep, principal: PrincipalDep,
                      runtime: RuntimeDep, request: Request) -> Envelope[ConversationStarted]:
    """Start a conversation with an agent; open ``/stream/{jobId}`` within two minutes."""
    host = conversation_host(runtime)
    if not host.admits_another():
        raise TooManyRequests(
            f"This server is holding {host.capacity} live conversations (the most it takes, "
            "HAMS_AGENT_MAX_CONVERSATIONS); retry shortly", retry_after=RETRY_AFTER_SECONDS,
            message_key="TOO_MANY_CONVERSATIONS")
    job = init_conversation(session, principal, ConversationInit(
        voice_agent_id=body.voiceAgentId, params=body.params or {},
        voice_enablement=body.voiceEnablement, tools=body.tools,
        base_url=base_url(request, runtime.settings)),
        settings=runtime.settings, secrets=runtime.secrets, models=runtime.models)
    return Envelope[ConversationStarted](data=ConversationStarted(jobId=job.id),
                                         message="Conversation initialized successfully",
                                         messageKey="ConversationInitialized")


@router.websocket("/stream/{job_id}")
async def conversation_stream(websocket: WebSocket, job_id: str) -> None:
    """The SDK's socket for one conversation (see the module docstring)."""
    runtime: Runtime = websocket.app.state.runtime
    host = conversation_host(runtime)
    await websocket.accept()
    secret = websocket.query_params.get("api_key") or presented_key(websocket)
    try:
        principal = await run_in_threadpool(authenticate_key, runtime.db, secret)
    except HamsError as exc:
        await _refuse(websocket, exc.message, exc.message_key, POLICY_VIOLATION)
        return
    if not host.reserve():
        await _refuse(websocket, f"This server is holding {host.capacity} live conversations; "
                      "retry shortly", "TOO_MANY_CONVERSATIONS", TRY_AGAIN_LATER)
        return
    started_id = None
    try:
        try:
            start = await run_in_threadpool(functools.partial(
                begin_live, runtime.db, principal, job_id, host=host.name,
                settings=runtime.settings, secrets=runtime.secrets))
        except HamsError as exc:
            await _refuse(websocket, exc.message, exc.message_key, POLICY_VIOLATION)
            return
        started_id = start.job.id
        host.live[started_id] = None  # its lease is renewed from now on, while models load
        host.start()
        # Pipecat and the models load with the first call, not with the app
        from hams.agents.pipeline import Engines, catalog_voice
        from hams.agents.services import warm_up
        from hams.agents.session import LiveConversation, Parts

        try:
            await run_in_threadpool(warm_up, runtime.settings, runtime.models, runtime.tts,
                                    catalog_voice(start.plan))
        except Exception:  # noqa: BLE001 - the call goes on; its engines report the failure
            log.exception("conversation %s: its speech models could not be loaded", job_id)
        live = LiveConversation(websocket, principal, start, Parts(
            db=runtime.db, storage=runtime.storage, secrets=runtime.secrets,
            embedder=runtime.embedder, engines=Engines(
                settings=runtime.settings, models=runtime.models, tts=runtime.tts,
                pool=runtime.realtime)))
        host.live[started_id] = live
        with job_context(started_id):  # the call's lines (Pipecat's too) carry its id
            await live.run()
    finally:
        host.release(started_id)


async def _refuse(websocket: WebSocket, message: str, key: str, code: int) -> None:
    """The refusal as ``error`` and as ``info`` (the SDK 0.3.1 passes only ``info`` on to the
    app, as its info event), then the close."""
    error = {"event": "error", "content": message, "message": message, "messageKey": key}
    try:
        for sent in (error, {**error, "event": "info", "type": "error"}):
            await websocket.send_text(json.dumps(sent, ensure_ascii=False))
        await websocket.close(code=code, reason=key[:100])
    except RuntimeError:  # the client already went away
        pass
