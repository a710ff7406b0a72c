"""The job types a worker runs, registered one way: ``Job.type`` → a ``Handler``.

This is the worker's edge, where the ``Runtime`` is unpacked: each adapter passes the parts
its service's ``run_*`` uses by name, so services never see the whole ``Runtime``.
"""

from __future__ import annotations

from hams.runtime import Runtime
from hams.services.ai_content import run_ai_content
from hams.services.conversation_analysis import run_conversation_analysis
from hams.services.knowledge_ingest import run_knowledge_job
from hams.services.transcription import run_transcription
from hams.services.tts_jobs import run_tts_job
from hams.worker.outcome import Handler


def job_handlers(runtime: Runtime) -> dict[str, Handler]:
    """Every job type a worker can run, bound to ``runtime``'s parts."""
    r = runtime
    return {
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
