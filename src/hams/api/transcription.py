"""Transcription Routes: POST /v1/jobs/transcribe."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header

from hams.api.deps import PrincipalDep, RuntimeDep, SessionDep, get_principal
from hams.api.envelope import ok
from hams.api.schemas.jobs import TranscribeCreate
from hams.services.idempotency import fingerprint
from hams.services.transcription import TranscriptionRequest, submit_transcription

router = APIRouter(tags=["Transcription"], dependencies=[Depends(get_principal)])


@router.post("/v1/jobs/transcribe")
def transcribe(
    body: TranscribeCreate, runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep,
    idempotency_key: str | None = Header(None),
) -> dict:
    """Queue a transcription of an audio or video URL (or an uploaded mediaUrl)."""
    request = TranscriptionRequest(
        media_url=body.mediaUrl, model=body.model, language=body.language, title=body.title,
        webhook_url=body.webhookUrl,
        webhook_auth=body.webhookAuth.model_dump() if body.webhookAuth else None,
        return_srt=body.returnSrtFormat, srt_options=body.srtOptions,
    )
    job = submit_transcription(session, runtime.settings, runtime.models, principal, request,
                               idempotency_key, fingerprint(body.model_dump()))
    return ok({"jobId": job.id}, message="Transcription job created successfully")
