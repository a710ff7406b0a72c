"""The job queue on SQLite and PostgreSQL: exactly-once outcomes, leases, fencing, retries.

Every test that takes ``runtime`` runs once per database (see ``database_url`` in conftest).
The SQL snapshot tests at the end compile the claim statements without any database.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hams.db.models import Job, WebhookDelivery, utcnow
from hams.errors import UnsupportedMedia
from hams.queue import jobs as queue
from hams.queue.deliveries import claim_delivery_statement
from hams.runtime import Runtime
from hams.services import jobs as job_service
from hams.settings import Settings
from hams.worker.outcome import JobOutcome
from hams.worker.runner import Worker
from tests.factories import load_job, make_job, make_jobs, make_principal
from tests.helpers.wait import wait_until

LEASE_SECONDS = 60
SNAPSHOTS = Path(__file__).parent / "snapshots"
Handler = Callable[[Job], JobOutcome]


# --- helpers ---------------------------------------------------------------------------------


def outcome_for(job: Job) -> JobOutcome:
    """The result every fake handler returns: the job's own id as its text."""
    return JobOutcome(job_response={"text": job.id}, usage_seconds=1.0, total_cost=0.0)


def make_worker(runtime: Runtime, handler: Handler, concurrency: int = 1,
                settings: Settings | None = None) -> Worker:
    if settings is not None:
        runtime = dataclasses.replace(runtime, settings=settings)
    worker = Worker(runtime, concurrency=concurrency)
    worker.handlers["TRANSCRIPTION"] = handler
    return worker


def claim(runtime: Runtime, worker_id: str = "test-worker") -> queue.Claim | None:
    with runtime.db.session() as session:
        return queue.claim_next_job(session, worker_id, utcnow(), LEASE_SECONDS)


def job_row(runtime: Runtime, job_id: str) -> dict[str, Any]:
    """Every column of the job's row, to prove that a refused write changed nothing."""
    with runtime.db.session() as session:
        row = session.execute(select(queue.jobs).where(queue.jobs.c.id == job_id)).one()
        return dict(row._mapping)


def move_into_past(runtime: Runtime, job_id: str, column: str) -> None:
    """Set a time column a second into the past directly in the table (never a sleep)."""
    with runtime.db.session() as session:
        session.execute(update(queue.jobs).where(queue.jobs.c.id == job_id)
                        .values({column: utcnow() - timedelta(seconds=1)}))


def expire_lease(runtime: Runtime, job_id: str) -> None:
    """The lease runs out, as if its worker had died."""
    move_into_past(runtime, job_id, "lease_expires_at")


def make_due(runtime: Runtime, job_id: str) -> None:
    """A retry's backoff has elapsed."""
    move_into_past(runtime, job_id, "run_after")


def count_jobs_in_state(runtime: Runtime, state: str) -> int:
    with runtime.db.session() as session:
        return session.scalar(
            select(func.count()).select_from(queue.jobs).where(queue.jobs.c.state == state)
        )


def deliveries_for(runtime: Runtime, job_id: str) -> list[WebhookDelivery]:
    with runtime.db.session() as session:
        return list(session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)
        ))


def run_until_terminal(worker: Worker, runtime: Runtime, job_id: str, timeout: float = 30.0
                       ) -> Job:
    """Drive ``worker.run_once()`` in this thread until the job has an outcome."""

    def finished() -> Job | None:
        if (job := load_job(runtime, job_id)).state in queue.TERMINAL_STATES:
            return job
        worker.run_once()  # nothing to run: a retry's backoff has not elapsed yet
        return None

    return wait_until(finished, timeout, interval=0.01, what=lambda: (
        f"job {job_id} to end (still {load_job(runtime, job_id).state})"))


class Recorder:
    """A handler that records, thread-safely, every job it ran and completes it."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, job: Job) -> JobOutcome:
        with self._lock:
            self.ran.append(job.id)
        return outcome_for(job)


def failing_handler(errors: list[Exception]) -> tuple[Handler, list[str]]:
    """A handler raising ``errors`` in turn on successive calls, then completing the job."""
    calls: list[str] = []

    def handler(job: Job) -> JobOutcome:
        calls.append(job.id)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return outcome_for(job)

    return handler, calls


def claim_then_reclaim(runtime: Runtime) -> tuple[str, queue.Claim, queue.Claim]:
    """One job claimed, its lease expired, and claimed again: (job id, first, second)."""
    job = make_job(runtime, make_principal(runtime))
    first = claim(runtime, "first")
    assert first is not None
    assert (first.job_id, first.fencing, first.attempts) == (job.id, 1, 1)
    expire_lease(runtime, job.id)
    second = claim(runtime, "second")
    assert second is not None
    return job.id, first, second


# --- 1. exactly once under concurrency -------------------------------------------------------


def test_worker_runs_each_job_exactly_once(runtime: Runtime) -> None:
    job_ids = set(make_jobs(runtime, make_principal(runtime), 200))
    recorder = Recorder()
    worker = make_worker(runtime, recorder, concurrency=4)
    worker.start()
    try:
        wait_until(lambda: count_jobs_in_state(runtime, "completed") == 200, 120,
                   what="200 completed jobs")
    finally:
        worker.stop()

    duplicates = [job_id for job_id, n in Counter(recorder.ran).items() if n > 1]
    assert duplicates == []
    assert len(recorder.ran) == 200
    assert set(recorder.ran) == job_ids
    for job_id in job_ids:
        job = load_job(runtime, job_id)
        assert (job.state, job.status) == ("completed", "COMPLETED")
        assert (job.fencing, job.attempts) == (1, 1)
        assert job.job_response == {"text": job_id}
        assert job.worker_id == worker.name
        assert job.lease_expires_at is None


def test_concurrent_raw_claims_never_take_a_job_twice(runtime: Runtime) -> None:
    job_ids = set(make_jobs(runtime, make_principal(runtime), 200))
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            start.wait()
            while (got := claim(runtime, name)) is not None:
                with lock:
                    claimed.append(got.job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"claimer-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a claimer is stuck"
    assert failures == []
    assert len(claimed) == 200
    assert set(claimed) == job_ids
    assert count_jobs_in_state(runtime, "running") == 200


# --- 2. expired leases -----------------------------------------------------------------------


def test_expired_lease_is_reclaimed(runtime: Runtime) -> None:
    job_id, first, second = claim_then_reclaim(runtime)
    assert second.job_id == job_id
    assert (second.fencing, second.attempts) == (2, 2)
    job = load_job(runtime, job_id)
    assert (job.state, job.worker_id, job.fencing) == ("running", "second", 2)
    assert job.lease_expires_at > utcnow()


def test_unexpired_lease_is_not_reclaimed(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    first = claim(runtime, "first")
    assert first is not None and first.job_id == job.id
    before = job_row(runtime, job.id)
    assert claim(runtime, "second") is None
    assert job_row(runtime, job.id) == before


# --- 3. stale completion ---------------------------------------------------------------------


def test_stale_claim_cannot_extend_or_finish(runtime: Runtime) -> None:
    job_id, first, second = claim_then_reclaim(runtime)

    with runtime.db.session() as session:
        assert queue.extend_lease(session, first, utcnow(), LEASE_SECONDS) is False
    with runtime.db.session() as session:
        assert queue.extend_lease(session, second, utcnow(), LEASE_SECONDS) is True

    before = job_row(runtime, job_id)
    with runtime.db.session() as session:
        stored = queue.finish_job(session, first, utcnow(), state="completed",
                                  status="COMPLETED", job_response={"text": "stale"})
    assert stored is None
    assert job_row(runtime, job_id) == before

    with runtime.db.session() as session:
        stored = queue.finish_job(session, second, utcnow(), state="completed",
                                  status="COMPLETED", job_response={"text": "fresh"})
    assert stored is not None
    job = load_job(runtime, job_id)
    assert (job.state, job.status, job.job_response) == ("completed", "COMPLETED",
                                                         {"text": "fresh"})
    assert job.finished_at is not None and job.lease_expires_at is None


def test_finish_returns_the_ended_row_and_whether_jobs_wait_on_it(runtime: Runtime) -> None:
    """The row ``finish_job`` returns is what ends the job (no second read); its
    ``has_followers`` decides whether the ending transaction looks for followers at all."""
    principal = make_principal(runtime)
    lonely = make_job(runtime, principal, webhook_url="https://example.com/hook")
    followed = make_job(runtime, principal)
    make_job(runtime, principal, type="AI_CONTENT", state="waiting", relevant_job_id=followed.id)
    make_job(runtime, principal, type="AI_CONTENT", state="failed", relevant_job_id=lonely.id)
    ended = {}
    for _ in range(2):
        got = claim(runtime)
        assert got is not None
        with runtime.db.session() as session:
            ended[got.job_id] = queue.finish_job(session, got, utcnow(), state="completed",
                                                 status="COMPLETED", job_response={"text": "x"})
    assert ended[lonely.id].has_followers is False  # a follower that already ended is none
    assert ended[followed.id].has_followers is True
    row = ended[lonely.id]
    assert (row.id, row.state, row.job_response, row.webhook_url) == (
        lonely.id, "completed", {"text": "x"}, "https://example.com/hook")
    assert row.finished_at == load_job(runtime, lonely.id).finished_at


# --- 4. retries ------------------------------------------------------------------------------


def test_retryable_error_is_retried_after_backoff(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    handler, calls = failing_handler([RuntimeError("transient boom")])
    worker = make_worker(runtime, handler)

    before_first_attempt = utcnow()
    assert worker.run_once() is True
    retrying = load_job(runtime, job.id)
    assert (retrying.state, retrying.attempts) == ("retrying", 1)
    assert "Internal error" in retrying.error and "boom" not in retrying.error  # no internals
    backoff = timedelta(seconds=runtime.settings.retry_backoff_seconds)
    assert retrying.run_after >= before_first_attempt + backoff

    done = run_until_terminal(worker, runtime, job.id)
    assert (done.state, done.status) == ("completed", "COMPLETED")
    assert (done.attempts, done.fencing) == (2, 2)
    assert done.job_response == {"text": job.id}
    assert done.error is None
    assert calls == [job.id, job.id]


def test_retry_backoff_doubles_and_holds_the_job_back(runtime: Runtime) -> None:
    """A long backoff makes the timing exact: the job is not runnable until ``run_after``."""
    job = make_job(runtime, make_principal(runtime), max_attempts=3)
    handler, calls = failing_handler([RuntimeError("first"), RuntimeError("second")])
    slow = runtime.settings.model_copy(update={"retry_backoff_seconds": 600})
    worker = make_worker(runtime, handler, settings=slow)

    for attempt, delay in ((1, 600), (2, 1200)):
        before = utcnow()
        assert worker.run_once() is True
        after = utcnow()
        retrying = load_job(runtime, job.id)
        assert (retrying.state, retrying.attempts) == ("retrying", attempt)
        wait = timedelta(seconds=delay)
        assert before + wait <= retrying.run_after <= after + wait
        assert worker.run_once() is False  # held back by its backoff
        make_due(runtime, job.id)

    done = run_until_terminal(worker, runtime, job.id)
    assert (done.state, done.status, done.attempts) == ("completed", "COMPLETED", 3)
    assert calls == [job.id] * 3


def test_non_retryable_error_fails_at_once(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    message = "The file does not decode as audio"
    handler, calls = failing_handler([UnsupportedMedia(message)])
    worker = make_worker(runtime, handler)

    done = run_until_terminal(worker, runtime, job.id)
    assert (done.state, done.status, done.attempts) == ("failed", "FAILED", 1)
    assert done.error == message
    assert done.job_response == {"error": message, "messageKey": "UNSUPPORTED_MEDIA"}
    assert calls == [job.id]


def test_retryable_error_fails_after_max_attempts(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime), max_attempts=3)
    handler, calls = failing_handler([RuntimeError(f"boom {n}") for n in range(1, 10)])
    worker = make_worker(runtime, handler)

    done = run_until_terminal(worker, runtime, job.id)
    assert (done.state, done.status, done.attempts) == ("failed", "FAILED", 3)
    assert "Internal error" in done.error and "server log" in done.error
    assert done.job_response == {"error": done.error, "messageKey": "INTERNAL_ERROR"}
    assert calls == [job.id] * 3


# --- 5. release on shutdown ------------------------------------------------------------------


def test_release_job_requeues_without_counting_the_attempt(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    first = claim(runtime)
    assert first is not None and (first.fencing, first.attempts) == (1, 1)

    with runtime.db.session() as session:
        assert queue.release_job(session, first, utcnow()) is True
    released = load_job(runtime, job.id)
    assert (released.state, released.attempts, released.fencing) == ("queued", 0, 2)
    assert released.worker_id is None and released.lease_expires_at is None

    before = job_row(runtime, job.id)
    with runtime.db.session() as session:
        assert queue.finish_job(session, first, utcnow(), state="completed",
                                status="COMPLETED") is None
    assert job_row(runtime, job.id) == before

    again = claim(runtime)
    assert again is not None and again.job_id == job.id
    assert (again.fencing, again.attempts) == (3, 1)


def test_worker_stop_releases_a_running_job_and_refuses_its_late_result(
        runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    started, proceed = threading.Event(), threading.Event()

    def slow_handler(running: Job) -> JobOutcome:
        started.set()
        proceed.wait(timeout=30)
        return outcome_for(running)

    worker = make_worker(runtime, slow_handler)
    worker.start()
    try:
        assert started.wait(timeout=30), "the worker never ran the job"
        worker.stop(grace=0.2)  # the handler is still blocked: the job must be released
        released = load_job(runtime, job.id)
        assert (released.state, released.attempts, released.fencing) == ("queued", 0, 2)
    finally:
        proceed.set()
        for thread in worker._threads:  # let the late result reach the database
            thread.join(timeout=30)
    late = load_job(runtime, job.id)
    assert (late.state, late.status, late.fencing) == ("queued", "PENDING", 2)
    assert late.job_response is None


# --- 6. cancel -------------------------------------------------------------------------------


def test_cancel_queued_job(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    with runtime.db.session() as session:
        assert queue.cancel_job(session, job.id, utcnow(), "Cancelled by the user") is True
    cancelled = load_job(runtime, job.id)
    assert (cancelled.state, cancelled.status) == ("cancelled", "FAILED")
    assert cancelled.job_response == {"error": "Cancelled by the user"}
    assert claim(runtime) is None
    with runtime.db.session() as session:  # a finished job cannot be cancelled again
        assert queue.cancel_job(session, job.id, utcnow(), "again") is False


def test_cancel_running_job_refuses_the_workers_result(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime), webhook_url="http://127.0.0.1:1/hook")

    def cancelled_mid_run(running: Job) -> JobOutcome:
        with runtime.db.session() as session:
            assert queue.cancel_job(session, running.id, utcnow(), "Cancelled mid-run")
        return outcome_for(running)

    worker = make_worker(runtime, cancelled_mid_run)
    assert worker.run_once() is True
    done = load_job(runtime, job.id)
    assert (done.state, done.status) == ("cancelled", "FAILED")
    assert done.job_response == {"error": "Cancelled mid-run"}
    assert done.fencing == 2
    assert deliveries_for(runtime, job.id) == []


# --- 7. webhook outbox -----------------------------------------------------------------------


def test_finished_job_with_webhook_gets_one_delivery(runtime: Runtime) -> None:
    url = "http://127.0.0.1:1/hook"
    job = make_job(runtime, make_principal(runtime), webhook_url=url)
    done = run_until_terminal(make_worker(runtime, outcome_for), runtime, job.id)
    assert done.status == "COMPLETED"

    [delivery] = deliveries_for(runtime, job.id)
    assert (delivery.event, delivery.url, delivery.state) == ("job.completed", url, "pending")
    payload = json.loads(delivery.payload)
    assert payload["data"]["id"] == job.id
    assert payload["data"]["status"] == "COMPLETED"
    assert payload["data"]["jobResponse"] == {"text": job.id}


def test_failed_job_with_webhook_gets_one_failed_delivery(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime), webhook_url="http://127.0.0.1:1/hook")
    handler, _ = failing_handler([UnsupportedMedia("not audio")])
    run_until_terminal(make_worker(runtime, handler), runtime, job.id)

    [delivery] = deliveries_for(runtime, job.id)
    assert delivery.event == "job.failed"
    assert json.loads(delivery.payload)["data"]["id"] == job.id


def test_job_without_webhook_gets_no_delivery(runtime: Runtime) -> None:
    job = make_job(runtime, make_principal(runtime))
    done = run_until_terminal(make_worker(runtime, outcome_for), runtime, job.id)
    assert done.status == "COMPLETED"
    assert deliveries_for(runtime, job.id) == []


def test_delivery_and_outcome_commit_together(runtime: Runtime,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """If writing the delivery fails, the outcome written before it is rolled back too."""
    job = make_job(runtime, make_principal(runtime), webhook_url="http://127.0.0.1:1/hook")
    real_enqueue = job_service.enqueue_job_webhook

    def enqueue_then_crash(session: Any, finished: Job) -> Any:
        real_enqueue(session, finished)
        session.flush()
        raise RuntimeError("crash after the delivery insert")

    monkeypatch.setattr(job_service, "enqueue_job_webhook", enqueue_then_crash)
    with pytest.raises(RuntimeError, match="crash after the delivery insert"):
        make_worker(runtime, outcome_for).run_once()
    job_after = load_job(runtime, job.id)
    assert (job_after.state, job_after.status, job_after.job_response) == (
        "running", "PENDING", None)
    assert deliveries_for(runtime, job.id) == []


# --- 8. SQL snapshots (no database) ----------------------------------------------------------

DIALECTS = {"postgresql": postgresql.dialect(), "sqlite": sqlite.dialect()}
FIXED_NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def compiled(statement: Any, dialect_name: str) -> str:
    return " ".join(str(statement.compile(dialect=DIALECTS[dialect_name])).split())


def matches_snapshot(name: str, sql: str) -> bool:
    """Compare with ``snapshots/<name>``; UPDATE_SNAPSHOTS=1 rewrites it from ``sql``."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql + "\n")
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1"
    return " ".join(path.read_text().split()) == sql


def assert_locking(sql: str, dialect_name: str) -> None:
    assert "RETURNING" in sql
    if dialect_name == "postgresql":
        assert "FOR UPDATE SKIP LOCKED" in sql
    else:
        assert "FOR UPDATE" not in sql


@pytest.mark.parametrize("dialect_name", sorted(DIALECTS))
def test_claim_sql_snapshot(dialect_name: str) -> None:
    sql = compiled(queue.claim_statement(), dialect_name)
    assert_locking(sql, dialect_name)
    assert matches_snapshot(f"claim_{dialect_name}.sql", sql), sql


@pytest.mark.parametrize("dialect_name", sorted(DIALECTS))
def test_claim_delivery_sql_snapshot(dialect_name: str) -> None:
    sql = compiled(claim_delivery_statement(FIXED_NOW, 60), dialect_name)
    assert_locking(sql, dialect_name)
    assert matches_snapshot(f"claim_delivery_{dialect_name}.sql", sql), sql
