"""Job Routes: read, list, create (v2), cancel and delete jobs of the caller's project."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Body, Header, Query

from hams.api.deps import JOBS, READ, LinksDep, PrincipalDep, RuntimeDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.jobs import (
    DeliveryPublic,
    JobCreated,
    JobDeleted,
    JobEnvelope,
    JobListItem,
    JobListQuery,
    JobPublic,
    JobRead,
    JobRun,
    JobsPage,
    JobsPageV2,
    JobSummary,
)
from hams.api.schemas.paging import MAX_PAGE
from hams.api.schemas.transcription import JobCreateV2, transcription_request
from hams.errors import ValidationFailed
from hams.services import jobs as job_service
from hams.services.idempotency import fingerprint
from hams.services.transcription import submit_and_wait_transcription

router = APIRouter(tags=["Jobs"])
MAX_WAIT_SECONDS = 60
READS = error_responses(*AUTHENTICATED, 404, 503)  # 404: the job, or a projectId not the key's
CREATES = error_responses(*AUTHENTICATED, 402, 404, 409, 503)  # quota, deleted job, key reuse
PROJECT = Query(None, alias="projectId")
# (?i) is Python's: the document says the same in a pattern every JSON Schema tool reads
ANY_CASE_ORDER = "^([aA][sS][cC]|[dD][eE][sS][cC])$"

PageAnswer = Envelope[JobsPage]
PageV2Answer = Envelope[JobsPageV2]
SummaryAnswer = Envelope[JobSummary]
CreatedAnswer = Envelope[JobRun | JobCreated]
DeletedAnswer = Envelope[JobDeleted]
DeliveriesAnswer = Envelope[list[DeliveryPublic]]


@router.get("/v1/jobs", dependencies=[READ], response_model=JobRead, responses=READS)
async def get_job(
    runtime: RuntimeDep, links: LinksDep, principal: PrincipalDep,
    job_id: str = Query(alias="jobId", min_length=1),
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS),
) -> JobRead:
    """Get job details by id; ``wait`` long-polls up to 60 s until the job is finished."""
    view = await job_service.read_job(runtime.db, principal, job_id, wait=wait, links=links)
    return JobRead(previewUrl=view.preview_url,
                   data=JobPublic.from_job(view.job).with_media_url(view.media_url))


@router.post("/v1/jobs/all", dependencies=[READ], response_model=PageAnswer,
             responses=READS)
def list_jobs_v1(
    session: SessionDep, principal: PrincipalDep, project_id: str | None = PROJECT,
    take: int | None = Query(None, ge=1, le=1000),
    skip: int | None = Query(None, ge=0, le=MAX_PAGE),
    body: JobListQuery | None = Body(None),
) -> PageAnswer:
    """List jobs; take/skip in the query or the body, skip being a 1-based page number."""
    body = body or JobListQuery()
    size = body.take or take or 10
    page = max(1, body.skip or skip or 1)
    sort = body.sort
    query = job_service.JobQuery(
        project_id=project_id, status=body.status, type=body.type, search=body.search,
        sort_field=sort.field if sort else "createdAt",
        descending=(sort.direction.lower() == "desc") if sort else True,
        limit=size, offset=(page - 1) * size)
    rows, total, filtered = job_service.list_jobs(session, principal, query)
    return PageAnswer(data=JobsPage(jobs=[JobSummary.from_job(j) for j in rows],
                                    total=total, filtered=filtered))


@router.get("/v2/jobs", dependencies=[READ], response_model=PageV2Answer,
            responses=READS)
def list_jobs_v2(
    session: SessionDep, principal: PrincipalDep, project_id: str | None = PROJECT,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(10, alias="perPage", ge=1, le=200),
    sort_by: str = Query("createdAt", alias="sortBy"),
    order_by: str = Query("desc", alias="orderBy", pattern="^(?i)(asc|desc)$",
                          json_schema_extra={"pattern": ANY_CASE_ORDER}),
    status: str | None = None, type: str | None = None,
    search: str | None = Query(None, max_length=500),
) -> PageV2Answer:
    """List jobs, v2 paging (page, perPage) with totalCount and totalPages."""
    if sort_by not in ("totalCost", "usageTime", "createdAt", "updatedAt"):
        raise ValidationFailed("sortBy must be totalCost, usageTime, createdAt or updatedAt")
    query = job_service.JobQuery(project_id=project_id, status=status, type=type, search=search,
                                 sort_field=sort_by, descending=order_by.lower() == "desc",
                                 limit=per_page, offset=(page - 1) * per_page)
    rows, _, filtered = job_service.list_jobs(session, principal, query)
    return PageV2Answer(data=JobsPageV2(
        jobs=[JobListItem.from_job(j) for j in rows], page=page, totalCount=filtered,
        totalPages=job_service.total_pages(filtered, per_page)))


@router.get("/v2/jobs/view/{job_id}", dependencies=[READ],
            response_model=SummaryAnswer, responses=READS)
def view_job_v2(job_id: str, session: SessionDep, principal: PrincipalDep,
                project_id: str | None = PROJECT) -> SummaryAnswer:
    """Get a single job as the v2 summary object."""
    job = job_service.get_job(session, principal, job_id, project_id)
    return SummaryAnswer(data=JobSummary.from_job(job))


@router.post("/v2/jobs", dependencies=[JOBS], response_model=CreatedAnswer,
             responses=CREATES)
async def create_job_v2(
    body: JobCreateV2, runtime: RuntimeDep, principal: PrincipalDep,
    idempotency_key: str | None = Header(None),
) -> CreatedAnswer:
    """Create a transcription job; processingType=sync waits for it (bounded by a setting)."""
    sync = body.processingType == "sync"
    job = await submit_and_wait_transcription(
        runtime.db, principal, transcription_request(body), settings=runtime.settings,
        models=runtime.models, idempotency_key=idempotency_key,
        fingerprint=fingerprint(body.model_dump()),
        wait_seconds=runtime.settings.sync_wait_seconds if sync else 0)
    message = "Transcription started, you will receive an email when it's ready"
    if not sync:
        return CreatedAnswer(message=message, data=JobCreated(jobId=job.id))
    return CreatedAnswer(
        data=JobRun.from_job(job),
        message="Transcription finished" if job.status != "PENDING" else message)


@router.post("/v1/jobs/{job_id}/cancel", dependencies=[JOBS], response_model=JobEnvelope,
             responses=error_responses(*AUTHENTICATED, 404, 409, 503))
def cancel_job(job_id: str, session: SessionDep, principal: PrincipalDep) -> JobEnvelope:
    """Cancel a job that has not finished (beyond Hamsa); 409 once it has."""
    job = job_service.cancel_job(session, principal, job_id)
    return JobEnvelope(message="Job cancelled", data=JobPublic.from_job(job))


@router.delete("/v1/jobs/{job_id:uuid}", dependencies=[JOBS],  # uuid: other paths stay 404
               response_model=DeletedAnswer, responses=READS)
def delete_job(job_id: UUID, runtime: RuntimeDep, session: SessionDep,
               principal: PrincipalDep) -> DeletedAnswer:
    """Delete a job, its webhook deliveries and its stored media (beyond Hamsa)."""
    job_service.delete_job(session, principal, str(job_id), storage=runtime.storage)
    return DeletedAnswer(message="Job deleted", data=JobDeleted(id=str(job_id)))


@router.get("/v1/jobs/{job_id}/webhook-deliveries", dependencies=[READ],
            response_model=DeliveriesAnswer, responses=READS)
def webhook_deliveries(job_id: str, session: SessionDep,
                       principal: PrincipalDep) -> DeliveriesAnswer:
    """The webhook deliveries of a job and every attempt made (beyond Hamsa)."""
    logs = job_service.list_deliveries(session, principal, job_id)
    return DeliveriesAnswer(data=[DeliveryPublic.from_rows(log.delivery, log.attempts)
                                  for log in logs])
