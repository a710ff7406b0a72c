"""Text to Speech Routes: the voice catalog, TTS jobs and TTS histories."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request

from hams.api.deps import PrincipalDep, RuntimeDep, SessionDep, base_url, get_principal
from hams.api.envelope import ok
from hams.api.jobs import check_project
from hams.api.schemas.paging import MAX_PAGE
from hams.api.schemas.tts import HistoryCreate, TtsJobCreate
from hams.services import tts_jobs
from hams.services.jobs import job_public, total_pages
from hams.services.voices import list_voices, voice_public

router = APIRouter(tags=["Text to speech"], dependencies=[Depends(get_principal)])


@router.get("/v1/tts/voices")
def voices_v1(runtime: RuntimeDep, session: SessionDep, take: int = Query(100, ge=1, le=1000),
              skip: int = Query(0, ge=0, le=MAX_PAGE), dialect: str | None = None) -> dict:
    """List voices; ``skip`` is an offset (as Pipedream pages with skip = page × take)."""
    rows, _ = list_voices(session, offset=skip, limit=take, dialect=dialect)
    return ok([voice_public(v, runtime.tts.engine_label(v)) for v in rows])


@router.get("/v2/tts/voices")
def voices_v2(runtime: RuntimeDep, session: SessionDep,
              q: str | None = Query(None, max_length=100),
              page: int = Query(1, ge=1, le=MAX_PAGE),
              per_page: int = Query(20, alias="perPage", ge=1, le=200),
              dialect: str | None = None) -> dict:
    """List voices with v2 paging and a name search."""
    rows, total = list_voices(session, offset=(page - 1) * per_page, limit=per_page, query=q,
                              dialect=dialect)
    return ok({"voices": [voice_public(v, runtime.tts.engine_label(v)) for v in rows],
               "page": page, "totalCount": total,
               "totalPages": total_pages(total, per_page)})


@router.post("/v1/jobs/text-to-speech")
def create_tts_job(body: TtsJobCreate, request: Request, runtime: RuntimeDep,
                   session: SessionDep, principal: PrincipalDep,
                   idempotency_key: str | None = Header(None)) -> dict:
    """Queue speech synthesis; the finished job's mediaUrl is the WAV."""
    job = tts_jobs.submit_tts_job(session, runtime, principal, tts_jobs.TtsRequest(
        voice=body.voiceId, text=body.text, title=body.title, webhook_url=body.webhookUrl,
        webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None,
        dictionary_ids=body.voiceDictionaryIds, base_url=base_url(request, runtime.settings),
    ), idempotency_key)
    return ok({**job_public(job), "jobId": job.id}, message="TTS job created successfully")


@router.post("/v2/tts/histories")
def create_history(body: HistoryCreate, request: Request, runtime: RuntimeDep,
                   principal: PrincipalDep) -> dict:
    """Synthesize now and keep the audio in the project's TTS history."""
    history = tts_jobs.create_history(runtime, principal, voice_id=body.ttsVoiceId,
                                      script=body.script, config=body.config,
                                      dictionary_ids=body.voiceDictionaryIds)
    with runtime.db.session() as session:
        items = tts_jobs.histories_public(session, runtime,
                                          base_url(request, runtime.settings), [history])
    return ok(items, message="History created successfully")


@router.get("/v2/tts/histories")
def list_histories(request: Request, runtime: RuntimeDep, session: SessionDep,
                   principal: PrincipalDep, page: int = Query(1, ge=1, le=MAX_PAGE),
                   per_page: int = Query(10, alias="perPage", ge=1, le=200),
                   project_id: str | None = Query(None, alias="projectId")) -> dict:
    """The project's TTS histories, newest first."""
    check_project(principal, project_id)
    rows, total = tts_jobs.list_histories(session, principal, page=page, per_page=per_page)
    base = base_url(request, runtime.settings)
    return ok({"ttsHistories": tts_jobs.histories_public(session, runtime, base, rows),
               "page": page, "totalCount": total, "totalPages": total_pages(total, per_page)})


@router.get("/v2/tts/histories/{history_id}")
def get_history(history_id: str, request: Request, runtime: RuntimeDep, session: SessionDep,
                principal: PrincipalDep,
                project_id: str | None = Query(None, alias="projectId")) -> dict:
    """One TTS history."""
    check_project(principal, project_id)
    history = tts_jobs.get_history(session, principal, history_id)
    [item] = tts_jobs.histories_public(session, runtime, base_url(request, runtime.settings),
                                       [history])
    return ok(item)
