"""Chaos at scale, large: the chaos test's cluster (tests/helpers/cluster.py) at 1,000 jobs.

Two `hams serve --workers 0` replicas and three `hams worker` processes on a fresh PostgreSQL
database and a real SeaweedFS, no shared data directory. Half the jobs transcribe an upload
(uploaded through one replica, created through the other), half are TTS jobs; every job has a
webhook. While they run, a worker holding a job is SIGKILLed every few seconds and SeaweedFS is
restarted once. Prints the counts the chaos test asserts: jobs completed, ledger rows per job,
webhooks delivered, results readable through both replicas, blobs left on local disks.

    HAMS_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/chaos.py [--jobs 1000] [--kills 60] [--concurrency 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.cluster import Cluster, run_chaos  # noqa: E402
from tests.helpers.http import WebhookReceiver  # noqa: E402
from tests.helpers.postgres import fresh_database  # noqa: E402
from tests.helpers.seaweedfs import SeaweedFS  # noqa: E402
from tests.helpers.speech import SPEECH_SENTENCES, synthesize_speech  # noqa: E402
from tests.helpers.wait import wait_until  # noqa: E402


def readable_everywhere(cluster: Cluster, job_id: str, kind: str, upload: str | None) -> bool:
    """The job's result (TTS audio, or the transcript and its source) through both replicas."""
    for index in range(2):
        with cluster.client(index) as client:
            job = client.get("/v1/jobs", params={"jobId": job_id}).json()["data"]
            if kind == "TTS":
                audio = httpx.get(job["mediaUrl"], timeout=60)
                if audio.status_code != 200 or audio.content[:4] != b"RIFF":
                    return False
            elif not job["jobResponse"]["text"] or client.get(upload).status_code != 200:
                return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=60, help="most workers SIGKILLed")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base_url = os.environ.get("HAMS_TEST_DATABASE_URL")
    if not base_url:
        sys.exit("set HAMS_TEST_DATABASE_URL (a PostgreSQL server) first")
    receiver = WebhookReceiver()
    with tempfile.TemporaryDirectory(prefix="hams-chaos-") as tmp, \
            fresh_database(base_url, "hams_bench_chaos") as database_url:
        root = Path(tmp)
        speech = root / "speech.wav"
        synthesize_speech(SPEECH_SENTENCES, speech)
        store = SeaweedFS(root / "seaweedfs")
        cluster_root = root / "cluster"
        cluster_root.mkdir()
        cluster = Cluster(cluster_root, database_url, store, f"bench-{uuid.uuid4().hex[:8]}",
                          settings={
                              "HAMS_ALLOW_PRIVATE_URLS": "true", "HAMS_LEASE_SECONDS": "3",
                              "HAMS_MAX_ATTEMPTS": "20", "HAMS_RETRY_BACKOFF_SECONDS": "0.2",
                              "HAMS_WEBHOOK_MAX_ATTEMPTS": "50",
                              "HAMS_WEBHOOK_BACKOFF_SECONDS": "0.2"})
        try:
            cluster.start(replicas=2, workers=args.workers, concurrency=args.concurrency)
            run = run_chaos(cluster, jobs=args.jobs, audio=speech.read_bytes(),
                            hook_url=receiver.url, rng=random.Random(16),
                            max_kills=args.kills, timeout=4 * 3600)
            statuses = Counter(status for job_id, status in
                               cluster.query("SELECT id, status FROM jobs") if job_id in run.jobs)
            attempts = Counter(n for job_id, n in cluster.query("SELECT id, attempts FROM jobs")
                               if job_id in run.jobs)
            ledger = Counter(job_id for (job_id,) in
                             cluster.query("SELECT job_id FROM usage_records"))

            def delivered() -> int:
                rows = dict(cluster.query("SELECT job_id, state FROM webhook_deliveries"))
                return sum(rows.get(job_id) == "delivered" for job_id in run.jobs)

            wait_until(lambda: delivered() == len(run.jobs), 600, interval=1,
                       what="every webhook delivered")
            received = {h.json()["data"]["id"] for h in receiver.received if h.status == 200}
            readable = sum(readable_everywhere(cluster, job_id, kind, run.uploads.get(job_id))
                           for job_id, kind in run.jobs.items())
            time.sleep(2)  # temporary files of the last downloads
            figures = {
                "jobs": len(run.jobs), "seconds": round(run.seconds, 1),
                "jobs_per_second": round(len(run.jobs) / run.seconds, 2),
                "statuses": dict(statuses), "attempts": dict(sorted(attempts.items())),
                "workers_killed": cluster.killed, "store_restarts": run.store_restarts,
                "ledger_rows_not_one": sum(ledger[j] != 1 for j in run.jobs),
                "webhooks_delivered": delivered(),
                "webhooks_received": len(received & set(run.jobs)),
                "readable_through_both_replicas": readable,
                "blobs_left_on_local_disks": len(cluster.stray_files()),
                "load_average": os.getloadavg()[0],
            }
        finally:
            cluster.stop()
            store.close()
            receiver.close()
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
