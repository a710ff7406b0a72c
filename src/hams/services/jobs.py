"""Jobs as the API sees them: create, read, list, cancel, delete; always within one project."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hams import metrics
from hams.db.models import Job, WebhookAttempt, WebhookDelivery, utcnow
from hams.db.session import Database, after_commit
from hams.errors import Conflict, NotFound
from hams.queue import jobs as queue
from hams.services import idempotency, quotas, usage
from hams.services.keys import Principal, check_project
from hams.services.links import FileLinks, check_signed, sign_file
from hams.settings import Settings
from hams.storage import BlobStorage
from hams.webhooks.payloads import job_outcome

IN_PROCESS_CHECK_SECONDS = 0.05  # a finish in this process is seen this fast, without a query
DB_CHECK_SECONDS = 0.5  # a finish in another process is seen by reading the row this often
SORTABLE = {"createdAt": Job.created_at, "updatedAt": Job.updated_at, "title": Job.title,
            "totalCost": Job.total_cost, "usageTime": Job.usage_seconds, "status": Job.status,
            "type": Job.type}


def system_model_key(model: str | None) -> str | None:
    """Hamsa's internal key form: Hamsa-General-V2.0 → HAMSA_GENERAL_V2.0."""
    return model.upper().replace("-", "_") if model else None


@dataclass(frozen=True)
class NewJob:
    """Everything a create route decided, ready to become a queued row."""

    type: str
    title: str | None
    model: str | None
    language: str | None
    media_url: str | None
    media_key: str | None
    webhook_url: str | None
    webhook_auth: dict | None
    options: dict
    processing_type: str = "async"
    tts_voice_id: str | None = None
    relevant_job_id: str | None = None  # the job this one is made from (AI content)
    to_language: str | None = None
    waiting: bool = False  # starts only when ``relevant_job_id`` completes


def create_job(
    session: Session, principal: Principal, new: NewJob, *, settings: Settings,
    idempotency_key: str | None = None, fingerprint: str = "",
) -> Job:
    """Insert a queued job; with an Idempotency-Key, the same key and body give the same job."""
    if idempotency_key:
        existing = find_idempotent_job(session, principal, idempotency_key, fingerprint,
                                       settings.idempotency_hours)
        if existing is not None:
            return existing
    quotas.check_job(session, principal.project_id, new.type, new.options)
    job = Job(
        project_id=principal.project_id, api_key_id=principal.api_key_id, type=new.type,
        title=new.title, model=new.model, system_model_key=system_model_key(new.model),
        processing_type=new.processing_type, from_lng=new.language, media_url=new.media_url,
        media_key=new.media_key, webhook_url=new.webhook_url, webhook_auth=new.webhook_auth,
        options=new.options, max_attempts=settings.max_attempts, tts_voice_id=new.tts_voice_id,
        relevant_job_id=new.relevant_job_id, to_lng=new.to_language,
        state=queue.WAITING if new.waiting else "queued",
    )
    session.add(job)
    session.flush()
    queue.notify_created(session)
    if idempotency_key:
        idempotency.remember(session, principal.project_id, idempotency_key, fingerprint, job.id)
    return job


def find_idempotent_job(session: Session, principal: Principal, idempotency_key: str,
                        fingerprint: str, idempotency_hours: float) -> Job | None:
    """The job an earlier request with the same key and body made, if any."""
    existing = idempotency.find_resource(session, principal.project_id, idempotency_key,
                                         fingerprint, idempotency_hours)
    if existing is None:
        return None
    job = session.get(Job, existing)
    if job is None:
        raise NotFound("The job created with this Idempotency-Key has been deleted")
    return job


def enqueue_job_webhook(session: Session, job: Job | Row[Any]) -> WebhookDelivery | None:
    """In the transaction that finishes ``job``: the delivery of its outcome, if it has a URL."""
    if not job.webhook_url:
        return None
    payload = job_outcome(job)
    delivery = WebhookDelivery(job_id=job.id, project_id=job.project_id, url=job.webhook_url,
                               event=payload.event, payload=payload.body)
    session.add(delivery)
    return delivery


def job_ended(session: Session, job: Job | Row[Any], *, has_followers: bool = True) -> None:
    """In the transaction that ended the job: its usage in the ledger, its webhook, and its
    followers started or failed. Every way a job ends (completed, failed, cancelled) goes
    through here.

    ``job`` is the row as it ended: a ``Job`` read after the end, or what ``queue.finish_job``
    returned (the same columns, without a second read). ``has_followers=False`` (that row's
    ``has_followers``) skips looking for followers: most jobs have none.
    """
    usage.record_job(session, job)
    enqueue_job_webhook(session, job)
    if has_followers:
        settle_followers(session, job)
    metrics.job_ended(session, job)


def settle_followers(session: Session, job: Job | Row[Any]) -> None:
    """In the transaction that ends ``job``: start the jobs waiting on it, or fail them."""
    now = utcnow()
    if job.state == "completed":
        if queue.release_followers(session, job.id, now):
            queue.notify_created(session)
        return
    reason = job.error or "it did not complete"
    _fail_followers(session, job.id,
                    f"Job {job.id}, which this job needs, ended without a result: {reason}")


def _fail_followers(session: Session, job_id: str, message: str) -> None:
    for follower_id in queue.fail_followers(session, job_id, utcnow(), message):
        follower = session.get(Job, follower_id, populate_existing=True)
        if follower is not None:
            enqueue_job_webhook(session, follower)


def sweep_stranded_followers(session: Session) -> int:
    """Settle waiting jobs whose source ended (or vanished) without settling them; how many.

    The transaction that ends a job settles its followers, so this only catches what a crash
    during an upgrade or a manual database fix left behind; workers run it now and then.
    """
    stranded = queue.stranded_followers(session)
    for source_id in dict.fromkeys(source_id for _, source_id in stranded):
        source = session.get(Job, source_id)
        if source is not None:
            settle_followers(session, source)
        else:
            _fail_followers(session, source_id,
                            f"Job {source_id}, which this job needs, no longer exists")
    return len(stranded)


def get_job(session: Session, principal: Principal, job_id: str,
            project_id: str | None = None) -> Job:
    """The caller's job; another project's job is indistinguishable from a missing one, and so
    is a ``projectId`` parameter naming another project."""
    check_project(principal, project_id)
    job = session.get(Job, job_id) if job_id else None
    if job is None or job.project_id != principal.project_id:
        raise NotFound(f"Job {job_id!r} not found")
    return job


# Jobs hams queues for its own work (processing a knowledge-base item, analysing a finished
# conversation): readable by id, like any job of the project, but not listed among the Hamsa
# jobs clients page through.
INTERNAL_JOB_TYPES = ("KNOWLEDGE_BASE", "CONVERSATION_ANALYSIS")


@dataclass(frozen=True)
class JobQuery:
    project_id: str | None = None  # the projectId parameter: the key's own, or not found
    status: str | None = None
    type: str | None = None
    search: str | None = None
    sort_field: str = "createdAt"
    descending: bool = True
    limit: int = 10
    offset: int = 0


def list_jobs(
    session: Session, principal: Principal, query: JobQuery
) -> tuple[list[Job], int, int]:
    """One page of the project's jobs, the project's total, and the total after filters."""
    check_project(principal, query.project_id)
    base = select(Job).where(Job.project_id == principal.project_id,
                             Job.type.not_in(INTERNAL_JOB_TYPES))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    filtered = base
    if query.status:
        filtered = filtered.where(Job.status == query.status)
    if query.type:
        filtered = filtered.where(Job.type == query.type)
    if query.search:
        pattern = f"%{query.search}%"
        filtered = filtered.where(or_(Job.title.ilike(pattern), Job.id.ilike(pattern),
                                      Job.media_url.ilike(pattern)))
    count = session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    column = SORTABLE.get(query.sort_field, Job.created_at)
    order = column.desc() if query.descending else column.asc()
    rows = session.scalars(
        filtered.order_by(order, Job.id).limit(query.limit).offset(query.offset)).all()
    return list(rows), total, count


def total_pages(count: int, per_page: int) -> int:
    return math.ceil(count / per_page) if per_page else 0


def cancel_job(session: Session, principal: Principal, job_id: str) -> Job:
    """Cancel an unfinished job; it ends FAILED, and its webhook says so."""
    job = get_job(session, principal, job_id)
    if not queue.cancel_job(session, job.id, utcnow(), "Job was cancelled"):
        raise Conflict(f"Job {job_id!r} has already finished ({job.status})")
    job = session.get(Job, job.id, populate_existing=True)
    job_ended(session, job)
    queue.notify_finished(session, job.id)
    return job


def delete_job(session: Session, principal: Principal, job_id: str, *,
               storage: BlobStorage) -> None:
    """Remove the job, its deliveries and its stored media; a running worker's result is void."""
    job = get_job(session, principal, job_id)
    _fail_followers(session, job.id, f"Job {job.id}, which this job needs, was deleted")
    session.delete(job)
    session.flush()
    after_commit(session, lambda: storage.delete_prefix(f"jobs/{job.id}"))


@dataclass(frozen=True)
class DeliveryLog:
    """A webhook delivery and its attempts, oldest first."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def list_deliveries(session: Session, principal: Principal, job_id: str) -> list[DeliveryLog]:
    job = get_job(session, principal, job_id)
    deliveries = session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.job_id == job.id).order_by(WebhookDelivery.created_at)).all()
    return [DeliveryLog(delivery, list(session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.number))))
        for delivery in deliveries]


@dataclass(frozen=True)
class Preview:
    job: Job
    media_link: str | None  # signed, when the job's media is stored here


def preview_job(db: Database, job_id: str, expires: int | None, signature: str | None, *,
                storage: BlobStorage, secret_key: str, link_seconds: int) -> Preview:
    """The job behind a signed preview link (no API key: the signature is the permission)."""
    check_signed(secret_key, f"/v1/jobs/{job_id}/preview", expires, signature)
    with db.session() as session:
        job = session.get(Job, job_id)
    if job is None:
        raise NotFound("Job not found")
    media_link = None
    if job.media_key and storage.exists(job.media_key):
        media_link = sign_file(secret_key, job.media_key, link_seconds)
    return Preview(job, media_link)


async def submit_and_wait(db: Database, principal: Principal,
                          submit: Callable[[Session], Job], wait_seconds: float) -> Job:
    """Create a job in a transaction of its own, committed before anything waits on it (a
    worker must see it), then, when ``wait_seconds`` > 0, the job as that wait leaves it."""
    def create() -> Job:
        with db.session() as session:
            return submit(session)

    job = await run_in_threadpool(create)
    if wait_seconds <= 0:
        return job
    return await wait_for_job(db, principal, job, wait_seconds)


@dataclass(frozen=True)
class JobView:
    """A job as GET /v1/jobs shows it: with its preview page and, for finished speech, its
    audio, each behind a link signed now."""

    job: Job
    preview_url: str
    media_url: str | None


async def read_job(db: Database, principal: Principal, job_id: str, *, wait: float,
                   links: FileLinks) -> JobView:
    """The caller's job, long-polled up to ``wait`` seconds until it is finished."""
    job = await wait_until_finished(db, principal, job_id, wait)
    return JobView(job, links.page(f"/v1/jobs/{job.id}/preview"), fresh_media_url(job, links))


def fresh_media_url(job: Job, links: FileLinks) -> str | None:
    """A finished TTS job's audio, or a conversation's recording, signed anew (never an
    expired link); None for other jobs."""
    if not job.media_key or job.status in ("PENDING", "IN_PROGRESS"):
        return None
    if job.type == "VOICE_AGENTS" or (job.type == "TTS" and job.status == "COMPLETED"):
        return links.url(job.media_key)
    return None


async def wait_until_finished(db: Database, principal: Principal, job_id: str,
                              timeout: float) -> Job:
    """Long-poll: the job as soon as it is terminal, or as it stands when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    job = await run_in_threadpool(_read_job, db, principal, job_id)
    return await _follow(db, principal, job, deadline)


async def wait_for_job(db: Database, principal: Principal, job: Job, timeout: float) -> Job:
    """``wait_until_finished`` for a job the caller has just created: not read again first."""
    return await _follow(db, principal, job, time.monotonic() + timeout)


def _read_job(db: Database, principal: Principal, job_id: str) -> Job:
    with db.session() as session:
        return get_job(session, principal, job_id)


async def _follow(db: Database, principal: Principal, job: Job, deadline: float) -> Job:
    """Read ``job`` again until it is terminal or ``deadline`` (monotonic) has passed: at once
    when this process has seen it end, else every DB_CHECK_SECONDS."""
    job_id = job.id
    last_read = time.monotonic()
    while job.state not in queue.TERMINAL_STATES and time.monotonic() < deadline:
        await asyncio.sleep(IN_PROCESS_CHECK_SECONDS)
        now = time.monotonic()
        if (queue.seen_finished(db, job_id) or now - last_read >= DB_CHECK_SECONDS
                or now >= deadline):
            job = await run_in_threadpool(_read_job, db, principal, job_id)
            last_read = now
    return job
