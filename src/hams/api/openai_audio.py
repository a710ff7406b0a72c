"""OpenAI-compatible audio routes under /v1 (transcriptions, translations, speech, models), so
the openai package and tools built on it work with ``base_url=<server>/v1``. Errors here are
OpenAI's shape (``api/openai_errors.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hams.api.deps import PrincipalDep, RuntimeDep, base_url, get_principal
from hams.api.schemas.openai import SpeechCreate
from hams.db.models import Job
from hams.errors import HamsError, NotFound, ValidationFailed
from hams.runtime import Runtime
from hams.services import jobs as job_service
from hams.services import quotas
from hams.services.keys import Principal
from hams.services.openai_speech import (
    OPENAI_TTS_MODELS,
    SpeechPlan,
    SpeechRequest,
    plan_speech,
    synthesize_speech,
)
from hams.services.openai_transcription import (
    OPENAI_STT_MODELS,
    AudioTask,
    finished_result,
    read_task,
    render,
    submit_audio_task,
)
from hams.services.tts import engine_name
from hams.services.tts_jobs import TTS_MODEL
from hams.services.usage import record_usage
from hams.settings import PUBLIC_STT_MODELS

log = logging.getLogger(__name__)
DISCONNECT_CHECK_SECONDS = 2.0
router = APIRouter(tags=["OpenAI compatible"], dependencies=[Depends(get_principal)])
MODELS_CREATED = 1735689600  # a fixed date (2025-01-01): the same answer from every replica
MODELS = {**dict.fromkeys((*PUBLIC_STT_MODELS, *OPENAI_STT_MODELS), "transcription"),
          **dict.fromkeys((TTS_MODEL, *OPENAI_TTS_MODELS), "speech")}


@router.post("/v1/audio/transcriptions", response_class=Response)
async def create_transcription(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep,
    file: UploadFile = File(...), model: str | None = Form(None, max_length=100),
    language: str | None = Form(None, max_length=40), prompt: str | None = Form(None),
    response_format: str | None = Form(None, max_length=20),
    temperature: float = Form(0.0, ge=0, le=1),
    granularities: list[str] = Form([], alias="timestamp_granularities[]"),
    stream: bool = Form(False),
) -> Response:
    """Transcribe an audio file (OpenAI's API), through a job that any worker may run."""
    _refuse_stream(stream)
    ask = read_task(runtime.settings, runtime.models, task="transcribe", model=model,
                    language=language, prompt=prompt, response_format=response_format,
                    temperature=temperature, granularities=granularities)
    return await _run(request, runtime, principal, file, ask)


@router.post("/v1/audio/translations", response_class=Response)
async def create_translation(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep,
    file: UploadFile = File(...), model: str | None = Form(None, max_length=100),
    prompt: str | None = Form(None), response_format: str | None = Form(None, max_length=20),
    temperature: float = Form(0.0, ge=0, le=1),
) -> Response:
    """Translate the speech of an audio file into English text (OpenAI's API)."""
    ask = read_task(runtime.settings, runtime.models, task="translate", model=model,
                    language=None, prompt=prompt, response_format=response_format,
                    temperature=temperature, granularities=[])
    return await _run(request, runtime, principal, file, ask)


async def _run(request: Request, runtime: Runtime, principal: Principal, file: UploadFile,
               ask: AudioTask) -> Response:
    """Store the upload and queue the job, then wait for it like processingType=sync."""
    base = base_url(request, runtime.settings)

    def submit() -> str:
        with runtime.db.session() as session:
            return submit_audio_task(session, runtime.storage, runtime.settings, principal,
                                     file.file, filename=file.filename,
                                     content_type=file.content_type, ask=ask, base_url=base).id

    job_id = await run_in_threadpool(submit)
    wait = runtime.settings.openai_wait_seconds
    job = await _wait_while_connected(request, runtime, principal, job_id, wait)
    body, media_type = render(finished_result(job, wait), ask)
    headers = {"X-Job-Id": job_id}
    if isinstance(body, dict):
        return JSONResponse(body, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def _wait_while_connected(request: Request, runtime: Runtime, principal: Principal,
                                job_id: str, timeout: float) -> Job:
    """Wait for the job, checking every few seconds that the client is still there. A client
    that gave up (the openai package times out, then sends the same audio again) gets its
    job cancelled, so the work is not done, and billed, twice. One long-poll throughout: the
    checks do not restart it (each start would read the job again)."""
    waiting = asyncio.ensure_future(
        job_service.wait_until_finished(runtime.db, principal, job_id, timeout))
    try:
        while not (await asyncio.wait({waiting}, timeout=DISCONNECT_CHECK_SECONDS))[0]:
            if await request.is_disconnected():
                await run_in_threadpool(_cancel_abandoned, runtime, principal, job_id)
                break  # the cancelled job ends the wait at once
        return await waiting
    finally:
        waiting.cancel()


def _cancel_abandoned(runtime: Runtime, principal: Principal, job_id: str) -> None:
    with contextlib.suppress(HamsError), runtime.db.session() as session:
        job_service.cancel_job(session, principal, job_id)  # finished meanwhile: nothing to stop
    log.info("job %s cancelled: its client disconnected", job_id)


@router.post("/v1/audio/speech", response_class=Response)
async def create_speech(body: SpeechCreate, runtime: RuntimeDep,
                        principal: PrincipalDep) -> Response:
    """Speak text (OpenAI's API) with a hams voice or an OpenAI voice name mapped to one."""
    request = SpeechRequest(model=body.model, text=body.input, voice=body.voice_name,
                            response_format=body.response_format, speed=body.speed)

    def plan() -> SpeechPlan:
        with runtime.db.session() as session:
            quotas.check(session, principal.project_id,
                         {quotas.TTS_CHARACTERS: len(body.input)})
            return plan_speech(session, runtime.settings, request)

    speech = await run_in_threadpool(plan)
    audio, duration = await runtime.realtime.run(synthesize_speech, runtime.tts, speech)
    engine = engine_name(runtime.tts, speech.voice)
    await run_in_threadpool(record_usage, runtime, principal, kind="speech", model=engine,
                            audio_seconds=duration, characters=len(body.input))
    return Response(audio, media_type=speech.media_type, headers={
        "X-Voice-Id": speech.voice.id, "X-Engine": engine,
        "X-Audio-Duration": f"{duration:.3f}", "X-Sample-Rate": "24000"})


@router.get("/v1/models")
def list_models() -> dict:
    """The transcription and speech models this server answers to (OpenAI's shape)."""
    return {"object": "list", "data": [_model(name) for name in MODELS]}


@router.get("/v1/models/{model_id}")
def get_model(model_id: str) -> dict:
    """One model, or 404 (OpenAI's shape)."""
    if model_id not in MODELS:
        raise NotFound(f"The model {model_id!r} does not exist on this server",
                       message_key="MODEL_NOT_FOUND")
    return _model(model_id)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "hams",
            "capability": MODELS[name]}


def _refuse_stream(stream: bool) -> None:
    if stream:
        raise ValidationFailed("stream=true is not supported; send the request without it",
                               data={"field": "stream"})
