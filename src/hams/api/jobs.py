"""Job Routes: read, list, create (v2), cancel and delete jobs of the caller's project."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from hams.api.deps import PrincipalDep, RuntimeDep, SessionDep, base_url, get_principal
from hams.api.envelope import ok
from hams.api.schemas.jobs import JobCreateV2, JobListQuery
from hams.api.schemas.paging import MAX_PAGE
from hams.errors import NotFound, ValidationFailed
from hams.services import jobs as job_service
from hams.services.idempotency import fingerprint
from hams.services.keys import Principal
from hams.services.links import sign_path
from hams.services.transcription import TranscriptionRequest, submit_transcription
from hams.services.tts_jobs import fresh_media_links

router = APIRouter(tags=["Jobs"], dependencies=[Depends(get_principal)])
MAX_WAIT_SECONDS = 60


def check_project(principal: Principal, project_id: str | None) -> None:
    """A projectId parameter must name the key's own project; anything else is not found."""
    if project_id and project_id != principal.project_id:
        raise NotFound(f"Project {project_id!r} not found")


def preview_url(request: Request, runtime: RuntimeDep, job_id: str) -> str:
    path = sign_path(runtime.secret_key, f"/v1/jobs/{job_id}/preview",
                     runtime.settings.signed_url_seconds)
    return base_url(request, runtime.settings) + path


@router.get("/v1/jobs")
async def get_job(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep,
    job_id: str = Query(alias="jobId", min_length=1),
    wait: float = Query(0, ge=0, le=MAX_WAIT_SECONDS),
) -> dict:
    """Get job details by id; ``wait`` long-polls up to 60 s until the job is finished."""
    job = await job_service.wait_until_finished(runtime.db, principal, job_id, wait)
    data = fresh_media_links(runtime, base_url(request, runtime.settings), job,
                             job_service.job_public(job))
    return {"success": True, "message": "Job retrieved successfully",
            "previewUrl": preview_url(request, runtime, job.id), "data": data}


@router.post("/v1/jobs/all")
def list_jobs_v1(
    session: SessionDep, principal: PrincipalDep,
    project_id: str | None = Query(None, alias="projectId"),
    take: int | None = Query(None, ge=1, le=1000),
    skip: int | None = Query(None, ge=0, le=MAX_PAGE),
    body: JobListQuery | None = Body(None),
) -> dict:
    """List jobs; take/skip in the query or the body, skip being a 1-based page number."""
    check_project(principal, project_id)
    body = body or JobListQuery()
    size = body.take or take or 10
    page = max(1, body.skip or skip or 1)
    sort = body.sort
    query = job_service.JobQuery(
        status=body.status, type=body.type, search=body.search,
        sort_field=sort.field if sort else "createdAt",
        descending=(sort.direction.lower() == "desc") if sort else True,
        limit=size, offset=(page - 1) * size)
    rows, total, filtered = job_service.list_jobs(session, principal, query)
    return ok({"jobs": [job_service.job_summary(j) for j in rows], "total": total,
               "filtered": filtered})


@router.get("/v2/jobs")
def list_jobs_v2(
    session: SessionDep, principal: PrincipalDep,
    project_id: str | None = Query(None, alias="projectId"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(10, alias="perPage", ge=1, le=200),
    sort_by: str = Query("createdAt", alias="sortBy"),
    order_by: str = Query("desc", alias="orderBy", pattern="^(?i)(asc|desc)$"),
    status: str | None = None, type: str | None = None,
    search: str | None = Query(None, max_length=500),
) -> dict:
    """List jobs, v2 paging (page, perPage) with totalCount and totalPages."""
    check_project(principal, project_id)
    if sort_by not in ("totalCost", "usageTime", "createdAt", "updatedAt"):
        raise ValidationFailed("sortBy must be totalCost, usageTime, createdAt or updatedAt")
    query = job_service.JobQuery(status=status, type=type, search=search, sort_field=sort_by,
                                 descending=order_by.lower() == "desc", limit=per_page,
                                 offset=(page - 1) * per_page)
    rows, _, filtered = job_service.list_jobs(session, principal, query)
    jobs = [{"id": j.id, "title": j.title, "mediaUrl": j.media_url,
             "mediaType": "URL" if j.media_url else None, "totalCost": j.total_cost,
             "status": j.status, "type": j.type, "createdAt": job_service.iso(j.created_at)}
            for j in rows]
    return ok({"jobs": jobs, "page": page, "totalCount": filtered,
               "totalPages": job_service.total_pages(filtered, per_page)})


@router.get("/v2/jobs/view/{job_id}")
def view_job_v2(job_id: str, session: SessionDep, principal: PrincipalDep,
                project_id: str | None = Query(None, alias="projectId")) -> dict:
    """Get a single job as the v2 summary object."""
    check_project(principal, project_id)
    return ok(job_service.job_summary(job_service.get_job(session, principal, job_id)))


@router.post("/v2/jobs")
async def create_job_v2(
    body: JobCreateV2, runtime: RuntimeDep, principal: PrincipalDep,
    idempotency_key: str | None = Header(None),
) -> dict:
    """Create a transcription job; processingType=sync waits for it (bounded by a setting)."""
    request = TranscriptionRequest(
        media_url=body.mediaUrl, model="Hamsa-General-V2.0", language=body.language,
        title=body.title, webhook_url=body.webhookUrl,
        webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None,
        return_srt=False, srt_options=None, processing_type=body.processingType)
    request_hash = fingerprint(body.model_dump())

    def submit() -> str:
        with runtime.db.session() as session:
            return submit_transcription(session, runtime.settings, runtime.models, principal,
                                        request, idempotency_key, request_hash).id

    job_id = await run_in_threadpool(submit)
    message = "Transcription started, you will receive an email when it's ready"
    if body.processingType != "sync":
        return ok({"jobId": job_id}, message=message)
    job = await job_service.wait_until_finished(runtime.db, principal, job_id,
                                                runtime.settings.sync_wait_seconds)
    return ok({"jobId": job_id, **job_service.job_public(job)},
              message="Transcription finished" if job.status != "PENDING" else message)


@router.post("/v1/jobs/{job_id}/cancel")
def cancel_job(job_id: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """Cancel a job that has not finished (beyond Hamsa)."""
    job = job_service.cancel_job(session, principal, job_id)
    return ok(job_service.job_public(job), message="Job cancelled")


@router.delete("/v1/jobs/{job_id:uuid}")  # uuid only: /v1/jobs/<other route> stays a 404
def delete_job(job_id: UUID, runtime: RuntimeDep, session: SessionDep,
               principal: PrincipalDep) -> dict:
    """Delete a job, its webhook deliveries and its stored media (beyond Hamsa)."""
    job_service.delete_job(session, runtime.storage, principal, str(job_id))
    return ok({"id": str(job_id)}, message="Job deleted")


@router.get("/v1/jobs/{job_id}/webhook-deliveries")
def webhook_deliveries(job_id: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """The webhook deliveries of a job and every attempt made (beyond Hamsa)."""
    return ok(job_service.list_deliveries(session, principal, job_id))
