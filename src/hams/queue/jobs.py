"""Every statement of the job queue, one function each, over the ``jobs`` table.

States: queued → running → completed | failed | (retrying → running ...) ; cancelled at any time
before the end. A job that follows another (AI content after its transcription) starts in
``waiting`` and is never claimed until the job it follows completes (→ queued) or ends
otherwise (→ failed).

A claim takes a lease (``lease_expires_at``) and bumps ``fencing``; every later write by that
worker names the fencing number it got, so a worker whose lease was taken over can never
overwrite the newer owner's outcome. Leases are set and compared by the database's clock
(``database_clock``), so workers whose clocks disagree still agree on which lease expired.
A queued job is due at once (only a retry waits for its ``run_after``), so the clock of the
host that created it cannot hold it back.

With a per-project cap (HAMS_PROJECT_MAX_RUNNING_JOBS) the claim skips projects at the cap and
prefers the project running fewest; jobs over the cap simply stay queued.

Services never signal by hand: ``notify_created`` and ``notify_finished`` register this
process's wake-ups (``signals``) to run after the caller's transaction commits, and tell other
processes (``wakeups``) in the same transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Row,
    Select,
    String,
    Update,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.functions import FunctionElement

from hams.db.models import Job, UtcDateTime, utcnow
from hams.db.session import Database, after_commit
from hams.queue import wakeups
from hams.queue.signals import signals_for

jobs = Job.__table__
RUNNABLE_STATES = ("queued", "retrying")
WAITING = "waiting"
TERMINAL_STATES = ("completed", "failed", "cancelled")
UNFINISHED_STATES = (*RUNNABLE_STATES, "running", WAITING)
"""Named, not "not terminal": an IN list can use the (project_id, state) index."""
PG_CLAIM_LOCK = 7_202_612  # advisory lock id: claims under a per-project cap take turns
OLDEST_FIRST = (jobs.c.run_after, jobs.c.created_at)


class DatabaseClock(FunctionElement):
    """``now`` (plus ``seconds``) by the database's clock. PostgreSQL: its own ``now()``, in
    UTC, so every worker compares leases against one clock. SQLite: the bound ``now`` from
    this process, because SQLite's clock is this host's anyway (every process using the file
    runs here) and its SQL has no interval arithmetic."""

    type = UtcDateTime()
    name = "database_clock"
    inherit_cache = True


def database_clock(now: datetime, seconds: float = 0.0) -> DatabaseClock:
    if not seconds:
        return DatabaseClock(literal(now, UtcDateTime()))
    return DatabaseClock(literal(now + timedelta(seconds=seconds), UtcDateTime()),
                         literal(float(seconds), Float()))


@compiles(DatabaseClock)
def _process_clock(element: DatabaseClock, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses.clauses[0], **kw)


@compiles(DatabaseClock, "postgresql")
def _postgres_clock(element: DatabaseClock, compiler: Any, **kw: Any) -> str:
    clauses = element.clauses.clauses
    if len(clauses) == 1:
        return "timezone('UTC', now())"
    return f"(timezone('UTC', now()) + make_interval(secs => {compiler.process(clauses[1], **kw)}))"


@dataclass(frozen=True)
class Claim:
    """What a worker owns after a claim: the job and the fencing number that proves it."""

    job_id: str
    fencing: int
    attempts: int
    max_attempts: int
    type: str

    @classmethod
    def of(cls, job: Job) -> Claim:
        return cls(job.id, job.fencing, job.attempts, job.max_attempts, job.type)


# The claim's values, bound at execution: the statement is built (and compiled) once.
_NOW = bindparam("now", type_=UtcDateTime())
_LEASE_UNTIL = bindparam("lease_until", type_=UtcDateTime())
_LEASE_SECONDS = bindparam("lease_seconds", type_=Float())
_WORKER_ID = bindparam("worker_id", type_=String())


def claim_params(worker_id: str, now: datetime, lease_seconds: float) -> dict[str, Any]:
    """The values ``claim_statement`` is executed with."""
    return {"worker_id": worker_id, "now": now, "lease_seconds": float(lease_seconds),
            "lease_until": now + timedelta(seconds=lease_seconds)}


@functools.cache
def claim_statement(max_running: int = 0, limit: int = 1) -> Update:
    """Claim up to ``limit`` runnable jobs, or ones whose lease expired, in one atomic
    statement that returns the whole rows (the worker needs no second read). Executed with
    ``claim_params``; one statement per (``max_running``, ``limit``), built once: building it
    per claim cost more CPU than running it.

    PostgreSQL renders the sub-select ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never
    wait on or take the same row; SQLite ignores the lock clause and relies on its single writer
    (BEGIN IMMEDIATE) to make the UPDATE ... RETURNING atomic. ``max_running`` > 0 makes the
    claim fair (``fair_candidate``) and takes one job: the running counts it ranks by are read
    once per statement, so a batch could overshoot a project's cap.
    """
    clock = DatabaseClock(_NOW)
    if max_running:  # lock only the job row, not the running counts joined to it
        query = fair_candidate(clock, max_running).with_for_update(of=jobs, skip_locked=True)
        limit = 1
    else:
        query = _claimable(select(jobs.c.id), clock).order_by(*OLDEST_FIRST).with_for_update(
            skip_locked=True)
    return (
        update(Job)
        .where(Job.id.in_(query.limit(limit)))
        .values(
            state="running",
            fencing=Job.fencing + 1,
            attempts=Job.attempts + 1,
            lease_expires_at=DatabaseClock(_LEASE_UNTIL, _LEASE_SECONDS),
            worker_id=_WORKER_ID,
            started_at=clock,
            updated_at=clock,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )


def _claimable(query: Select, clock: DatabaseClock) -> Select:
    """Jobs a worker may take: queued, retrying and due, or running with an expired lease."""
    return query.where(or_(
        jobs.c.state == "queued",
        and_(jobs.c.state == "retrying", jobs.c.run_after <= clock),
        and_(jobs.c.state == "running", jobs.c.lease_expires_at < clock),
    ))


def fair_candidate(clock: DatabaseClock, max_running: int) -> Select:
    """The next job under a per-project cap: never one of a project already running
    ``max_running`` jobs; among the others, the project running fewest first, then the oldest
    job. One project's burst thus waits behind nobody and holds back nobody.

    Only live leases count: a job whose lease expired is no longer running anywhere. The cap
    holds under concurrent claimers only if claims are serialized (``claim_jobs``).
    """
    live = jobs.alias("live")
    busy = (
        select(live.c.project_id, func.count().label("running"))
        .where(live.c.state == "running", live.c.lease_expires_at >= clock)
        .group_by(live.c.project_id)
        .subquery("busy")
    )
    running = func.coalesce(busy.c.running, 0)
    return (
        _claimable(select(jobs.c.id), clock)
        .select_from(jobs.outerjoin(busy, busy.c.project_id == jobs.c.project_id))
        .where(running < max_running)
        .order_by(running, *OLDEST_FIRST)
    )


def claim_jobs(
    session: Session, worker_id: str, now: datetime, lease_seconds: float,
    max_running: int = 0, limit: int = 1,
) -> list[tuple[Claim, Job]]:
    """Take up to ``limit`` jobs for ``worker_id`` (one under a per-project cap), each with
    its row as claimed; empty when there is nothing to do.

    With a per-project cap on PostgreSQL, claims take turns on a transaction-scoped advisory
    lock: two claimers counting a project's running jobs at once could both see a free slot
    and both take it. The lock is released at commit, and the next claim (a new statement in
    READ COMMITTED) sees the job just taken. SQLite serializes writers already.
    """
    if max_running and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_CLAIM_LOCK})
    statement = claim_statement(max_running, limit)
    claimed = sorted(session.scalars(statement, claim_params(worker_id, now, lease_seconds)),
                     key=lambda job: (job.run_after, job.created_at))
    return [(Claim.of(job), job) for job in claimed]


def claim_next_job(
    session: Session, worker_id: str, now: datetime, lease_seconds: float,
    max_running: int = 0,
) -> Claim | None:
    """Take the next job for ``worker_id``; None when there is nothing to do."""
    claimed = claim_jobs(session, worker_id, now, lease_seconds, max_running)
    return claimed[0][0] if claimed else None


def _fenced(claim: Claim) -> Any:
    return and_(
        jobs.c.id == claim.job_id, jobs.c.fencing == claim.fencing, jobs.c.state == "running"
    )


def extend_leases(session: Session, claims: list[Claim], now: datetime,
                  lease_seconds: float) -> set[str]:
    """Heartbeat for all of a worker's claims in one statement; the ids still ours (a job
    missing from the answer was taken over, cancelled or released)."""
    if not claims:
        return set()
    result = session.execute(
        update(jobs)
        .where(tuple_(jobs.c.id, jobs.c.fencing).in_([(c.job_id, c.fencing) for c in claims]),
               jobs.c.state == "running")
        .values(lease_expires_at=database_clock(now, lease_seconds))
        .returning(jobs.c.id)
    )
    return set(result.scalars())


def extend_lease(session: Session, claim: Claim, now: datetime, lease_seconds: float) -> bool:
    """Heartbeat for one claim; False means the job is no longer ours."""
    return claim.job_id in extend_leases(session, [claim], now, lease_seconds)


_followers = jobs.alias("followers")
HAS_FOLLOWERS = exists().where(
    _followers.c.relevant_job_id == literal_column("jobs.id"), _followers.c.state == WAITING,
).label("has_followers")
"""Whether jobs wait on the updated one (for RETURNING): the transaction ending it settles
followers only if so. ``jobs.id`` spelt out: SQLite's RETURNING drops table names, and a bare
``id`` would mean the follower's."""


def finish_job(session: Session, claim: Claim, now: datetime, **values: Any) -> Row[Any] | None:
    """Record the outcome (completed or failed) only if ``claim`` still owns the job; the
    ended row (every column, plus ``has_followers``), so ending it needs no second read.

    A stale worker (its lease expired and another took the job) gets None and must discard
    its result: the recorded outcome is exactly-once even though work is at-least-once.
    Plain values are bound to a statement built once per set of columns; a SQL expression
    among them (tokens added to a column) builds the statement anew.
    """
    values = {"lease_expires_at": None, "finished_at": now, "updated_at": now, **values}
    if any(isinstance(value, ClauseElement) for value in values.values()):
        return session.execute(
            update(jobs).where(_fenced(claim)).values(**values)
            .returning(*jobs.c, HAS_FOLLOWERS)
        ).first()
    params = {f"new_{name}": value for name, value in values.items()}
    return session.execute(_finish_statement(frozenset(values)), {
        "claimed_id": claim.job_id, "claimed_fencing": claim.fencing, **params}).first()


@functools.cache
def _finish_statement(columns: frozenset[str]) -> Update:
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("claimed_id"),
               jobs.c.fencing == bindparam("claimed_fencing"), jobs.c.state == "running")
        .values({name: bindparam(f"new_{name}", type_=jobs.c[name].type) for name in columns})
        .returning(*jobs.c, HAS_FOLLOWERS)
    )


def schedule_retry(session: Session, claim: Claim, run_after: datetime, error: str,
                   **values: Any) -> bool:
    """Put a failed attempt back in the queue to run again at ``run_after``."""
    result = session.execute(
        update(jobs)
        .where(_fenced(claim))
        .values(
            state="retrying", run_after=run_after, lease_expires_at=None, worker_id=None,
            error=error, updated_at=utcnow(), **values,
        )
    )
    return result.rowcount == 1


def release_job(session: Session, claim: Claim, now: datetime) -> bool:
    """Give an unfinished job back on shutdown without counting the attempt against it."""
    result = session.execute(
        update(jobs)
        .where(_fenced(claim))
        .values(
            state="queued", run_after=now, lease_expires_at=None, worker_id=None,
            attempts=jobs.c.attempts - 1, fencing=jobs.c.fencing + 1, updated_at=now,
        )
    )
    return result.rowcount == 1


def cancel_job(session: Session, job_id: str, now: datetime, message: str) -> bool:
    """Cancel a job that has not finished; bumping fencing voids any running worker's result."""
    result = session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state.notin_(TERMINAL_STATES))
        .values(
            state="cancelled", status="FAILED", error=message, fencing=jobs.c.fencing + 1,
            lease_expires_at=None, finished_at=now, updated_at=now,
            job_response={"error": message},
        )
    )
    return result.rowcount == 1


def release_followers(session: Session, job_id: str, now: datetime) -> int:
    """Queue the jobs waiting on ``job_id``, in the transaction that completes it."""
    result = session.execute(
        update(jobs)
        .where(jobs.c.relevant_job_id == job_id, jobs.c.state == WAITING)
        .values(state="queued", run_after=now, updated_at=now)
    )
    return result.rowcount


def fail_followers(session: Session, job_id: str, now: datetime, message: str) -> list[str]:
    """Fail the jobs waiting on ``job_id`` when it ends without a result; the ids it failed."""
    result = session.execute(
        update(jobs)
        .where(jobs.c.relevant_job_id == job_id, jobs.c.state == WAITING)
        .values(state="failed", status="FAILED", error=message, finished_at=now,
                updated_at=now, job_response={"error": message})
        .returning(jobs.c.id)
    )
    return list(result.scalars())


def stranded_followers(session: Session, limit: int = 100) -> list[tuple[str, str]]:
    """Waiting jobs whose source has already ended or is gone: (follower id, source id).

    Normally the transaction that ends a source settles its followers; this finds any that a
    crash between versions or a manual fix left behind, for the worker's periodic sweep.
    """
    source = jobs.alias("source")
    rows = session.execute(
        select(jobs.c.id, jobs.c.relevant_job_id)
        .select_from(jobs.outerjoin(source, source.c.id == jobs.c.relevant_job_id))
        .where(jobs.c.state == WAITING,
               or_(source.c.id.is_(None), source.c.state.in_(TERMINAL_STATES)))
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def notify_created(session: Session) -> None:
    """Wake idle workers once ``session`` commits, a job became runnable: this process's
    after commit, other processes' by a message sent with the commit."""
    signals = signals_for(session)
    after_commit(session, signals.job_created)
    wakeups.publish_created(session, signals)


def notify_finished(session: Session, job_id: str) -> None:
    """Wake the waiters on ``job_id`` once ``session`` commits, it has ended: this process's
    after commit, other processes' by a message sent with the commit."""
    signals = signals_for(session)
    after_commit(session, lambda: signals.job_finished(job_id))
    wakeups.publish_finished(session, signals, job_id)


def seen_finished(db: Database, job_id: str) -> bool:
    """Whether this process has seen ``job_id`` end: a reason to read the row now."""
    return signals_for(db).finished(job_id)
