"""AI Content Routes: summaries, keywords, titles and posts from a transcription."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query

from hams.api.deps import PrincipalDep, RuntimeDep, SessionDep, get_principal
from hams.api.envelope import ok
from hams.api.schemas.ai_content import (
    AiContentCreate,
    AiContentCustomCreate,
    TranscriptionAiContentCreate,
)
from hams.services import ai_content
from hams.services.ai_content import ContentSpec, PartAsk
from hams.services.jobs import job_public
from hams.services.transcription import TranscriptionRequest

router = APIRouter(tags=["AI content"], dependencies=[Depends(get_principal)])
JobIdQuery = Query(alias="jobId", min_length=1, max_length=100)


def _spec(body: AiContentCreate, asks: list[PartAsk]) -> ContentSpec:
    return ContentSpec(asks=asks, language=body.language, title=body.title,
                       webhook_url=body.webhookUrl,
                       webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None)


@router.post("/v1/jobs/ai-content")
def create_ai_content(body: AiContentCreate, runtime: RuntimeDep, session: SessionDep,
                      principal: PrincipalDep, job_id: str = JobIdQuery,
                      idempotency_key: str | None = Header(None)) -> dict:
    """Queue AI content (aiParts) for a completed transcription job."""
    spec = _spec(body, [PartAsk(name) for name in body.aiParts])
    job = ai_content.submit_ai_content(session, runtime, principal, job_id, spec,
                                       idempotency_key)
    return ok(job_public(job), message="AI content job created successfully")


@router.post("/v1/jobs/ai-content/custom")
def create_custom_ai_content(body: AiContentCustomCreate, runtime: RuntimeDep,
                             session: SessionDep, principal: PrincipalDep,
                             job_id: str = JobIdQuery,
                             idempotency_key: str | None = Header(None)) -> dict:
    """Queue AI content with custom prompts (prompts{part: prompt} or aiParts objects)."""
    asks = ai_content.with_prompts([PartAsk(p) if isinstance(p, str) else
                                    PartAsk(p.aiPart, p.language, p.prompt)
                                    for p in body.aiParts], body.prompts)
    job = ai_content.submit_ai_content(session, runtime, principal, job_id,
                                       _spec(body, asks), idempotency_key)
    return ok(job_public(job), message="AI content job created successfully")


@router.get("/v1/jobs/ai-content")
def get_ai_content(session: SessionDep, principal: PrincipalDep,
                   job_id: str = JobIdQuery) -> dict:
    """The AI content job by its id, or the newest one made from a transcription job id."""
    job = ai_content.find_ai_content(session, principal, job_id)
    return ok(job_public(job), message="AI content retrieved successfully")


@router.get("/v1/jobs/ai-content/estimate")
def estimate_ai_content(runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep,
                        job_id: str = JobIdQuery) -> dict:
    """What AI content for a completed transcription would cost."""
    return ok(ai_content.estimate(session, runtime, principal, job_id))


@router.post("/v2/jobs/generate-transcription-ai-content")
def transcribe_and_generate(body: TranscriptionAiContentCreate, runtime: RuntimeDep,
                            session: SessionDep, principal: PrincipalDep,
                            idempotency_key: str | None = Header(None)) -> dict:
    """Transcribe a media URL, then write AI content from it: one call, two linked jobs."""
    webhook_auth = body.webhookAuth.model_dump() if body.webhookAuth else None
    request = TranscriptionRequest(
        media_url=body.mediaUrl, model=body.model, language=body.language, title=body.title,
        webhook_url=None, webhook_auth=None, return_srt=False, srt_options=None)
    spec = ContentSpec(asks=[PartAsk(name) for name in body.aiParts],
                       language=body.aiContentLanguage, title=body.aiContentTitle,
                       date=body.aiContentDate, instructions=body.aiContentText,
                       webhook_url=body.webhookUrl, webhook_auth=webhook_auth)
    job = ai_content.submit_transcription_with_content(session, runtime, principal, request,
                                                       spec, idempotency_key)
    return ok({"jobId": job.id, "transcriptionJobId": job.relevant_job_id},
              message="AI Content started, you will receive en email when it's ready",
              message_key="OPERATION_SUCCESSFUL")
