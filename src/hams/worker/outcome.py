"""What every job handler takes and gives back: the one contract between worker and services.

Imports no service, so the services' ``run_*`` functions can return ``JobOutcome`` without a
cycle; the table that binds each job type to its service is ``worker/handlers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hams.db.models import Job


@dataclass(frozen=True)
class JobOutcome:
    """What a handler hands back for the worker to record, fenced, in one transaction."""

    job_response: dict[str, Any]
    usage_seconds: float | None
    total_cost: float
    media_key: str | None = None
    media_url: str | None = None  # set when the job produced the media (TTS)
    usage_tokens: int | None = None  # LLM tokens (AI content), when the engine reports them


class Handler(Protocol):
    """Runs one claimed job. Raising a ``HamsError`` fails it (retried if ``retryable``);
    any other exception is retried as an internal error."""

    def __call__(self, job: Job) -> JobOutcome: ...
