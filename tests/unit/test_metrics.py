"""The metrics hams records, on real parts in process: the realtime pool, the conversation
host, a job's end (counted only once committed) and the database collector."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, CollectorRegistry

from hams import metrics
from hams.agents.host import ConversationHost
from hams.app import create_app
from hams.db.models import Job, utcnow
from hams.db.session import Database
from hams.engines.pool import InferencePool
from hams.errors import TooManyRequests
from hams.runtime import Runtime
from hams.services.jobs import job_ended
from tests.factories import make_job, make_principal


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def collected(registry: CollectorRegistry) -> dict[str, dict[tuple, float]]:
    samples: dict[str, dict[tuple, float]] = {}
    for family in registry.collect():
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def test_the_pool_counts_admissions_use_and_refusals():
    pool = InferencePool(workers=1, queue=0)
    assert sample("hams_realtime_pool_capacity") == 1
    admitted = sample("hams_realtime_pool_admissions_total")
    refused = sample("hams_realtime_pool_rejections_total")
    in_use = sample("hams_realtime_pool_admitted")
    release = threading.Event()

    async def scenario() -> None:
        running = asyncio.ensure_future(pool.run(release.wait, 30))
        while pool.admitted == 0:
            await asyncio.sleep(0)
        assert sample("hams_realtime_pool_admitted") == in_use + 1
        with pytest.raises(TooManyRequests):
            await pool.run(lambda: None)
        release.set()
        assert await running is True

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        pool.shutdown()
    assert sample("hams_realtime_pool_admissions_total") == admitted + 1
    assert sample("hams_realtime_pool_rejections_total") == refused + 1
    assert sample("hams_realtime_pool_admitted") == in_use


def test_the_host_counts_live_started_and_refused_conversations(sqlite_runtime: Runtime):
    host = ConversationHost(sqlite_runtime.db, sqlite_runtime.settings, "unit", capacity=1)
    live, started = sample("hams_conversations_live"), sample("hams_conversations_started_total")
    refused = sample("hams_conversations_refused_total")
    assert host.admits_another()
    assert host.reserve() and not host.reserve() and not host.admits_another()
    assert sample("hams_conversations_live") == live + 1
    host.release("a-job")
    host.release(None)  # a second release of nothing holds nothing less
    assert sample("hams_conversations_live") == live
    assert sample("hams_conversations_started_total") == started + 1
    assert sample("hams_conversations_refused_total") == refused + 2


def test_a_job_end_is_observed_once_committed_never_when_rolled_back(sqlite_runtime: Runtime):
    principal = make_principal(sqlite_runtime)
    now = utcnow()
    job = make_job(sqlite_runtime, principal, type="TTS", state="completed",
                   status="COMPLETED", created_at=now - timedelta(seconds=7),
                   started_at=now - timedelta(seconds=2), finished_at=now)
    labels = {"type": "TTS", "state": "completed"}
    count = sample("hams_job_latency_seconds_count", **labels)
    total = sample("hams_job_latency_seconds_sum", **labels)
    short = sample("hams_job_duration_seconds_bucket", le="2.5", **labels)
    with pytest.raises(RuntimeError), sqlite_runtime.db.session() as session:
        job_ended(session, session.get(Job, job.id))
        raise RuntimeError("the transaction that ended the job fails")
    assert sample("hams_job_latency_seconds_count", **labels) == count
    with sqlite_runtime.db.session() as session:
        job_ended(session, session.get(Job, job.id))
    assert sample("hams_job_latency_seconds_count", **labels) == count + 1
    assert sample("hams_job_latency_seconds_sum", **labels) == pytest.approx(total + 7)
    assert sample("hams_job_duration_seconds_bucket", le="2.5", **labels) == short + 1


def test_the_collector_reads_queue_depth_and_backlog(runtime: Runtime):
    principal = make_principal(runtime)
    now = utcnow()
    for state, due in (("queued", -30), ("queued", -1), ("running", -300), ("completed", -900),
                       ("retrying", 60)):
        make_job(runtime, principal, type="TTS", state=state,
                 run_after=now + timedelta(seconds=due))
    registry = metrics.database_registry(runtime.db, job_types=["AI_CONTENT"])
    samples = collected(registry)
    depth = samples["hams_queue_jobs"]
    assert depth[(("state", "queued"), ("type", "TTS"))] == 2
    assert depth[(("state", "running"), ("type", "TTS"))] == 1
    assert depth[(("state", "waiting"), ("type", "AI_CONTENT"))] == 0  # known types at 0
    assert set(depth) == {(("state", s), ("type", t)) for s in metrics.QUEUE_STATES
                          for t in ("TTS", "AI_CONTENT")}  # ended jobs are not counted
    assert depth[(("state", "retrying"), ("type", "TTS"))] == 1
    waited = samples["hams_queue_oldest_wait_seconds"]
    assert 30 <= waited[(("type", "TTS"),)] < 60  # the running and the not-yet-due don't count
    assert waited[(("type", "AI_CONTENT"),)] == 0
    assert samples["hams_webhook_backlog"][()] == 0
    assert samples["hams_metrics_database_up"][()] == 1


def test_the_collector_says_when_the_database_cannot_be_read():
    db = Database("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    try:
        samples = collected(metrics.database_registry(db))
    finally:
        db.dispose()
    assert samples == {"hams_metrics_database_up": {(): 0}}


def test_the_exposition_joins_this_process_and_the_database(sqlite_runtime: Runtime):
    text = metrics.exposition(metrics.database_registry(sqlite_runtime.db)).decode()
    assert "# TYPE hams_job_latency_seconds histogram" in text
    assert "hams_metrics_database_up 1.0" in text


def test_metrics_enabled_false_serves_no_metrics(sqlite_runtime: Runtime):
    settings = sqlite_runtime.settings
    off = TestClient(create_app(settings.model_copy(update={"metrics_enabled": False}),
                                runtime=sqlite_runtime))
    answer = off.get("/metrics")
    assert answer.status_code == 404 and answer.json()["messageKey"] == "NOT_FOUND"
    on = TestClient(create_app(settings, runtime=sqlite_runtime)).get("/metrics")
    assert on.status_code == 200 and on.headers["content-type"] == metrics.CONTENT_TYPE
