"""AI content jobs: summaries, keywords, titles and posts made from a completed transcription.

Everything the configured engine cannot do is refused at submission (unknown part, a part only
a language model writes when none is configured, a source job that is not a completed
transcription of the caller's project), so a job that exists can be served. One route also
transcribes first: its AI content job waits on the transcription job and starts when that
completes (``queue.WAITING``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hams.db.models import Job
from hams.engines.text import (
    AI_PARTS,
    CONTENT_LANGUAGES,
    ContentEngine,
    ContentRequest,
    PartRequest,
)
from hams.errors import BadRequest, NotFound, ValidationFailed
from hams.media.urls import check_url, url_policy
from hams.services import idempotency
from hams.services.jobs import NewJob, create_job, find_idempotent_job, get_job
from hams.services.keys import Principal
from hams.services.transcription import TranscriptionRequest, submit_transcription
from hams.services.voices import is_arabic
from hams.worker.outcome import JobOutcome

if TYPE_CHECKING:
    from hams.db.session import Database
    from hams.engines.models import SttModels
    from hams.settings import Settings

log = logging.getLogger(__name__)
LLM_REQUIRED = "HAMS_LLM_BASE_URL_REQUIRED"  # messageKey naming the setting to configure
MAX_PROMPT_CHARS = 4000


@dataclass(frozen=True)
class PartAsk:
    """One part as the caller named it, before validation."""

    name: str
    language: str | None = None  # None: the request's content language
    prompt: str | None = None


@dataclass(frozen=True)
class ContentSpec:
    """What to write and how to report it; shared by every AI content route."""

    asks: Sequence[PartAsk]
    language: str | None = None  # output language; None: the transcript's
    title: str | None = None
    date: str | None = None
    instructions: str | None = None
    webhook_url: str | None = None
    webhook_auth: dict | None = None


def with_prompts(asks: Sequence[PartAsk], prompts: Mapping[str, str] | None) -> list[PartAsk]:
    """Custom content: apply ``prompts{part: prompt}`` to the parts asked for (either body form;
    a prompt inside an ``aiParts`` object wins)."""
    prompts = dict(prompts or {})
    stray = sorted(set(prompts) - {ask.name for ask in asks})
    if stray:
        raise ValidationFailed(f"prompts names {', '.join(stray)}, which aiParts does not list",
                               data=[{"field": "prompts", "message": "not in aiParts"}])
    return [PartAsk(ask.name, ask.language, ask.prompt or prompts.get(ask.name))
            for ask in asks]


def resolve_parts(asks: Sequence[PartAsk], default_language: str) -> dict[str, PartRequest]:
    """Validate part names, languages and prompts; keep the caller's order, drop repeats."""
    if not asks:
        raise ValidationFailed("aiParts must name at least one part",
                               data=[{"field": "aiParts", "message": "empty"}])
    parts: dict[str, PartRequest] = {}
    for ask in asks:
        if ask.name not in AI_PARTS:
            raise ValidationFailed(
                f"Unknown aiPart {ask.name!r}; use any of {', '.join(AI_PARTS)}",
                data=[{"field": "aiParts", "message": f"unknown part {ask.name!r}"}])
        language = ask.language or default_language
        if language not in CONTENT_LANGUAGES:
            raise ValidationFailed(
                f"Unsupported content language {language!r}; use one of "
                f"{', '.join(CONTENT_LANGUAGES)}",
                data=[{"field": "language", "message": f"unsupported {language!r}"}])
        prompt = (ask.prompt or "").strip() or None
        if prompt and len(prompt) > MAX_PROMPT_CHARS:
            raise ValidationFailed(f"The prompt for {ask.name} is over {MAX_PROMPT_CHARS} "
                                   "characters", data=[{"field": "prompt", "message": "too long"}])
        part = PartRequest(language=language, prompt=prompt)
        if parts.setdefault(ask.name, part) != part:
            raise ValidationFailed(f"{ask.name} is asked for twice, differently",
                                   data=[{"field": "aiParts", "message": "repeated part"}])
    return parts


def check_writable(engine: ContentEngine, parts: Mapping[str, PartRequest],
                   transcript_language: str, instructions: str | None = None) -> None:
    """Refuse now what the configured engine cannot write; the message says what to set.

    Free-text ``instructions`` are checked as a prompt on every part: an engine that cannot
    follow prompts cannot follow them either.
    """
    reasons = []
    for name, part in parts.items():
        asked = part if part.prompt or not instructions else PartRequest(part.language,
                                                                          instructions)
        reason = engine.refusal(name, asked, transcript_language)
        if reason:
            reasons.append(reason)
    if reasons:
        raise BadRequest(" ".join(dict.fromkeys(reasons)), message_key=LLM_REQUIRED)


def segment_texts(job: Job) -> tuple[str, ...]:
    """The recognizer's segment texts of a transcription, in order (empty ones dropped)."""
    segments = (job.job_response or {}).get("segments") or []
    texts = (str(s.get("text") or "").strip() for s in segments if isinstance(s, dict))
    return tuple(text for text in texts if text)


def transcript_of(job: Job) -> tuple[str, str]:
    """The transcript text and its language ("ar" or "en") of a completed transcription."""
    response = job.job_response or {}
    text = str(response.get("text") or "").strip()
    if job.from_lng in ("ar", "en"):
        return text, job.from_lng
    return text, "ar" if is_arabic(text) else "en"


@dataclass(frozen=True)
class Source:
    """A completed transcription that content is made from."""

    job: Job
    transcript: str
    language: str  # "ar" or "en"


def source_transcription(session: Session, principal: Principal, job_id: str) -> Source:
    """The caller's completed transcription job with a transcript; anything else is refused."""
    return usable_source(get_job(session, principal, job_id))


def usable_source(job: Job) -> Source:
    """A completed transcription with a transcript, or a clear 400 saying what it is."""
    if job.type != "TRANSCRIPTION":
        raise BadRequest(f"Job {job.id} is a {job.type} job; AI content is made from a "
                         "TRANSCRIPTION job", message_key="NOT_A_TRANSCRIPTION_JOB")
    if job.status != "COMPLETED":
        state = "failed, so it has no transcript" if job.status == "FAILED" else (
            "still PENDING; ask again once it has COMPLETED")
        raise BadRequest(f"Transcription job {job.id} is {state}",
                         message_key="JOB_NOT_COMPLETED")
    transcript, language = transcript_of(job)
    if not transcript:
        raise BadRequest(f"Transcription job {job.id} has an empty transcript; there is "
                         "nothing to write from", message_key="EMPTY_TRANSCRIPT")
    return Source(job, transcript, language)


def _options(parts: Mapping[str, PartRequest], spec: ContentSpec) -> dict[str, Any]:
    return {"parts": {name: {"language": p.language, "prompt": p.prompt}
                      for name, p in parts.items()},
            "contentTitle": spec.title, "date": spec.date, "instructions": spec.instructions}


def _single_language(parts: Mapping[str, PartRequest]) -> str | None:
    languages = {p.language for p in parts.values()}
    return languages.pop() if len(languages) == 1 else None


def _fingerprint(spec: ContentSpec, source: str) -> str:
    return idempotency.fingerprint({"source": source, "spec": repr(spec)})


def _checked_parts(settings: Settings, content: ContentEngine, spec: ContentSpec,
                   transcript: str, language: str) -> dict[str, PartRequest]:
    """Everything about the request that can be refused before a job exists. An empty
    ``transcript`` is one not made yet."""
    parts = resolve_parts(spec.asks, spec.language or language)
    check_writable(content, parts, language, spec.instructions)
    content.check(ContentRequest(
        transcript=transcript, transcript_language=language, parts=parts, title=spec.title,
        date=spec.date, instructions=spec.instructions))
    if spec.webhook_url:
        check_url(spec.webhook_url, url_policy(settings), purpose="webhookUrl")
    return parts


def _replayed(session: Session, settings: Settings, principal: Principal,
              idempotency_key: str | None, request_hash: str) -> Job | None:
    """The job an earlier request with this Idempotency-Key made, before anything is checked:
    a retry gets its job even if its source has changed since."""
    if not idempotency_key:
        return None
    return find_idempotent_job(session, principal, idempotency_key, request_hash,
                               settings.idempotency_hours)


def submit_ai_content(session: Session, principal: Principal, source_job_id: str,
                      spec: ContentSpec, idempotency_key: str | None, *,
                      settings: Settings, content: ContentEngine) -> Job:
    """Queue AI content for a completed transcription of the caller's project."""
    request_hash = _fingerprint(spec, source_job_id)
    replayed = _replayed(session, settings, principal, idempotency_key, request_hash)
    if replayed is not None:
        return replayed
    source = source_transcription(session, principal, source_job_id)
    parts = _checked_parts(settings, content, spec, source.transcript, source.language)
    new = NewJob(
        type="AI_CONTENT", title=spec.title or f"AI content: {source.job.title or source.job.id}",
        model=content.name, language=source.language, media_url=source.job.media_url,
        media_key=None, webhook_url=spec.webhook_url, webhook_auth=spec.webhook_auth,
        options=_options(parts, spec), relevant_job_id=source.job.id,
        to_language=_single_language(parts),
    )
    return create_job(session, principal, new, settings=settings,
                      idempotency_key=idempotency_key, fingerprint=request_hash)


def submit_transcription_with_content(
    session: Session, principal: Principal, request: TranscriptionRequest, spec: ContentSpec,
    idempotency_key: str | None, *, settings: Settings, models: SttModels,
    content: ContentEngine,
) -> Job:
    """Queue a transcription and the AI content job that waits for it; returns the latter."""
    request_hash = _fingerprint(spec, repr(request))
    replayed = _replayed(session, settings, principal, idempotency_key, request_hash)
    if replayed is not None:
        return replayed
    parts = _checked_parts(settings, content, spec, "", request.language)
    transcription = submit_transcription(session, principal, request, settings=settings,
                                         models=models)
    new = NewJob(
        type="AI_CONTENT", title=spec.title or request.title, model=content.name,
        language=request.language, media_url=request.media_url, media_key=None,
        webhook_url=spec.webhook_url, webhook_auth=spec.webhook_auth,
        options=_options(parts, spec), relevant_job_id=transcription.id,
        to_language=_single_language(parts), waiting=True,
    )
    return create_job(session, principal, new, settings=settings,
                      idempotency_key=idempotency_key, fingerprint=request_hash)


def run_ai_content(db: Database, job: Job, *, settings: Settings,
                   content: ContentEngine) -> JobOutcome:
    """Write the job's parts from its transcription's transcript."""
    with db.session() as session:
        source = session.get(Job, job.relevant_job_id) if job.relevant_job_id else None
    if source is None:
        raise NotFound(f"The transcription job {job.relevant_job_id} no longer exists")
    usable = usable_source(source)
    transcript, transcript_language = usable.transcript, usable.language
    options = job.options or {}
    parts = {name: PartRequest(language=spec["language"], prompt=spec.get("prompt"))
             for name, spec in options["parts"].items()}
    # The worker's engine may be configured differently from the API that accepted the job.
    check_writable(content, parts, transcript_language, options.get("instructions"))
    result = content.generate(ContentRequest(
        transcript=transcript, transcript_language=transcript_language, parts=parts,
        title=options.get("contentTitle"), date=options.get("date"),
        instructions=options.get("instructions"), segments=segment_texts(source),
    ))
    for note in result.notes:
        log.info("AI content job %s: %s", job.id, note)
    response: dict[str, Any] = {name: result.parts[name] for name in parts}
    response["transcriptionJobId"] = source.id
    return JobOutcome(job_response=response, usage_seconds=None,
                      total_cost=price(settings, transcript), usage_tokens=result.total_tokens)


def price(settings: Settings, transcript: str) -> float:
    """The cost of AI content for a transcript: a price per started 1000 characters."""
    thousands = math.ceil(len(transcript) / 1000)
    return round(thousands * settings.ai_content_price_per_1k_chars, 6)


@dataclass(frozen=True)
class Estimate:
    price: float
    characters: int  # of transcript, what the price is counted on
    language: str
    engine: str


def estimate(session: Session, principal: Principal, job_id: str, *, settings: Settings,
             content: ContentEngine) -> Estimate:
    """What AI content for this transcription would cost, before asking for it."""
    source = source_transcription(session, principal, job_id)
    return Estimate(price(settings, source.transcript), len(source.transcript),
                    source.language, content.name)


def find_ai_content(session: Session, principal: Principal, job_id: str) -> Job:
    """An AI content job by its own id, or the newest one made from a transcription job."""
    job = get_job(session, principal, job_id)
    if job.type == "AI_CONTENT":
        return job
    latest = session.scalars(
        select(Job).where(Job.project_id == principal.project_id, Job.type == "AI_CONTENT",
                          Job.relevant_job_id == job.id)
        .order_by(Job.created_at.desc(), Job.id).limit(1)).first()
    if latest is None:
        raise NotFound(f"No AI content has been requested for job {job.id}")
    return latest
