"""What a job's webhook says: Hamsa's job object in the envelope, rendered by the same wire
model as GET /v1/jobs, so a receiver reads one shape. Built in the transaction that ends the
job and stored as sent (the signature covers these bytes)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hams.api.schemas.jobs import JobEnvelope, JobPublic
from hams.db.models import Job


@dataclass(frozen=True)
class JobPayload:
    event: str  # job.completed or job.failed
    body: str


def job_outcome(job: Job) -> JobPayload:
    """The delivery body of a finished job: success and messageKey say how it ended."""
    completed = job.status == "COMPLETED"
    envelope = JobEnvelope(
        success=completed,
        message="Job completed successfully" if completed else (job.error or "Job failed"),
        messageKey="JOB_COMPLETED" if completed else "JOB_FAILED",
        data=JobPublic.from_job(job))
    return JobPayload(event="job.completed" if completed else "job.failed",
                      body=json.dumps(envelope.model_dump(mode="json"), ensure_ascii=False))
