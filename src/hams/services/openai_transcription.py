"""OpenAI-compatible transcription and translation: OpenAI's request becomes a hams job (durable,
run by any worker, its usage recorded on it), and the finished job is written back in OpenAI's
response formats (``api/openai_formats.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hams.db.models import Job
from hams.db.session import Database
from hams.engines.models import SttModels
from hams.errors import Conflict, HamsError, JobFailed, JobStillRunning, ValidationFailed
from hams.queue.jobs import TERMINAL_STATES
from hams.services import quotas
from hams.services.jobs import NewJob, cancel_job, create_job, wait_for_job
from hams.services.keys import Principal
from hams.services.stt_policy import check_openai_language, openai_model
from hams.services.uploads import store_upload, upload_url
from hams.settings import Settings
from hams.storage import BlobStorage

OPENAI_STT_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""Listed by GET /v1/models; any other gpt-*transcribe* name is accepted as well."""
RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
MAX_PROMPT_CHARS = 4000  # Whisper reads only the last ~220 tokens; more is a mistake
DISCONNECT_CHECK_SECONDS = 2.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioTask:
    """An OpenAI transcription or translation request, checked."""

    task: str  # "transcribe" or "translate"
    model: str  # the public hams model that serves it
    language: str | None  # Whisper's code; None = detect
    prompt: str | None
    response_format: str
    temperature: float
    granularities: tuple[str, ...]


@dataclass(frozen=True)
class AudioFile:
    """The uploaded audio of an OpenAI request, as the form carried it."""

    source: BinaryIO
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class Transcript:
    """A finished OpenAI request: its job, and the job's result (the Hamsa job response)."""

    job_id: str
    response: dict[str, Any]


def read_task(settings: Settings, models: SttModels, *, task: str, model: str | None,
              language: str | None, prompt: str | None, response_format: str | None,
              temperature: float | None, granularities: list[str]) -> AudioTask:
    """Everything that can be refused before the upload is stored."""
    fmt = response_format or "json"
    if fmt not in RESPONSE_FORMATS:
        raise _invalid("response_format", f"response_format must be one of "
                       f"{', '.join(RESPONSE_FORMATS)}, not {fmt!r}")
    unknown = [g for g in granularities if g not in GRANULARITIES]
    if unknown:
        raise _invalid("timestamp_granularities", "timestamp_granularities may hold 'word' "
                       f"and 'segment', not {unknown[0]!r}")
    if granularities and fmt != "verbose_json":
        raise _invalid("timestamp_granularities",
                       "timestamp_granularities needs response_format verbose_json")
    if prompt and len(prompt) > MAX_PROMPT_CHARS:
        raise _invalid("prompt", f"prompt is {len(prompt)} characters; the limit is "
                       f"{MAX_PROMPT_CHARS}")
    public = openai_model(model)
    return AudioTask(task=task, model=public,
                     language=check_openai_language(settings, models, public, language),
                     prompt=prompt or None, response_format=fmt,
                     temperature=float(temperature or 0.0),
                     granularities=tuple(dict.fromkeys(granularities)))


async def transcribe(db: Database, principal: Principal, audio: AudioFile, ask: AudioTask, *,
                     base_url: str, disconnected: Callable[[], Awaitable[bool]],
                     settings: Settings, storage: BlobStorage) -> Transcript:
    """Store the upload and queue the job, then wait for it like processingType=sync: the
    job is durable and any worker may run it. A client that gives up gets its job cancelled
    (``disconnected`` says when), so the work is not done, and billed, twice."""
    def submit() -> Job:
        with db.session() as session:
            return submit_audio_task(session, principal, audio, ask=ask, base_url=base_url,
                                     settings=settings, storage=storage)

    queued = await run_in_threadpool(submit)
    wait = settings.openai_wait_seconds
    job = await wait_while_connected(db, principal, queued, timeout=wait,
                                     disconnected=disconnected)
    return Transcript(job_id=queued.id, response=finished_result(job, wait))


async def wait_while_connected(db: Database, principal: Principal, queued: Job, *,
                               timeout: float, disconnected: Callable[[], Awaitable[bool]]
                               ) -> Job:
    """Wait for the job just queued, asking every few seconds whether the client is still
    there (the openai package times out, then sends the same audio again). One long-poll
    throughout: the checks do not restart it (each start would read the job again)."""
    waiting = asyncio.ensure_future(wait_for_job(db, principal, queued, timeout))
    try:
        while not (await asyncio.wait({waiting}, timeout=DISCONNECT_CHECK_SECONDS))[0]:
            if await disconnected():
                await run_in_threadpool(cancel_abandoned, db, principal, queued.id)
                break  # the cancelled job ends the wait at once
        return await waiting
    finally:
        waiting.cancel()


def cancel_abandoned(db: Database, principal: Principal, job_id: str) -> None:
    with contextlib.suppress(HamsError), db.session() as session:
        cancel_job(session, principal, job_id)  # finished meanwhile: nothing to stop
    log.info("job %s cancelled: its client disconnected", job_id)


def submit_audio_task(session: Session, principal: Principal, audio: AudioFile, *,
                      ask: AudioTask, base_url: str, settings: Settings,
                      storage: BlobStorage) -> Job:
    """Store the upload as POST /v1/media does, and queue a transcription job that reads it."""
    quotas.check(session, principal.project_id, {quotas.AUDIO_SECONDS: None})  # before storing
    upload = store_upload(session, principal, audio.source, storage=storage,
                          filename=audio.filename, content_type=audio.content_type,
                          max_bytes=settings.media_max_bytes)
    options = {"task": ask.task, "prompt": ask.prompt, "temperature": ask.temperature,
               "detectLanguage": ask.language is None, "segmentDetails": True}
    new = NewJob(type="TRANSCRIPTION", title=audio.filename, model=ask.model,
                 language=ask.language, media_url=upload_url(base_url, upload.id),
                 media_key=upload.storage_key, webhook_url=None, webhook_auth=None,
                 options=options, processing_type="sync",
                 to_language="en" if ask.task == "translate" else None)
    return create_job(session, principal, new, settings=settings)


def finished_result(job: Job, waited: float) -> dict[str, Any]:
    """The job's result, or the error that stands for how it ended (or did not)."""
    if job.state not in TERMINAL_STATES:
        raise JobStillRunning(
            f"Job {job.id} is still running after {waited:g} s (HAMS_OPENAI_WAIT_SECONDS); "
            f"its result will be at GET /v1/jobs?jobId={job.id}", job_id=job.id)
    response = job.job_response or {}
    if job.state == "cancelled":
        raise Conflict(f"Job {job.id} was cancelled before it finished", message_key=
                       "JOB_CANCELLED", data={"jobId": job.id})
    if job.status != "COMPLETED":
        reason = job.error or response.get("error") or "the job failed"
        raise JobFailed(f"{reason} (job {job.id})", job_id=job.id,
                        message_key=response.get("messageKey"))
    return response


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, data={"field": field})
