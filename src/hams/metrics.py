"""hams' Prometheus metrics: the facts each process records, and what the database holds.

Two kinds, because a scaled deployment has several processes:

- **In-process** metrics (module-level objects in prometheus-client's default registry): jobs
  ended, engine real-time factor, realtime pool use, webhook failures, live conversations. Each
  process counts its own work: `hams serve --workers N` shows its API and its job threads on
  `GET /metrics`; `hams worker` serves its own on `HAMS_WORKER_METRICS_PORT`.
- **Database** collectors (``DatabaseCollector``), read at scrape time with one query each:
  queue depth and webhook backlog. Every API replica on one database reports the same figures.

Code elsewhere records facts through the small functions below, never the metric objects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hams.db.models import Job, WebhookDelivery, utcnow
from hams.db.session import Database, after_commit
from hams.errors import ServiceUnavailable

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
QUEUE_STATES = ("waiting", "queued", "running", "retrying")  # a job not yet ended
DUE_STATES = ("queued", "retrying")  # waiting for a worker once run_after has passed
AUDIO_JOB_TYPES = ("TRANSCRIPTION", "TTS")  # the types whose usage_seconds are audio seconds
JOB_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10)

JOB_LATENCY = Histogram(
    "hams_job_latency_seconds", "Seconds from a job's creation to its end, by type and final "
    "state (completed, failed, cancelled); counted by the process that ended it.",
    ["type", "state"], buckets=JOB_SECONDS_BUCKETS)
JOB_DURATION = Histogram(
    "hams_job_duration_seconds", "Seconds from a job's last claim to its end, by type and "
    "final state; counted by the process that ended it (jobs never started are not counted).",
    ["type", "state"], buckets=JOB_SECONDS_BUCKETS)
ENGINE_RTF = Histogram(
    "hams_engine_real_time_factor", "Processing seconds per audio second of each successful "
    "job run in this process (below 1 is faster than real time), by job type; the whole run: "
    "fetching and storing media and waiting for a batch count too.",
    ["type"], buckets=RTF_BUCKETS)
REALTIME_ADMITTED = Gauge(
    "hams_realtime_pool_admitted", "Realtime inferences running or waiting in this process's "
    "pool now.")
REALTIME_CAPACITY = Gauge(
    "hams_realtime_pool_capacity", "Realtime inferences this process's pool admits at once "
    "(REALTIME_POOL_SIZE + REALTIME_QUEUE_SIZE).")
REALTIME_ADMISSIONS = Counter(
    "hams_realtime_pool_admissions", "Realtime requests this process's pool admitted.")
REALTIME_REJECTIONS = Counter(
    "hams_realtime_pool_rejections", "Realtime requests this process's pool refused at capacity "
    "(429 or an error frame).")
WEBHOOK_FAILURES = Counter(
    "hams_webhook_failures", "Webhook attempts from this process that failed (network error, "
    "timeout, not 2xx), by what follows: another attempt (retry) or none (given_up).",
    ["outcome"])
CONVERSATIONS_LIVE = Gauge(
    "hams_conversations_live", "Live conversations this process holds now (starting or "
    "running).")
CONVERSATIONS_STARTED = Counter(
    "hams_conversations_started", "Conversation sockets this process admitted.")
CONVERSATIONS_REFUSED = Counter(
    "hams_conversations_refused", "Conversations this process refused because it held its "
    "most (AGENT_MAX_CONVERSATIONS).")


def job_ended(session: Session, job: Job) -> None:
    """Observe ``job``'s latency and duration once the transaction ending it commits (a
    rolled-back end is not counted)."""
    labels = (job.type, job.state)
    ended = job.finished_at
    latency = (ended - job.created_at).total_seconds() if ended and job.created_at else None
    duration = (ended - job.started_at).total_seconds() if ended and job.started_at else None

    def observe() -> None:
        if latency is not None:
            JOB_LATENCY.labels(*labels).observe(max(0.0, latency))
        if duration is not None:
            JOB_DURATION.labels(*labels).observe(max(0.0, duration))

    after_commit(session, observe)


def job_ran(job_type: str, seconds: float, audio_seconds: float | None) -> float | None:
    """A successful run of a job: its real-time factor (returned), for the types that
    process audio."""
    if job_type not in AUDIO_JOB_TYPES or not audio_seconds or audio_seconds <= 0:
        return None
    factor = seconds / audio_seconds
    ENGINE_RTF.labels(job_type).observe(factor)
    return factor


def realtime_capacity(capacity: int) -> None:
    REALTIME_CAPACITY.set(capacity)


def realtime_admitted() -> None:
    REALTIME_ADMISSIONS.inc()
    REALTIME_ADMITTED.inc()


def realtime_released() -> None:
    REALTIME_ADMITTED.dec()


def realtime_refused() -> None:
    REALTIME_REJECTIONS.inc()


def webhook_failed(*, given_up: bool) -> None:
    WEBHOOK_FAILURES.labels("given_up" if given_up else "retry").inc()


def conversation_started() -> None:
    CONVERSATIONS_STARTED.inc()
    CONVERSATIONS_LIVE.inc()


def conversation_released() -> None:
    CONVERSATIONS_LIVE.dec()


def conversation_refused() -> None:
    CONVERSATIONS_REFUSED.inc()


class DatabaseCollector:
    """Queue depth and webhook backlog, read from the database at each scrape: one GROUP BY
    over the unfinished jobs and one count of pending deliveries."""

    def __init__(self, db: Database, job_types: Iterable[str] = ()):
        self.db = db
        self.job_types = set(job_types)  # reported at 0 when none is in the queue

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hams_metrics_database_up", "1 when the last scrape could read "
                               "the database (queue depth and webhook backlog need it), else 0.")
        try:
            with self.db.session() as session:
                depth = session.execute(
                    select(Job.type, Job.state, func.count(), func.min(Job.run_after))
                    .where(Job.state.in_(QUEUE_STATES)).group_by(Job.type, Job.state)).all()
                pending = session.scalar(select(func.count()).select_from(WebhookDelivery)
                                         .where(WebhookDelivery.state == "pending"))
        except (SQLAlchemyError, ServiceUnavailable) as exc:  # the rest is still worth serving
            log.warning("metrics: the database could not be read: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._queue_depth(depth)
        backlog = GaugeMetricFamily(
            "hams_webhook_backlog", "Webhook deliveries not yet delivered nor given up (due or "
            "waiting to retry), read from the database: the same on every replica.")
        backlog.add_metric([], pending or 0)
        yield backlog

    def _queue_depth(self, rows: list) -> Iterator[GaugeMetricFamily]:
        counts = {(job_type, state): count for job_type, state, count, _ in rows}
        self.job_types.update(job_type for job_type, _ in counts)
        now = utcnow()
        waited: dict[str, float] = {}  # the longest wait of a due job, per type
        for job_type, state, _, earliest in rows:
            if state in DUE_STATES and earliest is not None:
                wait = max(0.0, (now - earliest).total_seconds())
                waited[job_type] = max(waited.get(job_type, 0.0), wait)
        depth = GaugeMetricFamily(
            "hams_queue_jobs", "Jobs not yet ended, by type and state (waiting, queued, "
            "running, retrying), read from the database: the same on every replica.",
            labels=["type", "state"])
        oldest = GaugeMetricFamily(
            "hams_queue_oldest_wait_seconds", "Seconds the longest-waiting due job (queued, or "
            "retrying and due) of each type has waited for a worker; 0 when none waits.",
            labels=["type"])
        for job_type in sorted(self.job_types):
            for state in QUEUE_STATES:
                depth.add_metric([job_type, state], counts.get((job_type, state), 0))
            oldest.add_metric([job_type], waited.get(job_type, 0.0))
        yield depth
        yield oldest


def database_registry(db: Database, job_types: Iterable[str] = ()) -> CollectorRegistry:
    """A registry of the database collectors alone (one per app: tests build many apps in
    one process, and the default registry would keep every one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db, job_types))
    return registry


def exposition(database: CollectorRegistry | None = None) -> bytes:
    """This process's metrics, then the database's, in the Prometheus text format."""
    text = generate_latest(REGISTRY)
    return text + generate_latest(database) if database is not None else text
