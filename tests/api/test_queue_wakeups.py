"""Queue overhead and wake-ups between engines: batch claims, one heartbeat statement for all
leases, the database's clock for leases, and wake-ups carried by PostgreSQL NOTIFY or Redis
between two engines on one database (as two processes would be). Tests that take ``runtime``
run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hams.db.models import Job, utcnow
from hams.db.session import Database
from hams.queue import jobs as queue
from hams.queue import wakeups
from hams.queue.signals import QueueSignals, signals_for
from hams.runtime import Runtime
from hams.settings import Settings
from hams.worker.outcome import JobOutcome
from hams.worker.runner import Worker
from tests.factories import load_job, make_job, make_jobs, make_principal
from tests.helpers.wait import wait_until

LEASE_SECONDS = 60
EVENT_BOUND = 10  # seconds: an event must arrive within this, far below any poll in play


def claim_many(runtime: Runtime, limit: int, worker_id: str = "batch") -> list[queue.Claim]:
    with runtime.db.session() as session:
        return [claim for claim, _ in queue.claim_jobs(session, worker_id, utcnow(),
                                                       LEASE_SECONDS, limit=limit)]


# --- batch claims ----------------------------------------------------------------------------


def test_a_batch_claim_takes_the_oldest_jobs_once_each_with_their_rows(runtime: Runtime):
    ids = make_jobs(runtime, make_principal(runtime), 8)
    with runtime.db.session() as session:
        claimed = queue.claim_jobs(session, "batch", utcnow(), LEASE_SECONDS, limit=5)
    assert [claim.job_id for claim, _ in claimed] == ids[:5]
    for claim, job in claimed:  # the row as claimed: no second read needed
        assert (job.id, job.state, job.fencing, job.attempts) == (claim.job_id, "running", 1, 1)
        assert job.worker_id == "batch" and job.media_url
    assert [c.job_id for c in claim_many(runtime, 5, "other")] == ids[5:]
    assert claim_many(runtime, 5, "third") == []


def test_a_worker_never_claims_more_jobs_than_it_has_idle_threads(runtime: Runtime):
    make_jobs(runtime, make_principal(runtime), 6)
    release, started = threading.Event(), threading.Semaphore(0)

    def blocking(job: Job) -> JobOutcome:
        started.release()
        release.wait(30)
        return JobOutcome(job_response={"text": job.id}, usage_seconds=0.0, total_cost=0.0)

    settings = runtime.settings.model_copy(update={"worker_claim_batch": 8})
    worker = Worker(dataclasses.replace(runtime, settings=settings), concurrency=2)
    worker.handlers["TRANSCRIPTION"] = blocking
    worker.start()
    try:
        for _ in range(2):
            assert started.acquire(timeout=EVENT_BOUND), "a job thread never started"
        assert running_count(runtime) == 2  # the other 4 stay queued for other workers
    finally:
        release.set()
        wait_until(lambda: completed_count(runtime) == 6, 60, what="6 completed jobs")
        worker.stop()


def running_count(runtime: Runtime) -> int:
    return count_in(runtime, "running")


def completed_count(runtime: Runtime) -> int:
    return count_in(runtime, "completed")


def count_in(runtime: Runtime, state: str) -> int:
    from sqlalchemy import func, select

    with runtime.db.session() as session:
        return session.scalar(select(func.count()).where(Job.state == state))


# --- one heartbeat for all leases ------------------------------------------------------------


def test_one_heartbeat_extends_every_live_lease_and_reports_the_lost(runtime: Runtime):
    make_jobs(runtime, make_principal(runtime), 3)
    claims = claim_many(runtime, 3)
    stale = claims[0]
    with runtime.db.session() as session:  # the first was taken over by another worker
        session.execute(queue.jobs.update().where(queue.jobs.c.id == stale.job_id)
                        .values(fencing=queue.jobs.c.fencing + 1))
        session.execute(queue.jobs.update().values(lease_expires_at=utcnow()))
    before = {c.job_id: load_job(runtime, c.job_id).lease_expires_at for c in claims}
    with runtime.db.session() as session:
        ours = queue.extend_leases(session, claims, utcnow(), LEASE_SECONDS)
    assert ours == {c.job_id for c in claims[1:]}
    for claim in claims[1:]:
        assert load_job(runtime, claim.job_id).lease_expires_at > (
            before[claim.job_id] + timedelta(seconds=LEASE_SECONDS / 2))
    assert load_job(runtime, stale.job_id).lease_expires_at == before[stale.job_id]


def test_the_worker_heartbeat_covers_its_running_jobs_in_one_pass(runtime: Runtime):
    make_jobs(runtime, make_principal(runtime), 2)
    worker = Worker(runtime, concurrency=2)
    claimed = worker._claim(2)  # noqa: SLF001 - claimed as the claimer thread would
    with runtime.db.session() as session:
        session.execute(queue.jobs.update().values(lease_expires_at=utcnow()))
    worker.heartbeat()
    for claim, _ in claimed:
        lease = load_job(runtime, claim.job_id).lease_expires_at
        assert lease > utcnow() + timedelta(seconds=runtime.settings.lease_seconds / 2)


# --- the database's clock --------------------------------------------------------------------


def test_a_worker_with_a_fast_clock_cannot_steal_a_live_lease(runtime: Runtime):
    """PostgreSQL compares leases with its own clock, whatever time the worker passes."""
    if runtime.db.dialect != "postgresql":
        pytest.skip("on SQLite the database's clock is this host's: no other clock to trust")
    job = make_job(runtime, make_principal(runtime))
    assert claim_many(runtime, 1, "first")[0].job_id == job.id
    an_hour_ahead = utcnow() + timedelta(hours=1)
    with runtime.db.session() as session:
        assert queue.claim_next_job(session, "skewed", an_hour_ahead, LEASE_SECONDS) is None
    lease = load_job(runtime, job.id).lease_expires_at
    assert lease < utcnow() + timedelta(seconds=LEASE_SECONDS + 5)  # not from the fast clock


# --- wake-ups between engines ----------------------------------------------------------------


@pytest.fixture
def wakeup_pair(runtime: Runtime, tmp_path: Path, request: pytest.FixtureRequest
                ) -> Iterator[tuple[Runtime, Database]]:
    """``runtime`` sends; a second engine on the same database listens, as another process
    would (on SQLite, through Redis)."""
    settings = runtime.settings
    if runtime.db.dialect == "sqlite":
        settings = settings.model_copy(update={
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_key_prefix": request.getfixturevalue("redis_prefix")})
        runtime = dataclasses.replace(runtime, settings=settings)
    wakeups.start_wakeups(runtime.db, settings)
    other = Database(runtime.db.url)
    listener = wakeups.start_wakeups(other, settings)
    assert listener is not None and listener.connected.wait(EVENT_BOUND)
    try:
        yield runtime, other
    finally:
        other.dispose()
    assert not listener.alive


def test_a_created_job_wakes_the_other_engine_and_a_finish_reaches_its_waiters(wakeup_pair):
    runtime, other = wakeup_pair
    signals = signals_for(other)
    token = signals.work_token()
    with runtime.db.session() as session:
        job = make_job(session, make_principal(runtime))
        queue.notify_created(session)
    signals.wait_for_work(token, EVENT_BOUND)
    assert signals.work_token() != token, "the other engine was not woken"
    with runtime.db.session() as session:
        queue.notify_finished(session, job.id)
    wait_until(lambda: signals.finished(job.id), EVENT_BOUND, interval=0.01,
               what="the finish to reach the other engine")


def test_a_rolled_back_job_wakes_nobody(wakeup_pair):
    runtime, other = wakeup_pair
    signals = signals_for(other)
    with pytest.raises(RuntimeError), runtime.db.session() as session:
        queue.notify_finished(session, "rolled-back")
        raise RuntimeError("rollback")
    with runtime.db.session() as session:
        queue.notify_finished(session, "committed")
    wait_until(lambda: signals.finished("committed"), EVENT_BOUND, interval=0.01,
               what="the committed finish")
    assert not signals.finished("rolled-back")


def test_an_engine_ignores_its_own_echo():
    signals = QueueSignals()
    token = signals.work_token()
    wakeups.deliver(signals, f"{wakeups.CREATED} {signals.origin}")
    assert signals.work_token() == token
    wakeups.deliver(signals, f"{wakeups.CREATED} someone-else")
    assert signals.work_token() != token


def test_an_unreachable_redis_costs_the_wakeup_not_the_queue(tmp_path: Path):
    """The listener keeps retrying, commits still succeed, and the worker's poll runs jobs."""
    from tests.conftest import built_runtime

    with built_runtime(tmp_path, redis_url="redis://127.0.0.1:1/0") as runtime:
        worker = Worker(runtime, concurrency=1)
        worker.handlers["TRANSCRIPTION"] = lambda job: JobOutcome(
            job_response={"text": job.id}, usage_seconds=0.0, total_cost=0.0)
        worker.start()
        try:
            with runtime.db.session() as session:
                job = make_job(session, make_principal(runtime))
                queue.notify_created(session)
            wait_until(lambda: load_job(runtime, job.id).state == "completed", 30,
                       what="the job to complete by polling")
        finally:
            worker.stop()


def test_queue_notify_off_publishes_nothing(runtime: Runtime):
    settings: Settings = runtime.settings.model_copy(update={"queue_notify": False})
    assert wakeups.start_wakeups(runtime.db, settings) is None
    assert signals_for(runtime.db).publisher is None


def test_a_listener_that_loses_its_connection_reconnects_and_backs_off_afresh():
    """Each loss after a good connection waits the shortest backoff again, not a longer one."""
    attempts: list[int] = []

    def receive(stop: threading.Event, on_message) -> None:
        attempts.append(len(attempts))
        if len(attempts) % 2 == 0:  # every second try connects, then the link drops
            on_message("")
        raise ConnectionError("link dropped")

    listener = wakeups.Listener("test", QueueSignals(), receive).start()
    try:
        wait_until(lambda: len(attempts) >= 5, 10, what="the listener to retry")
        assert listener.alive and listener.failures <= 2
    finally:
        listener.stop()
    assert not listener.alive
