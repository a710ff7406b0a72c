"""The per-project cap on running jobs and the fair claim, on SQLite and PostgreSQL.

With ``max_running`` > 0 a claim never takes a job of a project already running that many, and
prefers the project running fewest (then the oldest job). Jobs over the cap wait; none is lost.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from hams.db.models import Job, utcnow
from hams.queue import jobs as queue
from hams.runtime import Runtime
from hams.worker.outcome import JobOutcome
from hams.worker.runner import Worker
from tests.api.test_queue import compiled, matches_snapshot
from tests.factories import load_job, make_job, make_jobs, make_principal
from tests.helpers.wait import wait_until

CAP = 2
LEASE_SECONDS = 60


def claim(runtime: Runtime, max_running: int = CAP, worker_id: str = "w") -> queue.Claim | None:
    with runtime.db.session() as session:
        return queue.claim_next_job(session, worker_id, utcnow(), LEASE_SECONDS, max_running)


def project_of(runtime: Runtime, got: queue.Claim | None) -> str | None:
    if got is None:
        return None
    return load_job(runtime, got.job_id).project_id


def finish(runtime: Runtime, got: queue.Claim) -> None:
    with runtime.db.session() as session:
        assert queue.finish_job(session, got, utcnow(), state="completed", status="COMPLETED")


def running_by_project(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        rows = session.execute(select(Job.project_id, func.count()).where(
            Job.state == "running").group_by(Job.project_id)).all()
        return {project: count for project, count in rows}


def test_cap_and_fewest_running_first(runtime: Runtime):
    a, b = make_principal(runtime), make_principal(runtime)
    make_jobs(runtime, a, 6)  # A's jobs are all older than B's
    make_jobs(runtime, b, 3)

    claims = [claim(runtime) for _ in range(5)]
    order = [project_of(runtime, c) for c in claims]
    assert order == [a.project_id, b.project_id, a.project_id, b.project_id, None]
    assert running_by_project(runtime) == {a.project_id: CAP, b.project_id: CAP}

    finish(runtime, claims[0])  # a slot of A frees: only A may take it
    assert project_of(runtime, claim(runtime)) == a.project_id
    assert claim(runtime) is None
    with runtime.db.session() as session:  # the rest wait in the queue, none is lost
        queued = session.scalar(select(func.count()).select_from(Job).where(
            Job.state == "queued"))
    assert queued == 6 + 3 - 5


def test_expired_lease_frees_its_slot_and_is_reclaimed_first_in_line(runtime: Runtime):
    a = make_principal(runtime)
    first, second = make_jobs(runtime, a, 2)
    make_jobs(runtime, a, 1)
    claim(runtime), claim(runtime)
    assert claim(runtime) is None  # A at its cap
    with runtime.db.session() as session:
        session.execute(update(Job).where(Job.id == first).values(lease_expires_at=utcnow()))
    again = claim(runtime)
    assert again is not None and (again.job_id, again.fencing) == (first, 2)
    assert running_by_project(runtime) == {a.project_id: CAP}
    assert claim(runtime) is None


def test_waiting_jobs_are_never_claimed_under_a_cap(runtime: Runtime):
    a = make_principal(runtime)
    source = make_job(runtime, a)
    make_job(runtime, a, type="AI_CONTENT", state="waiting", relevant_job_id=source.id)
    got = claim(runtime)
    assert got is not None and got.job_id == source.id
    assert claim(runtime) is None


def test_no_cap_keeps_oldest_first(runtime: Runtime):
    a, b = make_principal(runtime), make_principal(runtime)
    make_jobs(runtime, a, 3)
    make_jobs(runtime, b, 1)
    order = [project_of(runtime, claim(runtime, max_running=0)) for _ in range(4)]
    assert order == [a.project_id] * 3 + [b.project_id]


def claim_all_at_once(runtime: Runtime, claimers: int) -> list[str]:
    """``claimers`` threads start together and claim until nothing is left for them."""
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(claimers)
    failures: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            start.wait()
            while (got := claim(runtime, worker_id=name)) is not None:
                with lock:
                    claimed.append(got.job_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"c{i}",)) for i in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return claimed


def test_concurrent_claimers_never_pass_the_cap(runtime: Runtime):
    """Eight claimers at once, over several rounds: two must never both take a project's last
    slot (on PostgreSQL the claims take turns on an advisory lock)."""
    for _ in range(5):
        projects = [make_principal(runtime) for _ in range(3)]
        for principal in projects:
            make_jobs(runtime, principal, 6)
        claimed = claim_all_at_once(runtime, 8)
        assert len(claimed) == len(set(claimed)) == 3 * CAP
        assert running_by_project(runtime) == {p.project_id: CAP for p in projects}
        with runtime.db.session() as session:  # clear the round
            session.execute(update(Job).where(Job.state.in_(("running", "queued")))
                            .values(state="completed", lease_expires_at=None))


class Overlap:
    """A handler that tracks how many jobs of each project run at once, and in what order
    jobs finish."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.finished: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, job: Job) -> JobOutcome:
        with self._lock:
            self.now[job.project_id] += 1
            self.most[job.project_id] = max(self.most[job.project_id], self.now[job.project_id])
        time.sleep(self.seconds)  # stands for the work, so that jobs overlap
        with self._lock:
            self.now[job.project_id] -= 1
            self.finished.append(job.project_id)
        return JobOutcome(job_response={"text": job.id}, usage_seconds=1.0, total_cost=0.0)


def test_workers_share_fairly_under_the_cap(runtime: Runtime):
    """A's burst of 30, then B's 5, on 4 workers with a cap of 2: B is done long before A."""
    a, b = make_principal(runtime), make_principal(runtime)
    make_jobs(runtime, a, 30)
    make_jobs(runtime, b, 5)
    handler = Overlap(0.05)
    settings = runtime.settings.model_copy(update={"project_max_running_jobs": CAP})
    worker = Worker(dataclasses.replace(runtime, settings=settings), concurrency=4)
    worker.handlers["TRANSCRIPTION"] = handler
    worker.start()
    try:
        wait_until(lambda: len(handler.finished) >= 35, timeout=60, what="35 finished jobs")
    finally:
        worker.stop()
    assert len(handler.finished) == 35
    assert max(handler.most.values()) <= CAP, handler.most
    assert handler.most[a.project_id] == CAP  # the cap was reached, not merely never tested
    last_b = max(i for i, p in enumerate(handler.finished) if p == b.project_id)
    # B's 5 are done while A still has 15 or more to go (oldest first, they would be last)
    assert last_b < 20, handler.finished


@pytest.mark.parametrize("dialect_name", ["postgresql", "sqlite"])
def test_fair_claim_sql_snapshot(dialect_name: str):
    sql = compiled(queue.claim_statement(max_running=CAP), dialect_name)
    if dialect_name == "postgresql":
        assert "FOR UPDATE OF jobs SKIP LOCKED" in sql  # the job row, not the running counts
    assert matches_snapshot(f"claim_fair_{dialect_name}.sql", sql), sql
