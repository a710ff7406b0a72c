"""Transcription Routes: POST /v1/jobs/transcribe."""

from __future__ import annotations

from fastapi import APIRouter, Header

from hams.api.deps import JOBS, PrincipalDep, RuntimeDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.jobs import JobCreated
from hams.api.schemas.transcription import TranscribeCreate, transcription_request
from hams.services.idempotency import fingerprint
from hams.services.transcription import submit_transcription

router = APIRouter(tags=["Transcription"])
CreatedAnswer = Envelope[JobCreated]


@router.post("/v1/jobs/transcribe", dependencies=[JOBS], response_model=CreatedAnswer,
             responses=error_responses(*AUTHENTICATED, 402, 404, 409, 503))
def transcribe(
    body: TranscribeCreate, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep,
    idempotency_key: str | None = Header(None),
) -> CreatedAnswer:
    """Queue a transcription of an audio or video URL (or an uploaded mediaUrl)."""
    job = submit_transcription(
        session, principal, transcription_request(body), settings=runtime.settings,
        models=runtime.models, idempotency_key=idempotency_key,
        fingerprint=fingerprint(body.model_dump()))
    return CreatedAnswer(message="Transcription job created successfully",
                         data=JobCreated(jobId=job.id))
