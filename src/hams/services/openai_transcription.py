"""OpenAI-compatible transcription and translation: OpenAI's request becomes a hams job (durable,
run by any worker, its usage recorded on it), and the finished job is written back in OpenAI's
response formats."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from hams.db.models import Job
from hams.engines.models import SttModels
from hams.engines.stt.languages import language_code, language_name
from hams.errors import (
    BadRequest,
    Conflict,
    JobFailed,
    JobStillRunning,
    UnsupportedLanguage,
    ValidationFailed,
)
from hams.media.srt import format_timestamp
from hams.queue.jobs import TERMINAL_STATES
from hams.services import quotas
from hams.services.jobs import NewJob, create_job
from hams.services.keys import Principal
from hams.services.uploads import store_upload
from hams.settings import PUBLIC_STT_MODELS, Settings
from hams.storage import BlobStorage

OPENAI_STT_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
"""Listed by GET /v1/models; any other gpt-*transcribe* name is accepted as well."""
RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
MAX_PROMPT_CHARS = 4000  # Whisper reads only the last ~220 tokens; more is a mistake


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


def public_stt_model(name: str | None) -> str:
    """The hams model behind an OpenAI (or Hamsa) model name."""
    if not name or name in PUBLIC_STT_MODELS:
        return name or PUBLIC_STT_MODELS[0]
    if name == "whisper-1" or (name.startswith("gpt-") and "transcribe" in name):
        return PUBLIC_STT_MODELS[0]
    raise BadRequest(f"Unknown model {name!r}; use whisper-1, gpt-4o-transcribe, "
                     f"gpt-4o-mini-transcribe or {' / '.join(PUBLIC_STT_MODELS)}",
                     message_key="MODEL_NOT_FOUND", data={"field": "model"})


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
    public = public_stt_model(model)
    return AudioTask(task=task, model=public,
                     language=check_language(settings, models, public, language),
                     prompt=prompt or None, response_format=fmt,
                     temperature=float(temperature or 0.0),
                     granularities=tuple(dict.fromkeys(granularities)))


def check_language(settings: Settings, models: SttModels, model: str,
                   language: str | None) -> str | None:
    """Whisper's code for ``language``, refused when the model serving ``model`` cannot do it."""
    if not language:
        return None
    code = language_code(language)
    if code is None:
        raise UnsupportedLanguage(f"Unknown language {language!r}; use an ISO-639-1 code such "
                                  "as 'en' or 'ar'", data={"field": "language"})
    engine_model = settings.engine_model_for(model)
    if code != "en" and models.english_only(engine_model):
        raise UnsupportedLanguage(models.refusal(engine_model, code),
                                  data={"field": "language"})
    return code


def submit_audio_task(session: Session, storage: BlobStorage, settings: Settings,
                      principal: Principal, source: BinaryIO, *, filename: str | None,
                      content_type: str | None, ask: AudioTask, base_url: str) -> Job:
    """Store the upload as POST /v1/media does, and queue a transcription job that reads it."""
    quotas.check(session, principal.project_id, {quotas.AUDIO_SECONDS: None})  # before storing
    upload = store_upload(session, storage, principal, source, filename=filename,
                          content_type=content_type, max_bytes=settings.media_max_bytes)
    options = {"task": ask.task, "prompt": ask.prompt, "temperature": ask.temperature,
               "detectLanguage": ask.language is None, "segmentDetails": True}
    new = NewJob(type="TRANSCRIPTION", title=filename, model=ask.model, language=ask.language,
                 media_url=f"{base_url}/v1/media/{upload.id}", media_key=upload.storage_key,
                 webhook_url=None, webhook_auth=None, options=options, processing_type="sync",
                 to_language="en" if ask.task == "translate" else None)
    return create_job(session, principal, new, max_attempts=settings.max_attempts)


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


def render(response: dict[str, Any], ask: AudioTask) -> tuple[Any, str]:
    """The body in the asked format and its media type: a dict is sent as JSON."""
    segments = response.get("segments") or []
    # the recognizer's segments joined as they are (each brings its own leading space where
    # the language has spaces), as OpenAI's text is: no stray spaces in Chinese or Thai
    text = ("".join(s["text"] for s in segments) if segments else
            str(response.get("text") or "")).strip()
    if ask.response_format == "text":
        return text + "\n", "text/plain; charset=utf-8"
    if ask.response_format == "srt":
        return subtitles(segments, vtt=False), "application/x-subrip; charset=utf-8"
    if ask.response_format == "vtt":
        return subtitles(segments, vtt=True), "text/vtt; charset=utf-8"
    duration = float(response.get("duration") or 0.0)
    usage = {"type": "duration", "seconds": math.ceil(duration)}  # whole seconds, as OpenAI
    if ask.response_format == "json":
        return {"text": text, "usage": usage}, "application/json"
    return verbose(response, ask, text, segments) | {"usage": usage}, "application/json"


def verbose(response: dict[str, Any], ask: AudioTask, text: str,
            segments: list[dict[str, Any]]) -> dict[str, Any]:
    """verbose_json: segments unless only words were asked for, words only when asked for."""
    language = "en" if ask.task == "translate" else response.get("language")
    body: dict[str, Any] = {"task": ask.task, "language": language_name(language),
                            "duration": response.get("duration"), "text": text}
    if not ask.granularities or "segment" in ask.granularities:
        body["segments"] = [_segment(s) for s in segments]
    if "word" in ask.granularities:
        body["words"] = [{"word": w["word"].strip(), "start": w["start"], "end": w["end"]}
                         for s in segments for w in s.get("words") or []]
    return body


def _segment(segment: dict[str, Any]) -> dict[str, Any]:
    return {"id": segment["id"], "seek": segment.get("seek", 0), "start": segment["start"],
            "end": segment["end"], "text": segment["text"], "tokens": segment.get("tokens", []),
            "temperature": segment.get("temperature") or 0.0,
            "avg_logprob": segment.get("avgLogprob", 0.0),
            "compression_ratio": segment.get("compressionRatio", 0.0),
            "no_speech_prob": segment.get("noSpeechProb", 0.0)}


def subtitles(segments: list[dict[str, Any]], *, vtt: bool) -> str:
    """One cue per recognizer segment, as OpenAI's srt and vtt are."""
    cues = []
    for number, segment in enumerate(segments, start=1):
        start, end = format_timestamp(segment["start"]), format_timestamp(segment["end"])
        if vtt:
            cues.append(f"{start.replace(',', '.')} --> {end.replace(',', '.')}\n"
                        f"{segment['text'].strip()}\n")
        else:
            cues.append(f"{number}\n{start} --> {end}\n{segment['text'].strip()}\n")
    body = "\n".join(cues)
    return f"WEBVTT\n\n{body}" if vtt else body


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, data={"field": field})
