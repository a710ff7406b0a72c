"""OpenAI-compatible audio routes under /v1 (transcriptions, translations, speech, models), so
the openai package and tools built on it work with ``base_url=<server>/v1``. Errors here are
OpenAI's shape (``api/openai_errors.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from hams.api.deps import JOBS, READ, REALTIME, PrincipalDep, RuntimeDep, base_url
from hams.api.openai_formats import render
from hams.api.schemas.common import AUTHENTICATED, error_responses
from hams.api.schemas.openai import (
    ModelList,
    ModelPublic,
    SpeechCreate,
    TranscriptionJson,
    VerboseTranscription,
)
from hams.errors import ValidationFailed
from hams.runtime import Runtime
from hams.services import openai_models
from hams.services.keys import Principal
from hams.services.openai_speech import MEDIA_TYPES, OpenAISpeechRequest, speak
from hams.services.openai_transcription import AudioFile, AudioTask, read_task, transcribe

router = APIRouter(tags=["OpenAI compatible"])
TRANSCRIPTION_ERRORS = error_responses(*AUTHENTICATED, 402, 404, 409, 503, 504,
                                       openai=True)  # 404: the job deleted during the wait
TEXT = {"schema": {"type": "string"}}
TRANSCRIPT_FORMATS = {200: {
    "description": "The transcript in the asked response_format: json and verbose_json as JSON, "
                   "text, srt and vtt as text",
    "content": {"text/plain": TEXT, "application/x-subrip": TEXT, "text/vtt": TEXT}}}
AUDIO = {"schema": {"type": "string", "format": "binary"}}
SPEECH_AUDIO = {200: {"description": "The audio in the asked response_format (24 kHz)",
                      "content": dict.fromkeys(sorted(set(MEDIA_TYPES.values())), AUDIO)}}
Transcription = TranscriptionJson | VerboseTranscription


@router.post("/v1/audio/transcriptions", dependencies=[JOBS], response_model=Transcription,
             responses={**TRANSCRIPT_FORMATS, **TRANSCRIPTION_ERRORS})
async def create_transcription(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep,
    file: UploadFile = File(...), model: str | None = Form(None, max_length=100),
    language: str | None = Form(None, max_length=40), prompt: str | None = Form(None),
    response_format: str | None = Form(None, max_length=20),
    temperature: float = Form(0.0, ge=0, le=1),
    granularities: list[str] = Form([], alias="timestamp_granularities[]"),
    stream: bool = Form(False),
) -> Any:
    """Transcribe an audio file (OpenAI's API), through a job that any worker may run."""
    _refuse_stream(stream)
    ask = read_task(runtime.settings, runtime.models, task="transcribe", model=model,
                    language=language, prompt=prompt, response_format=response_format,
                    temperature=temperature, granularities=granularities)
    return await _run(request, runtime, principal, file, ask)


@router.post("/v1/audio/translations", dependencies=[JOBS], response_model=Transcription,
             responses={**TRANSCRIPT_FORMATS, **TRANSCRIPTION_ERRORS})
async def create_translation(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep,
    file: UploadFile = File(...), model: str | None = Form(None, max_length=100),
    prompt: str | None = Form(None), response_format: str | None = Form(None, max_length=20),
    temperature: float = Form(0.0, ge=0, le=1),
) -> Any:
    """Translate the speech of an audio file into English text (OpenAI's API)."""
    ask = read_task(runtime.settings, runtime.models, task="translate", model=model,
                    language=None, prompt=prompt, response_format=response_format,
                    temperature=temperature, granularities=[])
    return await _run(request, runtime, principal, file, ask)


async def _run(request: Request, runtime: Runtime, principal: Principal, file: UploadFile,
               ask: AudioTask) -> Response:
    """The job's result in the asked format; ``X-Job-Id`` names the job either way."""
    result = await transcribe(
        runtime.db, principal, AudioFile(file.file, file.filename, file.content_type), ask,
        base_url=base_url(request, runtime.settings), disconnected=request.is_disconnected,
        settings=runtime.settings, storage=runtime.storage)
    body, media_type = render(result.response, ask)
    headers = {"X-Job-Id": result.job_id}
    if not isinstance(body, dict):
        return Response(body, media_type=media_type, headers=headers)
    model = VerboseTranscription if ask.response_format == "verbose_json" else TranscriptionJson
    # JSONResponse, as before the models: the same bytes (3.2e-06, not pydantic's 3.2e-6)
    return JSONResponse(model.model_validate(body).model_dump(mode="json"), headers=headers)


@router.post("/v1/audio/speech", dependencies=[REALTIME], response_class=Response,
             responses={**SPEECH_AUDIO,
                        **error_responses(*AUTHENTICATED, 402, 503, openai=True)})
async def create_speech(body: SpeechCreate, runtime: RuntimeDep,
                        principal: PrincipalDep) -> Response:
    """Speak text (OpenAI's API) with a hams voice or an OpenAI voice name mapped to one."""
    spoken = await speak(runtime.db, principal, OpenAISpeechRequest(
        model=body.model, text=body.input, voice=body.voice_name,
        response_format=body.response_format, speed=body.speed),
        settings=runtime.settings, tts=runtime.tts, pool=runtime.realtime)
    return Response(spoken.audio, media_type=spoken.plan.media_type, headers={
        "X-Voice-Id": spoken.plan.voice.id, "X-Engine": spoken.engine,
        "X-Audio-Duration": f"{spoken.duration:.3f}", "X-Sample-Rate": "24000"})


@router.get("/v1/models", dependencies=[READ], response_model=ModelList,
            responses=error_responses(*AUTHENTICATED, openai=True))
def list_models() -> ModelList:
    """The transcription and speech models this server answers to (OpenAI's shape)."""
    return ModelList(data=[_model(info) for info in openai_models.list_models()])


@router.get("/v1/models/{model_id}", dependencies=[READ], response_model=ModelPublic,
            responses=error_responses(*AUTHENTICATED, 404, openai=True))
def get_model(model_id: str) -> ModelPublic:
    """One model, or 404 (OpenAI's shape)."""
    return _model(openai_models.get_model(model_id))


def _model(info: openai_models.ModelInfo) -> ModelPublic:
    return ModelPublic(id=info.id, created=info.created, owned_by="hams",
                       capability=info.capability)


def _refuse_stream(stream: bool) -> None:
    if stream:
        raise ValidationFailed("stream=true is not supported; send the request without it",
                               data={"field": "stream"})
