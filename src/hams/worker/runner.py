"""The worker: claim → run the handler for the job type → record the outcome, fenced.

Threads, not processes: inference releases the GIL, models are shared, and one process can
host the API and its workers (``hams serve``) or only workers (``hams worker``). One claimer
thread takes jobs for the idle job threads (up to WORKER_CLAIM_BATCH in one statement) and
hands them over; one heartbeat thread extends every live lease of the process in one
statement per tick.
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
from queue import SimpleQueue
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from hams.db.models import Job, utcnow
from hams.engines.text import total_tokens
from hams.errors import HamsError
from hams.logs import job_context
from hams.media.urls import url_policy
from hams.queue import jobs as queue
from hams.queue.signals import signals_for
from hams.queue.wakeups import start_wakeups
from hams.ratelimit import delete_old_counters
from hams.runtime import Runtime
from hams.services.jobs import job_ended, sweep_stranded_followers
from hams.settings import PUBLIC_STT_MODELS
from hams.webhooks.delivery import WebhookSender
from hams.worker.handlers import job_handlers
from hams.worker.outcome import Handler, JobOutcome

log = logging.getLogger(__name__)
WEBHOOK_SENDERS = 2
ClaimKey = tuple[str, int]  # (job id, fencing): one claim, even of a job this worker retook


class Worker:
    """N job threads fed by one claimer, one heartbeat for all their leases, webhook sender
    threads and a maintenance loop; stopped gracefully by ``stop()``."""

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
        self._active: dict[ClaimKey, queue.Claim] = {}  # claimed and not yet recorded
        self._lost: set[ClaimKey] = set()  # leases the heartbeat found taken over
        self._active_lock = threading.Lock()
        self._handed: SimpleQueue[tuple[queue.Claim, Job] | None] = SimpleQueue()
        self._idle = concurrency  # job threads with nothing handed to them
        self._capacity = threading.Condition()
        self._beats_stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._heartbeat_loop, daemon=True,
                                           name="hams-heartbeat")

    def start(self) -> None:
        start_wakeups(self.db, self.settings)
        self._spawn(self._preload, "hams-preload")
        for index in range(self.concurrency):
            self._spawn(self._job_loop, f"hams-worker-{index}")
        self._spawn(self._claim_loop, "hams-claimer")
        for index in range(WEBHOOK_SENDERS):  # one slow receiver must not hold up the rest
            self._spawn(self._webhook_loop, f"hams-webhooks-{index}")
        self._spawn(self._maintenance_loop, "hams-maintenance")
        self._heartbeat.start()

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
        with self._capacity:
            self._capacity.notify_all()
        for _ in range(self.concurrency):  # after any claims already handed over
            self._handed.put(None)
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        deadline = time.monotonic() + grace
        for thread in self._threads:
            while thread.is_alive() and time.monotonic() < deadline:
                thread.join(timeout=0.1)
        self._beats_stop.set()  # before releasing: a released lease is not ours to extend
        if self._heartbeat.is_alive():
            self._heartbeat.join(timeout=5)
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

    def _claim_loop(self) -> None:
        """Claim for the idle job threads, never more jobs than there are idle threads (one
        at a time under a per-project cap: see ``queue.claim_statement``)."""
        batch = 1 if self.settings.project_max_running_jobs else self.settings.worker_claim_batch
        while not self._stop.is_set():
            with self._capacity:
                self._capacity.wait_for(lambda: self._idle > 0 or self._stop.is_set())
                wanted = min(self._idle, batch)
            if self._stop.is_set():
                return
            token = self.signals.work_token()
            try:
                claimed = self._claim(wanted)
            except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                log.exception("worker claim failed")
                self._stop.wait(self.settings.worker_poll_seconds)
                continue
            with self._capacity:
                self._idle -= len(claimed)
            for item in claimed:
                self._handed.put(item)
            if len(claimed) < wanted:  # the queue ran dry: sleep until a job is created
                self.signals.wait_for_work(token, self.settings.worker_poll_seconds)

    def _claim(self, limit: int) -> list[tuple[queue.Claim, Job]]:
        with self.db.session() as session:
            claimed = self._claim_in(session, limit)
        return self._hold(claimed)

    def _claim_in(self, session: Session, limit: int) -> list[tuple[queue.Claim, Job]]:
        return queue.claim_jobs(session, self.name, utcnow(), self.settings.lease_seconds,
                                self.settings.project_max_running_jobs, limit)

    def _hold(self, claimed: list[tuple[queue.Claim, Job]]) -> list[tuple[queue.Claim, Job]]:
        """Count committed claims as this worker's: heartbeat them, release them on stop."""
        with self._active_lock:
            for claim, _ in claimed:
                self._active[(claim.job_id, claim.fencing)] = claim
        return claimed

    def _job_loop(self) -> None:
        """Run what the claimer hands over; each outcome's transaction also claims this
        thread's next job, so a busy queue costs one transaction per job."""
        item = self._handed.get()
        while item is not None:
            claim, job = item
            item = None
            try:
                if not self._stop.is_set():  # else left claimed: stop() releases it
                    item = self._run_claimed(claim, job, claim_next=True)
            except Exception:  # noqa: BLE001 - the thread must survive a database hiccup
                log.exception("worker error on job %s", claim.job_id)
            if item is None:
                with self._capacity:
                    self._idle += 1
                    self._capacity.notify_all()
                if self.settings.project_max_running_jobs:  # a slot under the cap is free
                    self.signals.wake_all()
                item = self._handed.get()

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

    def _heartbeat_loop(self) -> None:
        while not self._beats_stop.wait(self.settings.lease_seconds / 3):
            try:
                self.heartbeat()
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next tick
                log.exception("heartbeat failed")

    def heartbeat(self) -> None:
        """Extend every live lease of this worker in one statement; note the ones lost."""
        with self._active_lock:
            claims = [claim for key, claim in self._active.items() if key not in self._lost]
        if not claims:
            return
        with self.db.session() as session:
            ours = queue.extend_leases(session, claims, utcnow(), self.settings.lease_seconds)
        for claim in claims:
            if claim.job_id not in ours:
                log.warning("lost the lease on job %s", claim.job_id)
                with self._active_lock:
                    self._lost.add((claim.job_id, claim.fencing))

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
        """Claim and run one job in this thread; False when the queue had nothing runnable."""
        claimed = self._claim(1)
        if not claimed:
            return False
        self._run_claimed(*claimed[0])
        return True

    def _run_claimed(self, claim: queue.Claim, job: Job, claim_next: bool = False
                     ) -> tuple[queue.Claim, Job] | None:
        """Run a claimed job and record its outcome (the heartbeat covers it meanwhile);
        with ``claim_next``, the job claimed in the same transaction, if any."""
        try:
            with job_context(claim.job_id):  # its log lines, the runner's own included
                following = self._run_claim(claim, job, claim_next)
        finally:
            key = (claim.job_id, claim.fencing)
            with self._active_lock:
                self._active.pop(key, None)
                self._lost.discard(key)
        return following

    def _run_claim(self, claim: queue.Claim, job: Job, claim_next: bool
                   ) -> tuple[queue.Claim, Job] | None:
        if claim.attempts > claim.max_attempts:
            return self._fail(claim, "The job was abandoned by its workers too many times",
                              claim_next=claim_next)
        handler = self.handlers.get(claim.type)
        if handler is None:
            return self._fail(claim, f"No handler for job type {claim.type} on this worker",
                              claim_next=claim_next)
        outcome: JobOutcome | None = None
        error: Exception | None = None
        try:
            outcome = handler(job)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            error = exc
        return self._record(claim, outcome, error, claim_next)

    def _record(self, claim: queue.Claim, outcome: JobOutcome | None,
                error: Exception | None, claim_next: bool) -> tuple[queue.Claim, Job] | None:
        if outcome is not None:
            return self._complete(claim, outcome, claim_next)
        message = error.message if isinstance(error, HamsError) else (
            f"Internal error while processing job {claim.job_id}; the server log has details")
        retryable = not isinstance(error, HamsError) or error.retryable
        if not isinstance(error, HamsError):
            log.error("job %s failed", claim.job_id, exc_info=error)
        if retryable and claim.attempts < claim.max_attempts:
            delay = self.settings.retry_backoff_seconds * 2 ** (claim.attempts - 1)
            with self.db.session() as session:
                queue.schedule_retry(session, claim, utcnow() + timedelta(seconds=delay), message,
                                     **_add_tokens(_tokens_used(error)))
            return None
        key = error.message_key if isinstance(error, HamsError) else HamsError.message_key
        return self._fail(claim, message, _tokens_used(error), key, claim_next=claim_next)

    def _complete(self, claim: queue.Claim, outcome: JobOutcome, claim_next: bool
                  ) -> tuple[queue.Claim, Job] | None:
        with self.db.session() as session:
            ended = queue.finish_job(
                session, claim, utcnow(), state="completed", status="COMPLETED", error=None,
                job_response=outcome.job_response, usage_seconds=outcome.usage_seconds,
                total_cost=outcome.total_cost, media_key=outcome.media_key,
                **_add_tokens(outcome.usage_tokens),
                **({"media_url": outcome.media_url} if outcome.media_url else {}),
            )
            if ended is not None:
                job_ended(session, ended, has_followers=ended.has_followers)
            else:
                log.warning("stale result for job %s refused (fencing %d)", claim.job_id,
                            claim.fencing)
            queue.notify_finished(session, claim.job_id)
            following = self._claim_following(session, claim_next)
        return self._first_held(following)

    def _fail(self, claim: queue.Claim, message: str, tokens: int | None = None,
              message_key: str = HamsError.message_key, *, claim_next: bool = False
              ) -> tuple[queue.Claim, Job] | None:
        """Record the failure with its stable key, so a caller waiting on the job (the
        OpenAI-compatible routes) can answer with the status the error stands for."""
        response = {"error": message, "messageKey": message_key}
        with self.db.session() as session:
            ended = queue.finish_job(session, claim, utcnow(), state="failed", status="FAILED",
                                     error=message, job_response=response,
                                     **_add_tokens(tokens))
            if ended is not None:
                job_ended(session, ended, has_followers=ended.has_followers)
            queue.notify_finished(session, claim.job_id)
            following = self._claim_following(session, claim_next)
        return self._first_held(following)

    def _claim_following(self, session: Session, claim_next: bool
                         ) -> list[tuple[queue.Claim, Job]]:
        """The next job for the thread that is recording an outcome, claimed in the same
        transaction (one commit instead of two); none once stopping."""
        return self._claim_in(session, 1) if claim_next and not self._stop.is_set() else []

    def _first_held(self, claimed: list[tuple[queue.Claim, Job]]
                    ) -> tuple[queue.Claim, Job] | None:
        return self._hold(claimed)[0] if claimed else None


def _add_tokens(tokens: int | None) -> dict[str, Any]:
    """This attempt's LLM tokens added to what earlier attempts of the job spent: a retried
    job is billed for every call it made, not only the last attempt's. Without tokens, no
    value at all: the column keeps what it holds, and the queue reuses its built statement."""
    column = Job.__table__.c.usage_tokens
    return {"usage_tokens": func.coalesce(column, 0) + tokens} if tokens else {}


def _tokens_used(error: Exception | None) -> int | None:
    """LLM tokens a failed attempt had already used (engines attach ``usage`` to the error)."""
    usage = getattr(error, "usage", None)
    return total_tokens(*usage) if usage else None
