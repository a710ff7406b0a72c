"""The job types a worker runs, registered one way: ``Job.type`` → a ``Handler``.

This is the worker's edge, where the ``Runtime`` is unpacked: each adapter passes the parts
its service's ``run_*`` uses by name, so services never see the whole ``Runtime``. Every
handler is wrapped (``observed``): its log lines carry the job id, and its run is timed.
"""

from __future__ import annotations

import logging
import time

from hams import metrics
from hams.db.models import Job
from hams.errors import HamsError
from hams.logs import job_context
from hams.runtime import Runtime
from hams.services.ai_content import run_ai_content
from hams.services.conversation_analysis import run_conversation_analysis
from hams.services.knowledge_ingest import run_knowledge_job
from hams.services.transcription import run_transcription
from hams.services.tts_jobs import run_tts_job
from hams.worker.outcome import Handler, JobOutcome

log = logging.getLogger(__name__)


def job_handlers(runtime: Runtime) -> dict[str, Handler]:
    """Every job type a worker can run, bound to ``runtime``'s parts."""
    r = runtime
    handlers: dict[str, Handler] = {
        "TRANSCRIPTION": lambda job: run_transcription(
            job, settings=r.settings, storage=r.storage, models=r.models),
        "TTS": lambda job: run_tts_job(
            r.db, job, settings=r.settings, tts=r.tts, storage=r.storage,
            secret_key=r.secret_key),
        "AI_CONTENT": lambda job: run_ai_content(
            r.db, job, settings=r.settings, content=r.content),
        "KNOWLEDGE_BASE": lambda job: run_knowledge_job(
            r.db, job, settings=r.settings, storage=r.storage, embedder=r.embedder.get()),
        "CONVERSATION_ANALYSIS": lambda job: run_conversation_analysis(
            r.db, job, settings=r.settings, secrets=r.secrets, secret_key=r.secret_key),
    }
    return {job_type: observed(job_type, handler) for job_type, handler in handlers.items()}


def observed(job_type: str, handler: Handler) -> Handler:
    """``handler`` with its log lines tagged with the job id and its real-time factor
    recorded, so every job type is measured the same way."""

    def run(job: Job) -> JobOutcome:
        with job_context(job.id):
            started = time.perf_counter()
            try:
                outcome = handler(job)
            except HamsError as exc:
                log.info("%s job failed after %.2f s: %s", job_type,
                         time.perf_counter() - started, exc.message)
                raise
            seconds = time.perf_counter() - started
            factor = metrics.job_ran(job_type, seconds, outcome.usage_seconds)
            log.info("%s job ran in %.2f s%s", job_type, seconds,
                     "" if factor is None else f" (real-time factor {factor:.3f})")
            return outcome

    return run
