"""GET /metrics after known work, a worker's own /metrics, and JSON logs, on real processes.

One API-only server (`--workers 0`) and one `hams worker` on its database: the API's /metrics
carries the database's figures (queue depth, webhook backlog) and its own work (realtime,
a cancel); the worker's carries the jobs it ran. Both log JSON.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.http import LocalHttpServer
from tests.helpers.server import (
    HAMS,
    ServerProcess,
    free_port,
    hams_env,
    start_server,
    wait_for_job,
)
from tests.helpers.wait import wait_until

TTS_JOBS = 3
TEXT = "The library opens at nine in the morning."


def scrape(url: str) -> dict[str, dict[tuple, float]]:
    """Every sample of a /metrics page: name → {sorted label pairs: value}."""
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get(name, {}).get(tuple(sorted(labels.items())))


def json_lines(path: Path) -> list[dict]:
    """Every line of a log, each of which must be one JSON object."""
    lines = path.read_text().splitlines()
    assert lines, f"{path} is empty"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line in {path.name}: {line!r}")
    return parsed


@dataclass
class Work:
    server: ServerProcess
    worker_log: Path
    worker_samples: dict
    tts_ids: list[str]
    failed_id: str
    hooked_id: str


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Work]:
    """Known work, done once: TTS_JOBS TTS jobs (one with a webhook to a closed port) and one
    transcription of a file that is not audio, queued on an API-only server and run by one
    worker, then scraped from that worker before it stops."""
    root = tmp_path_factory.mktemp("metrics")
    server = start_server(root, workers=0, env={
        "HAMS_LOG_FORMAT": "json", "HAMS_ALLOW_PRIVATE_URLS": "true",
        "HAMS_WEBHOOK_MAX_ATTEMPTS": "2", "HAMS_WEBHOOK_BACKOFF_SECONDS": "3600",
        "HAMS_REALTIME_POOL_SIZE": "1", "HAMS_REALTIME_QUEUE_SIZE": "2"})
    media = LocalHttpServer(root)
    try:
        with server.client() as client:
            voice = next(v["id"] for v in client.get(
                "/v1/tts/voices", params={"take": 100}).json()["data"] if v["name"] == "Emma")
            closed = f"http://127.0.0.1:{free_port()}/hook"
            tts_ids = [client.post("/v1/jobs/text-to-speech", json={
                "voiceId": voice, "text": TEXT, **({"webhookUrl": closed} if i == 0 else {}),
            }).json()["data"]["id"] for i in range(TTS_JOBS)]
            failed_id = client.post("/v1/jobs/transcribe", json={
                "mediaUrl": media.add_file("notes.wav", b"these bytes are not audio " * 40),
                "language": "en"}).json()["data"]["jobId"]
            queued = scrape(f"{server.base_url}/metrics")
            server.extra["queued"] = queued
            samples = run_worker(root, server, [*tts_ids, failed_id], client)
        yield Work(server, root / "worker.log", samples, tts_ids, failed_id, tts_ids[0])
    finally:
        media.close()
        server.stop()


def run_worker(root: Path, server: ServerProcess, job_ids: list[str],
               client: httpx.Client) -> dict:
    """A `hams worker` with its own /metrics runs the jobs; its page once the webhook failed."""
    port = free_port()
    with (root / "worker.log").open("wb") as log:
        worker = subprocess.Popen([HAMS, "worker", "--concurrency", "2"], env=hams_env(
            server.data_dir, {"HAMS_LOG_FORMAT": "json", "HAMS_ALLOW_PRIVATE_URLS": "true",
                              "HAMS_WORKER_POLL_SECONDS": "0.05",
                              "HAMS_WORKER_METRICS_PORT": str(port),
                              "HAMS_WEBHOOK_MAX_ATTEMPTS": "2",
                              "HAMS_WEBHOOK_BACKOFF_SECONDS": "3600"}),
            stdout=log, stderr=log)
    try:
        for job_id in job_ids:
            wait_for_job(client, job_id)
        url = f"http://127.0.0.1:{port}/metrics"
        return wait_until(
            lambda: (s := scrape(url)) and value(s, "hams_webhook_failures_total",
                                                 outcome="retry") and s,
            60, interval=0.1, what="the worker to count the failed webhook attempt")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)


def test_queue_depth_is_read_from_the_database(work: Work):
    queued = work.server.extra["queued"]
    assert value(queued, "hams_metrics_database_up") == 1
    assert value(queued, "hams_queue_jobs", type="TTS", state="queued") == TTS_JOBS
    assert value(queued, "hams_queue_jobs", type="TRANSCRIPTION", state="queued") == 1
    assert value(queued, "hams_queue_jobs", type="TTS", state="running") == 0
    assert value(queued, "hams_webhook_backlog") == 0
    assert 0 < value(queued, "hams_queue_oldest_wait_seconds", type="TTS") < 60
    after = scrape(f"{work.server.base_url}/metrics")
    assert {labels: n for labels, n in after["hams_queue_jobs"].items() if n} == {}
    assert value(after, "hams_webhook_backlog") == 1  # its retry is an hour away
    assert value(after, "hams_queue_oldest_wait_seconds", type="TTS") == 0


def test_the_worker_serves_the_histograms_of_the_jobs_it_ran(work: Work):
    s = work.worker_samples
    for histogram in ("hams_job_latency_seconds", "hams_job_duration_seconds"):
        assert value(s, f"{histogram}_count", type="TTS", state="completed") == TTS_JOBS
        assert value(s, f"{histogram}_count", type="TRANSCRIPTION", state="failed") == 1
        assert value(s, f"{histogram}_bucket", type="TTS", state="completed",
                     le="+Inf") == TTS_JOBS
        assert value(s, f"{histogram}_bucket", type="TTS", state="completed", le="3600.0") \
            == TTS_JOBS  # a short job falls in the buckets, not only in +Inf
    latency = value(s, "hams_job_latency_seconds_sum", type="TTS", state="completed")
    duration = value(s, "hams_job_duration_seconds_sum", type="TTS", state="completed")
    assert latency >= duration > 0
    assert value(s, "hams_engine_real_time_factor_count", type="TTS") == TTS_JOBS
    assert value(s, "hams_engine_real_time_factor_count", type="TRANSCRIPTION") is None
    assert value(s, "hams_engine_real_time_factor_sum", type="TTS") > 0
    assert value(s, "hams_webhook_failures_total", outcome="retry") == 1
    assert value(s, "hams_webhook_failures_total", outcome="given_up") is None
    assert "hams_queue_jobs" not in s  # the database's figures are the API's to serve


def test_the_api_counts_its_own_work(work: Work):
    with work.server.client() as client:
        spoken = client.post("/v1/realtime/tts", json={"text": TEXT, "speaker": "James"})
        assert spoken.status_code == 200, spoken.text
        voice = client.get("/v1/jobs", params={"jobId": work.tts_ids[1]}).json()["data"]
        job_id = client.post("/v1/jobs/text-to-speech", json={
            "voiceId": voice["ttsVoiceId"], "text": TEXT}).json()["data"]["id"]
        assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    s = scrape(f"{work.server.base_url}/metrics")
    assert value(s, "hams_realtime_pool_admissions_total") == 1
    assert value(s, "hams_realtime_pool_rejections_total") == 0
    assert value(s, "hams_realtime_pool_admitted") == 0
    assert value(s, "hams_realtime_pool_capacity") == 3
    assert value(s, "hams_job_latency_seconds_count", type="TTS", state="cancelled") == 1
    assert value(s, "hams_job_duration_seconds_count", type="TTS", state="cancelled") is None
    assert value(s, "hams_job_latency_seconds_count", type="TTS", state="completed") is None
    assert value(s, "hams_conversations_live") == 0
    assert value(s, "hams_queue_jobs", type="TTS", state="queued") == 0


def test_metrics_need_no_key_and_stay_out_of_the_api_document(work: Work):
    document = httpx.get(f"{work.server.base_url}/openapi.json", timeout=30).json()
    assert "/metrics" not in document["paths"]
    assert httpx.post(f"{work.server.base_url}/metrics", timeout=30).status_code == 405


def test_every_log_line_is_json_and_a_job_s_lines_carry_its_id(work: Work):
    worker = json_lines(work.worker_log)
    assert {"time", "level", "logger", "message"} <= set(worker[0])
    by_job: dict[str, list[str]] = {}
    for line in worker:
        if "job_id" in line:
            by_job.setdefault(line["job_id"], []).append(line["message"])
    for job_id in work.tts_ids:
        assert any(m.startswith("TTS job ran in") for m in by_job[job_id]), by_job.get(job_id)
    assert any(m.startswith("TRANSCRIPTION job failed") for m in by_job[work.failed_id])
    assert any(m.startswith("webhook ") for m in by_job[work.hooked_id])
    server = json_lines(work.server.log_path)
    access = [line for line in server if line["logger"] == "uvicorn.access"]
    assert any(line.get("path") == "/metrics" and line.get("status") == 200 for line in access)
