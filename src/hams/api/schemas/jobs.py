"""Wire models of the job routes: list queries, then answers (the job objects Hamsa's clients
read, field for field in the wire's order, and the pages of them). Webhook bodies render with
``JobPublic`` too, so this module imports no service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from hams.api.schemas.common import Envelope, Number, ResponseModel, WireModel, iso
from hams.api.schemas.paging import MAX_PAGE
from hams.db.models import Job, WebhookAttempt, WebhookDelivery

# Hamsa's job statuses, with those of voice-agent conversations (VOICE_AGENTS jobs: the
# JobStatus enum of its call records)
JobStatus = Literal["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "TERMINATED", "NO_ANSWER",
                    "FORWARDED"]


class SortSpec(WireModel):
    field: str = "createdAt"
    direction: Literal["asc", "desc", "ASC", "DESC"] = "desc"


class JobListQuery(WireModel):
    take: int | None = Field(None, ge=1, le=1000)
    skip: int | None = Field(None, ge=0, le=MAX_PAGE)
    sort: SortSpec | None = None
    search: str | None = Field(None, max_length=500)
    status: JobStatus | None = None
    type: Literal["TRANSCRIPTION", "TRANSLATION", "TTS", "AI_CONTENT", "VOICE_AGENTS"] | None = None


class JobPublic(ResponseModel):
    """The v1 job object (GET /v1/jobs, job answers, webhooks): every Hamsa field always
    present, null when unknown, then hams' own."""

    id: str
    title: str | None
    model: str | None
    type: str
    processingType: str
    webhookUrl: str | None
    totalCost: Number
    usageTime: str | None = Field(description="Seconds with three decimals, as a string")
    fromLng: str | None
    toLng: str | None
    mediaUrl: str | None
    jobResponse: dict[str, Any] | None = Field(description="The result; its shape per type")
    fromScript: str | None
    toScript: str | None
    status: JobStatus
    relevantJobId: str | None
    agentDetails: str | None
    apiKeyId: str | None
    billingId: str | None
    systemModelKey: str | None
    voiceAgentId: str | None
    createdAt: str | None
    updatedAt: str | None
    ttsVoiceId: str | None  # hams extras from here on
    state: str = Field(description="The queue's state: queued, waiting, running, completed...")
    error: str | None
    attempts: int
    usageTokens: int | None

    @classmethod
    def from_job(cls, job: Job) -> JobPublic:
        return cls.model_validate(public_fields(job))

    def with_media_url(self, url: str | None) -> JobPublic:
        """A job as read now: its audio link (``url``) signed anew, never an expired one (a
        TTS job's also as ``jobResponse.ttsMediaFile``; a conversation's is its recording)."""
        if url is None:
            return self
        if self.type != "TTS":
            return self.model_copy(update={"mediaUrl": url})
        return self.model_copy(update={"mediaUrl": url, "jobResponse": {
            **(self.jobResponse or {}), "ttsMediaFile": url}})


def public_fields(job: Job) -> dict[str, Any]:
    """The job object's fields by their wire names (also for the models that add ``jobId``)."""
    return {
        "id": job.id, "title": job.title, "model": job.model, "type": job.type,
        "processingType": job.processing_type, "webhookUrl": job.webhook_url,
        "totalCost": job.total_cost or 0,
        "usageTime": None if job.usage_seconds is None else f"{job.usage_seconds:.3f}",
        "fromLng": job.from_lng, "toLng": job.to_lng, "mediaUrl": job.media_url,
        "jobResponse": job.job_response, "fromScript": job.from_script,
        "toScript": job.to_script, "status": job.status, "relevantJobId": job.relevant_job_id,
        "agentDetails": job.agent_details, "apiKeyId": job.api_key_id,
        "billingId": job.billing_id, "systemModelKey": job.system_model_key,
        "voiceAgentId": job.voice_agent_id, "createdAt": iso(job.created_at),
        "updatedAt": iso(job.updated_at), "ttsVoiceId": job.tts_voice_id, "state": job.state,
        "error": job.error, "attempts": job.attempts, "usageTokens": job.usage_tokens,
    }


class JobRead(ResponseModel):
    """GET /v1/jobs: the seed's envelope, ``previewUrl`` beside the job (no messageKey)."""

    success: bool = True
    message: str = "Job retrieved successfully"
    previewUrl: str = Field(description="A signed link to the job's HTML preview page")
    data: JobPublic


class JobCreated(ResponseModel):
    jobId: str


class JobRun(JobPublic, JobCreated):
    """POST /v2/jobs with processingType=sync: ``jobId``, then the job as the wait left it."""

    @classmethod
    def from_job(cls, job: Job) -> JobRun:
        return cls.model_validate({"jobId": job.id, **public_fields(job)})


class JobAttributes(ResponseModel):
    apiKey: str | None
    mediaUrl: str | None
    model: str | None
    mediaType: Literal["URL"] | None
    agentName: str | None = Field(description="A conversation's agent (VOICE_AGENTS jobs)")
    duration: Number | None = Field(description="Seconds of media (of a call), once known")
    voice: str | None
    aiContentParts: list[str] | None
    sourceJob: str | None


class JobSummary(ResponseModel):
    """The v2 summary object: POST /v1/jobs/all items and GET /v2/jobs/view/{id}."""

    id: str
    title: str | None
    type: str
    status: JobStatus
    cost: Number
    systemModelKey: str | None
    createdAt: str | None
    updatedAt: str | None
    url: str | None
    createdBy: str | None
    apiKey: str | None
    relevantJobId: str | None
    attributes: JobAttributes

    @classmethod
    def from_job(cls, job: Job) -> JobSummary:
        return cls.model_validate({
            "id": job.id, "title": job.title, "type": job.type, "status": job.status,
            "cost": job.total_cost or 0, "systemModelKey": job.system_model_key,
            "createdAt": iso(job.created_at), "updatedAt": iso(job.updated_at),
            "url": job.media_url, "createdBy": job.api_key_id, "apiKey": job.api_key_id,
            "relevantJobId": job.relevant_job_id,
            "attributes": {
                "apiKey": job.api_key_id, "mediaUrl": job.media_url, "model": job.model,
                "mediaType": "URL" if job.media_url else None,
                "duration": job.usage_seconds, "voice": job.tts_voice_id,
                "agentName": job.title if job.type == "VOICE_AGENTS" else None,
                "aiContentParts": list((job.options or {}).get("parts") or []) or None,
                "sourceJob": job.relevant_job_id,
            },
        })


class JobsPage(ResponseModel):
    """POST /v1/jobs/all: one page, the project's total and the total after filters."""

    jobs: list[JobSummary]
    total: int
    filtered: int


class JobListItem(ResponseModel):
    id: str
    title: str | None
    mediaUrl: str | None
    mediaType: Literal["URL"] | None
    totalCost: Number
    status: JobStatus
    type: str
    createdAt: str | None

    @classmethod
    def from_job(cls, job: Job) -> JobListItem:
        return cls(id=job.id, title=job.title, mediaUrl=job.media_url,
                   mediaType="URL" if job.media_url else None, totalCost=job.total_cost,
                   status=job.status, type=job.type, createdAt=iso(job.created_at))


class JobsPageV2(ResponseModel):
    """GET /v2/jobs: one page, its number, the filtered count and the number of pages."""

    jobs: list[JobListItem]
    page: int
    totalCount: int
    totalPages: int


class JobDeleted(ResponseModel):
    id: str


class AttemptPublic(ResponseModel):
    number: int
    startedAt: str | None
    durationMs: int
    statusCode: int | None
    error: str | None

    @classmethod
    def from_attempt(cls, attempt: WebhookAttempt) -> AttemptPublic:
        return cls(number=attempt.number, startedAt=iso(attempt.started_at),
                   durationMs=attempt.duration_ms, statusCode=attempt.status_code,
                   error=attempt.error)


class DeliveryPublic(ResponseModel):
    """A webhook delivery of a job and every attempt made to send it."""

    id: str
    url: str
    event: str
    state: str
    attempts: int
    nextAttemptAt: str | None = Field(description="When the next attempt is due, if pending")
    lastStatusCode: int | None
    lastError: str | None
    deliveredAt: str | None
    createdAt: str | None
    attemptLog: list[AttemptPublic]

    @classmethod
    def from_rows(cls, delivery: WebhookDelivery,
                  attempts: list[WebhookAttempt]) -> DeliveryPublic:
        return cls(
            id=delivery.id, url=delivery.url, event=delivery.event, state=delivery.state,
            attempts=delivery.attempts,
            nextAttemptAt=iso(delivery.next_attempt_at) if delivery.state == "pending" else None,
            lastStatusCode=delivery.last_status_code, lastError=delivery.last_error,
            deliveredAt=iso(delivery.delivered_at), createdAt=iso(delivery.created_at),
            attemptLog=[AttemptPublic.from_attempt(a) for a in attempts])


JobEnvelope = Envelope[JobPublic]
