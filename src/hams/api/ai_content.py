"""AI Content Routes: summaries, keywords, titles and posts from a transcription."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query

from hams.api.deps import JOBS, READ, PrincipalDep, RuntimeDep, SessionDep
from hams.api.schemas.ai_content import (
    AiContentCreate,
    AiContentCustomCreate,
    AiContentEstimate,
    AiContentStarted,
    TranscriptionAiContentCreate,
)
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.jobs import JobEnvelope, JobPublic
from hams.api.schemas.transcription import transcription_request
from hams.services import ai_content
from hams.services.ai_content import ContentSpec, PartAsk

router = APIRouter(tags=["AI content"])
JobIdQuery = Query(alias="jobId", min_length=1, max_length=100)
CREATES = error_responses(*AUTHENTICATED, 402, 404, 409, 503)  # quota, source, key reuse
READS = error_responses(*AUTHENTICATED, 404, 503)
CREATED = "AI content job created successfully"
EstimateAnswer = Envelope[AiContentEstimate]
StartedAnswer = Envelope[AiContentStarted]


def _spec(body: AiContentCreate, asks: list[PartAsk]) -> ContentSpec:
    return ContentSpec(asks=asks, language=body.language, title=body.title,
                       webhook_url=body.webhookUrl,
                       webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None)


@router.post("/v1/jobs/ai-content", dependencies=[JOBS], response_model=JobEnvelope,
             responses=CREATES)
def create_ai_content(body: AiContentCreate, runtime: RuntimeDep, session: SessionDep,
                      principal: PrincipalDep, job_id: str = JobIdQuery,
                      idempotency_key: str | None = Header(None)) -> JobEnvelope:
    """Queue AI content (aiParts) for a completed transcription job."""
    spec = _spec(body, [PartAsk(name) for name in body.aiParts])
    job = ai_content.submit_ai_content(session, principal, job_id, spec, idempotency_key,
                                       settings=runtime.settings, content=runtime.content)
    return JobEnvelope(message=CREATED, data=JobPublic.from_job(job))


@router.post("/v1/jobs/ai-content/custom", dependencies=[JOBS], response_model=JobEnvelope,
             responses=CREATES)
def create_custom_ai_content(body: AiContentCustomCreate, runtime: RuntimeDep,
                             session: SessionDep, principal: PrincipalDep,
                             job_id: str = JobIdQuery,
                             idempotency_key: str | None = Header(None)) -> JobEnvelope:
    """Queue AI content with custom prompts (prompts{part: prompt} or aiParts objects)."""
    asks = ai_content.with_prompts([PartAsk(p) if isinstance(p, str) else
                                    PartAsk(p.aiPart, p.language, p.prompt)
                                    for p in body.aiParts], body.prompts)
    job = ai_content.submit_ai_content(session, principal, job_id, _spec(body, asks),
                                       idempotency_key, settings=runtime.settings,
                                       content=runtime.content)
    return JobEnvelope(message=CREATED, data=JobPublic.from_job(job))


@router.get("/v1/jobs/ai-content", dependencies=[READ], response_model=JobEnvelope,
            responses=READS)
def get_ai_content(session: SessionDep, principal: PrincipalDep,
                   job_id: str = JobIdQuery) -> JobEnvelope:
    """The AI content job by its id, or the newest one made from a transcription job id."""
    job = ai_content.find_ai_content(session, principal, job_id)
    return JobEnvelope(message="AI content retrieved successfully", data=JobPublic.from_job(job))


@router.get("/v1/jobs/ai-content/estimate", dependencies=[READ], response_model=EstimateAnswer,
            responses=READS)
def estimate_ai_content(runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep,
                        job_id: str = JobIdQuery) -> EstimateAnswer:
    """What AI content for a completed transcription would cost."""
    estimate = ai_content.estimate(session, principal, job_id, settings=runtime.settings,
                                   content=runtime.content)
    return EstimateAnswer(data=AiContentEstimate.from_estimate(estimate))


@router.post("/v2/jobs/generate-transcription-ai-content", dependencies=[JOBS],
             response_model=StartedAnswer, responses=CREATES)
def transcribe_and_generate(body: TranscriptionAiContentCreate, runtime: RuntimeDep,
                            session: SessionDep, principal: PrincipalDep,
                            idempotency_key: str | None = Header(None)) -> StartedAnswer:
    """Transcribe a media URL, then write AI content from it: one call, two linked jobs."""
    spec = ContentSpec(asks=[PartAsk(name) for name in body.aiParts],
                       language=body.aiContentLanguage, title=body.aiContentTitle,
                       date=body.aiContentDate, instructions=body.aiContentText,
                       webhook_url=body.webhookUrl,
                       webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None)
    job = ai_content.submit_transcription_with_content(
        session, principal, transcription_request(body, webhook=False), spec, idempotency_key,
        settings=runtime.settings, models=runtime.models, content=runtime.content)
    return StartedAnswer(message="AI Content started, you will receive en email when it's ready",
                         data=AiContentStarted.from_job(job))
