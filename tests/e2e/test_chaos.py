"""Chaos at scale, small: two API replicas (`hams serve --workers 0`) and three `hams worker`
processes on PostgreSQL and SeaweedFS with no shared data directory; mixed transcription and TTS
jobs with uploads through either replica, while workers are SIGKILLed at random and SeaweedFS
restarts once. Every job completes exactly once, every result is readable through either
replica, every webhook arrives, and no process keeps a blob. bench/chaos.py runs it at 1,000."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.cluster import Cluster, run_chaos
from tests.helpers.postgres import fresh_database
from tests.helpers.wait import wait_until

JOBS = 24

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def cluster(postgres_url, seaweedfs, tmp_path) -> Iterator[Cluster]:
    with fresh_database(postgres_url, "hams_chaos") as url:
        cluster = Cluster(tmp_path, url, seaweedfs, f"chaos-{uuid.uuid4().hex[:8]}", settings={
            "HAMS_ALLOW_PRIVATE_URLS": "true",  # webhooks go to 127.0.0.1
            "HAMS_LEASE_SECONDS": "3",  # a killed worker's jobs are taken over within seconds
            "HAMS_MAX_ATTEMPTS": "20", "HAMS_RETRY_BACKOFF_SECONDS": "0.2",
            "HAMS_WEBHOOK_MAX_ATTEMPTS": "50", "HAMS_WEBHOOK_BACKOFF_SECONDS": "0.2",
        })
        try:
            cluster.start(replicas=2, workers=3, concurrency=2)
            yield cluster
        finally:
            cluster.stop()


def test_every_job_completes_once_through_kills_and_a_store_restart(
        cluster, speech, webhook_receiver):
    run = run_chaos(cluster, jobs=JOBS, audio=speech.read_bytes(), hook_url=webhook_receiver.url,
                    rng=random.Random(16), kill_every=(1.0, 3.0))
    assert cluster.killed >= 2, "the chaos must kill workers mid-job"
    assert run.store_restarts == 1 and run.finished_at_restart < JOBS, "a restart mid-run"

    states = dict(cluster.query("SELECT id, status FROM jobs"))
    assert {states[job_id] for job_id in run.jobs} == {"COMPLETED"}, (states, cluster.logs())
    ledger = Counter(job_id for (job_id,) in cluster.query("SELECT job_id FROM usage_records"))
    assert {job_id: ledger[job_id] for job_id in run.jobs} == dict.fromkeys(run.jobs, 1)

    def delivered() -> bool:
        rows = dict(cluster.query("SELECT job_id, state FROM webhook_deliveries"))
        return all(rows.get(job_id) == "delivered" for job_id in run.jobs)

    wait_until(delivered, 60, what="every job's webhook to be delivered")
    for job_id, path in run.hooks.items():
        accepted = [h for h in webhook_receiver.received if h.path == path and h.status == 200]
        assert accepted, f"no webhook reached {path} for job {job_id}"
        assert {h.json()["data"]["id"] for h in accepted} == {job_id}
        assert len({h.headers["x-hams-delivery"] for h in accepted}) == 1

    audio = speech.read_bytes()
    for job_id, kind in run.jobs.items():
        seen = []
        for index in range(2):  # read through each replica, with the links it signs
            with cluster.client(index) as client:
                job = client.get("/v1/jobs", params={"jobId": job_id}).json()["data"]
                if kind == "TTS":
                    speech_file = httpx.get(job["mediaUrl"], timeout=30)
                    assert speech_file.status_code == 200 and speech_file.content[:4] == b"RIFF"
                    seen.append(speech_file.content)
                else:
                    assert "weather" in job["jobResponse"]["text"].lower(), job
                    source = client.get(run.uploads[job_id])
                    assert source.status_code == 200 and source.content == audio
        assert len(set(seen)) <= 1  # both replicas serve the same stored file

    wait_until(lambda: not cluster.stray_files(), 10,
               what=lambda: f"data and temporary directories to hold no blob: "
                            f"{cluster.stray_files()}")
