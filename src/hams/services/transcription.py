"""Transcription jobs: what is checked at submission, and what a worker does to run one."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hams.db.models import Job, Upload
from hams.db.session import Database
from hams.engines.models import SttModels
from hams.engines.stt import (
    DEFAULT_TEMPERATURES,
    Segment,
    TranscriptionOptions,
)
from hams.errors import HamsError
from hams.media.audio import SAMPLE_RATE, decode_audio
from hams.media.fetch import fetch_to_file
from hams.media.srt import SrtOptions, build_srt
from hams.media.urls import check_url, url_policy
from hams.services.jobs import NewJob, create_job, submit_and_wait
from hams.services.keys import Principal
from hams.services.stt_policy import check_model_and_language, engine_for
from hams.services.uploads import upload_id_in
from hams.services.usage import stt_cost
from hams.settings import PUBLIC_STT_MODELS, Settings
from hams.storage import BlobNotFound, BlobStorage
from hams.worker.outcome import JobOutcome

log = logging.getLogger(__name__)


def resolve_media(session: Session, settings: Settings, project_id: str,
                  media_url: str) -> str | None:
    """The storage key of an upload named by ``media_url``, or None after a URL safety check.

    The URL check (a DNS lookup) runs before the database is touched: on SQLite a session
    holds the write lock, and a slow resolver must never hold up every other request.
    """
    upload_id = upload_id_in(media_url)
    if upload_id is None:
        check_url(media_url, url_policy(settings), purpose="mediaUrl")
        return None
    refused: HamsError | None = None
    try:
        check_url(media_url, url_policy(settings), purpose="mediaUrl")
    except HamsError as exc:  # fine if it names one of our uploads; decided below
        refused = exc
    upload = session.get(Upload, upload_id)
    if upload is not None and upload.project_id == project_id:
        return upload.storage_key
    if refused is not None:
        raise refused
    return None


def run_transcription(job: Job, *, settings: Settings, storage: BlobStorage,
                      models: SttModels) -> JobOutcome:
    """Fetch (or read the upload), decode, transcribe, and shape the Hamsa result."""
    media_key = job.media_key or f"jobs/{job.id}/source"
    with _local_media(job, media_key, settings=settings, storage=storage) as path:
        audio = decode_audio(path, max_seconds=settings.media_max_seconds, pcm16=True)
    language = job_language(job)
    engine = engine_for(settings, models, job.model or PUBLIC_STT_MODELS[0], language, audio)
    segments_iter, info = engine.transcribe(audio, job_options(settings, job, language))
    details = bool(job.options.get("segmentDetails"))
    segments = [_segment_public(s, details) for s in segments_iter]
    duration = round(len(audio) / SAMPLE_RATE, 3)
    response: dict[str, Any] = {
        "text": " ".join(s["text"].strip() for s in segments).strip(),
        "language": info.language, "duration": duration, "segments": segments,
        "model": job.model, "engineModel": info.model,
    }
    if job.options.get("returnSrtFormat"):
        srt_options = SrtOptions.from_wire(job.options.get("srtOptions"))
        response["srt"] = build_srt(segments, srt_options)
    return JobOutcome(job_response=response, usage_seconds=duration,
                      total_cost=stt_cost(settings, job.model, duration), media_key=media_key)


@contextmanager
def _local_media(job: Job, media_key: str, *, settings: Settings,
                 storage: BlobStorage) -> Iterator[Path]:
    """The job's media as a local file for the decoder: the stored upload, or the mediaUrl
    fetched into a temporary file and kept at the job's key (the preview plays it)."""
    if job.media_key:
        with ExitStack() as stack:
            try:  # one read: a missing upload is known before the copy starts
                path = stack.enter_context(storage.local_copy(job.media_key))
            except BlobNotFound:
                pass
            else:
                yield path
                return
    with tempfile.TemporaryDirectory(prefix="hams-fetch-") as folder:
        path = Path(folder) / "source"
        fetch_to_file(job.media_url or "", path, policy=url_policy(settings),
                      max_bytes=settings.media_max_bytes, timeout=settings.media_fetch_timeout)
        storage.write_file(media_key, path)
        yield path


def job_language(job: Job) -> str | None:
    """The language a job asked for; None = detect it."""
    if job.options.get("detectLanguage"):
        return None
    return job.from_lng or "ar"


def job_options(settings: Settings, job: Job, language: str | None) -> TranscriptionOptions:
    """The engine options for a job: the server's decoding settings plus what the job asked
    (task, prompt and temperature come from the OpenAI-compatible routes)."""
    temperature = job.options.get("temperature")
    return TranscriptionOptions(
        language=language, vad_filter=settings.stt_vad, beam_size=settings.stt_beam_size,
        task=job.options.get("task") or "transcribe",
        initial_prompt=job.options.get("prompt") or None,
        temperature=(float(temperature),) if temperature else DEFAULT_TEMPERATURES,
        batch=True,  # a job may wait STT_BATCH_WAIT_MS to share a decode with others
    )


def _segment_public(segment: Segment, details: bool = False) -> dict[str, Any]:
    public = {
        "id": segment.id, "start": segment.start, "end": segment.end, "text": segment.text,
        "speaker": segment.speaker,
        "words": [{"word": w.word, "start": w.start, "end": w.end, "probability": w.probability}
                  for w in segment.words],
    }
    if details:  # the decoder's figures, for OpenAI's verbose_json
        public.update(seek=segment.seek, tokens=list(segment.tokens),
                      temperature=segment.temperature, avgLogprob=segment.avg_logprob,
                      compressionRatio=segment.compression_ratio,
                      noSpeechProb=segment.no_speech_prob)
    return public


@dataclass(frozen=True)
class TranscriptionRequest:
    media_url: str
    model: str
    language: str
    title: str | None
    webhook_url: str | None
    webhook_auth: dict | None
    return_srt: bool
    srt_options: dict | None
    processing_type: str = "async"


def submit_transcription(
    session: Session, principal: Principal, request: TranscriptionRequest, *,
    settings: Settings, models: SttModels, idempotency_key: str | None = None,
    fingerprint: str = "",
) -> Job:
    """Validate everything that can be known now, then queue the job."""
    check_model_and_language(settings, models, request.model, request.language)
    if request.return_srt or request.srt_options:
        SrtOptions.from_wire(request.srt_options)
    if request.webhook_url:
        check_url(request.webhook_url, url_policy(settings), purpose="webhookUrl")
    media_key = resolve_media(session, settings, principal.project_id, request.media_url)
    detect = request.language == "auto"
    new = NewJob(
        type="TRANSCRIPTION", title=request.title, model=request.model,
        language=None if detect else request.language, media_url=request.media_url,
        media_key=media_key, webhook_url=request.webhook_url,
        webhook_auth=request.webhook_auth,
        options={"returnSrtFormat": request.return_srt, "srtOptions": request.srt_options,
                 "detectLanguage": detect},
        processing_type=request.processing_type,
    )
    return create_job(session, principal, new, settings=settings,
                      idempotency_key=idempotency_key, fingerprint=fingerprint)


async def submit_and_wait_transcription(
    db: Database, principal: Principal, request: TranscriptionRequest, *, settings: Settings,
    models: SttModels, idempotency_key: str | None, fingerprint: str, wait_seconds: float,
) -> Job:
    """POST /v2/jobs: queue in a transaction of its own (committed, so a worker sees it), then
    with processingType=sync wait up to ``wait_seconds`` for the job to finish."""
    return await submit_and_wait(db, principal, lambda session: submit_transcription(
        session, principal, request, settings=settings, models=models,
        idempotency_key=idempotency_key, fingerprint=fingerprint), wait_seconds)
