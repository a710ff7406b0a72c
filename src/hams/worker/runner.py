"""The worker: claim → run the handler for the job type → record the outcome, fenced.

Threads, not processes: inference releases the GIL, models are shared, and one process can
host the API and its workers (``hams serve``) or only workers (``hams worker``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func

from hams.db.models import Job, utcnow
from hams.db.session import Database
from hams.engines.text import total_tokens
from hams.errors import HamsError
from hams.media.urls import url_policy
from hams.queue import jobs as queue
from hams.queue.signals import signals_for
from hams.ratelimit import delete_old_counters
from hams.runtime import Runtime
from hams.services.jobs import job_ended, sweep_stranded_followers
from hams.settings import PUBLIC_STT_MODELS
from hams.webhooks.delivery import WebhookSender
from hams.worker.handlers import job_handlers
from hams.worker.outcome import Handler, JobOutcome

log = logging.getLogger(__name__)
WEBHOOK_SENDERS = 2


class Worker:
    """N job threads plus one webhook sender thread, stopped gracefully by ``stop()``."""

    def __init__(self, runtime: Runtime, concurrency: int = 1):
        settings = self.settings = runtime.settings
        self.db = runtime.db
        self.models = runtime.models
        self.concurrency = concurrency
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers: dict[str, Handler] = job_handlers(runtime)
        self.sender = WebhookSender(settings, runtime.db, url_policy(settings))
        self.signals = signals_for(runtime.db)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._active: dict[int, queue.Claim] = {}
        self._active_lock = threading.Lock()

    def start(self) -> None:
        self._spawn(self._preload, "hams-preload")
        for index in range(self.concurrency):
            self._spawn(self._job_loop, f"hams-worker-{index}")
        for index in range(WEBHOOK_SENDERS):  # one slow receiver must not hold up the rest
            self._spawn(self._webhook_loop, f"hams-webhooks-{index}")
        self._spawn(self._maintenance_loop, "hams-maintenance")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, grace: float | None = None) -> bool:
        """Stop claiming; let running jobs finish within ``grace``, then release the rest.

        Returns whether every thread ended. One still inside native code (a model load,
        inference) must not meet interpreter shutdown: C++ aborts, so the caller exits hard.
        """
        self._stop.set()
        self.signals.wake_all()
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        deadline = threading.Event()
        timer = threading.Timer(grace, deadline.set)
        timer.start()
        for thread in self._threads:
            while thread.is_alive() and not deadline.is_set():
                thread.join(timeout=0.1)
        timer.cancel()
        with self._active_lock:
            unfinished = list(self._active.values())
        for claim in unfinished:
            with self.db.session() as session:
                if queue.release_job(session, claim, utcnow()):
                    log.warning("released job %s on shutdown", claim.job_id)
        return not any(thread.is_alive() for thread in self._threads)

    def _preload(self) -> None:
        """Load the configured models now, so the first job does not pay for it."""
        for public_model in PUBLIC_STT_MODELS:
            try:
                self.models.get(self.settings.engine_model_for(public_model))
            except HamsError as exc:
                log.error("STT model for %s unavailable: %s", public_model, exc.message)

    def _job_loop(self) -> None:
        while not self._stop.is_set():
            token = self.signals.work_token()
            try:
                if not self.run_once():
                    self.signals.wait_for_work(token, self.settings.worker_poll_seconds)
            except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                log.exception("worker loop error")
                self._stop.wait(self.settings.worker_poll_seconds)

    def _webhook_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.sender.send_due():
                    self._stop.wait(self.settings.worker_poll_seconds)
            except Exception:  # noqa: BLE001
                log.exception("webhook loop error")
                self._stop.wait(self.settings.worker_poll_seconds)

    def _maintenance_loop(self) -> None:
        while not self._stop.wait(self.settings.lease_seconds):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.exception("maintenance sweep failed")

    def sweep(self) -> int:
        """Settle followers stranded by a crash or a manual fix; how many were settled. Also
        drop rate-limit counters of windows long past."""
        window = self.settings.rate_limit_window_seconds
        with self.db.session() as session:
            settled = sweep_stranded_followers(session)
            delete_old_counters(session, before=int(time.time()) - 2 * window)
        if settled:
            log.warning("settled %d waiting job(s) whose source had already ended", settled)
        return settled

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue had nothing runnable."""
        with self.db.session() as session:
            claim = queue.claim_next_job(session, self.name, utcnow(),
                                         self.settings.lease_seconds,
                                         self.settings.project_max_running_jobs)
        if claim is None:
            return False
        ident = threading.get_ident()
        with self._active_lock:
            self._active[ident] = claim
        try:
            self._run_claim(claim)
        finally:
            with self._active_lock:
                self._active.pop(ident, None)
        return True

    def _run_claim(self, claim: queue.Claim) -> None:
        with self.db.session() as session:
            job = session.get(Job, claim.job_id)
        if job is None:
            return
        if claim.attempts > claim.max_attempts:
            self._fail(claim, "The job was abandoned by its workers too many times")
            return
        handler = self.handlers.get(claim.type)
        if handler is None:
            self._fail(claim, f"No handler for job type {claim.type} on this worker")
            return
        heartbeat = _Heartbeat(self.db, claim, self.settings.lease_seconds)
        heartbeat.start()
        outcome: JobOutcome | None = None
        error: Exception | None = None
        try:
            outcome = handler(job)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            error = exc
        finally:
            heartbeat.stop()
            self._record(claim, outcome, error)

    def _record(self, claim: queue.Claim, outcome: JobOutcome | None,
                error: Exception | None) -> None:
        if outcome is not None:
            self._complete(claim, outcome)
            return
        message = error.message if isinstance(error, HamsError) else (
            f"Internal error while processing job {claim.job_id}; the server log has details")
        retryable = not isinstance(error, HamsError) or error.retryable
        if not isinstance(error, HamsError):
            log.error("job %s failed", claim.job_id, exc_info=error)
        if retryable and claim.attempts < claim.max_attempts:
            delay = self.settings.retry_backoff_seconds * 2 ** (claim.attempts - 1)
            with self.db.session() as session:
                queue.schedule_retry(session, claim, utcnow() + timedelta(seconds=delay), message,
                                     usage_tokens=_add_tokens(_tokens_used(error)))
            return
        key = error.message_key if isinstance(error, HamsError) else HamsError.message_key
        self._fail(claim, message, _tokens_used(error), key)

    def _complete(self, claim: queue.Claim, outcome: JobOutcome) -> None:
        with self.db.session() as session:
            stored = queue.finish_job(
                session, claim, utcnow(), state="completed", status="COMPLETED", error=None,
                job_response=outcome.job_response, usage_seconds=outcome.usage_seconds,
                total_cost=outcome.total_cost, media_key=outcome.media_key,
                usage_tokens=_add_tokens(outcome.usage_tokens),
                **({"media_url": outcome.media_url} if outcome.media_url else {}),
            )
            if stored:
                job_ended(session, claim.job_id)
            else:
                log.warning("stale result for job %s refused (fencing %d)", claim.job_id,
                            claim.fencing)
            queue.notify_finished(session, claim.job_id)

    def _fail(self, claim: queue.Claim, message: str, tokens: int | None = None,
              message_key: str = HamsError.message_key) -> None:
        """Record the failure with its stable key, so a caller waiting on the job (the
        OpenAI-compatible routes) can answer with the status the error stands for."""
        response = {"error": message, "messageKey": message_key}
        with self.db.session() as session:
            if queue.finish_job(session, claim, utcnow(), state="failed", status="FAILED",
                                error=message, job_response=response,
                                usage_tokens=_add_tokens(tokens)):
                job_ended(session, claim.job_id)
            queue.notify_finished(session, claim.job_id)


def _add_tokens(tokens: int | None) -> Any:
    """This attempt's LLM tokens added to what earlier attempts of the job spent: a retried
    job is billed for every call it made, not only the last attempt's."""
    column = Job.__table__.c.usage_tokens
    return func.coalesce(column, 0) + tokens if tokens else column


def _tokens_used(error: Exception | None) -> int | None:
    """LLM tokens a failed attempt had already used (engines attach ``usage`` to the error)."""
    usage = getattr(error, "usage", None)
    return total_tokens(*usage) if usage else None


class _Heartbeat:
    """Extends a claim's lease every third of its length while the handler runs."""

    def __init__(self, db: Database, claim: queue.Claim, lease_seconds: float):
        self.db = db
        self.claim = claim
        self.lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="hams-heartbeat")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                with self.db.session() as session:
                    if not queue.extend_lease(session, self.claim, utcnow(), self.lease_seconds):
                        log.warning("lost the lease on job %s", self.claim.job_id)
                        return
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next tick
                log.exception("heartbeat failed for job %s", self.claim.job_id)
