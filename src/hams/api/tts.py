"""Text to Speech Routes: the voice catalog, TTS jobs and TTS histories."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request

from hams.api.deps import (
    JOBS,
    READ,
    LinksDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    base_url,
)
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.paging import MAX_PAGE
from hams.api.schemas.tts import (
    HistoriesPage,
    HistoryCreate,
    TtsHistoryPublic,
    TtsJobCreate,
    TtsJobCreated,
)
from hams.api.schemas.voices import VoicePublic, VoicesPageV2
from hams.services import tts_jobs
from hams.services.jobs import total_pages
from hams.services.voices import list_voices

router = APIRouter(tags=["Text to speech"])
VoicesAnswer = Envelope[list[VoicePublic]]
VoicesPageAnswer = Envelope[VoicesPageV2]
TtsJobAnswer = Envelope[TtsJobCreated]
HistoryCreatedAnswer = Envelope[list[TtsHistoryPublic]]
HistoriesAnswer = Envelope[HistoriesPage]
HistoryAnswer = Envelope[TtsHistoryPublic]


@router.get("/v1/tts/voices", dependencies=[READ], response_model=VoicesAnswer,
            responses=error_responses(*AUTHENTICATED))
def voices_v1(runtime: RuntimeDep, session: SessionDep, take: int = Query(100, ge=1, le=1000),
              skip: int = Query(0, ge=0, le=MAX_PAGE),
              dialect: str | None = None) -> VoicesAnswer:
    """List voices; ``skip`` is an offset (as Pipedream pages with skip = page × take)."""
    rows, _ = list_voices(session, offset=skip, limit=take, dialect=dialect)
    return VoicesAnswer(data=[VoicePublic.listed(v, runtime.tts.engine_label(v)) for v in rows])


@router.get("/v2/tts/voices", dependencies=[READ], response_model=VoicesPageAnswer,
            responses=error_responses(*AUTHENTICATED))
def voices_v2(runtime: RuntimeDep, session: SessionDep,
              q: str | None = Query(None, max_length=100),
              page: int = Query(1, ge=1, le=MAX_PAGE),
              per_page: int = Query(20, alias="perPage", ge=1, le=200),
              dialect: str | None = None) -> VoicesPageAnswer:
    """List voices with v2 paging and a name search."""
    rows, total = list_voices(session, offset=(page - 1) * per_page, limit=per_page, query=q,
                              dialect=dialect)
    return VoicesPageAnswer(data=VoicesPageV2(
        voices=[VoicePublic.listed(v, runtime.tts.engine_label(v)) for v in rows], page=page,
        totalCount=total, totalPages=total_pages(total, per_page)))


@router.post("/v1/jobs/text-to-speech", dependencies=[JOBS], response_model=TtsJobAnswer,
             responses=error_responses(*AUTHENTICATED, 402, 404, 409))
def create_tts_job(body: TtsJobCreate, request: Request, runtime: RuntimeDep,
                   session: SessionDep, principal: PrincipalDep,
                   idempotency_key: str | None = Header(None)) -> TtsJobAnswer:
    """Queue speech synthesis; the finished job's mediaUrl is the WAV."""
    job = tts_jobs.submit_tts_job(session, principal, tts_jobs.TtsRequest(
        voice=body.voiceId, text=body.text, title=body.title, webhook_url=body.webhookUrl,
        webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None,
        dictionary_ids=body.voiceDictionaryIds, base_url=base_url(request, runtime.settings),
    ), idempotency_key, settings=runtime.settings)
    return TtsJobAnswer(data=TtsJobCreated.of(job), message="TTS job created successfully")


@router.post("/v2/tts/histories", dependencies=[JOBS], response_model=HistoryCreatedAnswer,
             responses=error_responses(*AUTHENTICATED, 402, 404, 503))
def create_history(body: HistoryCreate, runtime: RuntimeDep, links: LinksDep,
                   principal: PrincipalDep) -> HistoryCreatedAnswer:
    """Synthesize now and keep the audio in the project's TTS history."""
    entry = tts_jobs.create_history(
        runtime.db, principal, tts_jobs.HistoryRequest(
            voice_id=body.ttsVoiceId, script=body.script, config=body.config,
            dictionary_ids=body.voiceDictionaryIds),
        settings=runtime.settings, tts=runtime.tts, storage=runtime.storage,
        links=links)
    return HistoryCreatedAnswer(data=[TtsHistoryPublic.of(entry)],
                                message="History created successfully")


@router.get("/v2/tts/histories", dependencies=[READ], response_model=HistoriesAnswer,
            responses=error_responses(*AUTHENTICATED, 404))
def list_histories(links: LinksDep, session: SessionDep, principal: PrincipalDep,
                   page: int = Query(1, ge=1, le=MAX_PAGE),
                   per_page: int = Query(10, alias="perPage", ge=1, le=200),
                   project_id: str | None = Query(None, alias="projectId"),
                   ) -> HistoriesAnswer:
    """The project's TTS histories, newest first."""
    entries, total = tts_jobs.list_histories(session, principal, project_id=project_id,
                                             page=page, per_page=per_page, links=links)
    return HistoriesAnswer(data=HistoriesPage(
        ttsHistories=[TtsHistoryPublic.of(entry) for entry in entries], page=page,
        totalCount=total, totalPages=total_pages(total, per_page)))


@router.get("/v2/tts/histories/{history_id}", dependencies=[READ], response_model=HistoryAnswer,
            responses=error_responses(*AUTHENTICATED, 404))
def get_history(history_id: str, links: LinksDep, session: SessionDep,
                principal: PrincipalDep,
                project_id: str | None = Query(None, alias="projectId"),
                ) -> HistoryAnswer:
    """One TTS history."""
    entry = tts_jobs.get_history(session, principal, history_id, project_id=project_id,
                                 links=links)
    return HistoryAnswer(data=TtsHistoryPublic.of(entry))
