"""What a scrape of GET /metrics costs the database: the queue-depth and webhook-backlog
collector on a jobs table holding many ended jobs and a queue of unfinished ones.

On SQLite (and on PostgreSQL when HAMS_TEST_DATABASE_URL is set), with N ended jobs and M
unfinished ones (queued, running, retrying, waiting across 5 types) and M/10 pending webhook
deliveries: the median of the collector's read (one GROUP BY over jobs, one count of
deliveries, in one transaction) and of the whole exposition, as ratios against a baseline run
in the same process: an empty transaction (`SELECT 1` in a session) on the same database.

    .venv/bin/python bench/metrics_scrape.py [--ended N] [--unfinished M] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.postgres import fresh_database  # noqa: E402

from hams import metrics  # noqa: E402
from hams.db.models import Job, WebhookDelivery, new_id  # noqa: E402
from hams.runtime import build_runtime  # noqa: E402
from hams.services import keys  # noqa: E402
from hams.settings import Settings  # noqa: E402

TYPES = ("TRANSCRIPTION", "TTS", "AI_CONTENT", "KNOWLEDGE_BASE", "CONVERSATION_ANALYSIS")
ENDED = ("completed", "failed", "cancelled")


def fill(runtime, ended: int, unfinished: int) -> None:
    with runtime.db.session() as session:
        project = keys.create_project(session, "bench")
        project_id = project.id
    rows = [{"id": new_id(), "project_id": project_id, "type": TYPES[i % len(TYPES)],
             "state": ENDED[i % 3], "status": "COMPLETED", "options": {}}
            for i in range(ended)]
    rows += [{"id": new_id(), "project_id": project_id, "type": TYPES[i % len(TYPES)],
              "state": metrics.QUEUE_STATES[i % 4], "status": "PENDING", "options": {}}
             for i in range(unfinished)]
    for start in range(0, len(rows), 5000):
        with runtime.db.session() as session:
            session.execute(insert(Job), rows[start:start + 5000])
    hooks = [{"id": new_id(), "job_id": rows[i]["id"], "project_id": project_id,
              "url": "http://127.0.0.1:1/", "event": "job.completed", "payload": "{}"}
             for i in range(unfinished // 10)]
    if hooks:
        with runtime.db.session() as session:
            session.execute(insert(WebhookDelivery), hooks)
    if runtime.db.dialect == "postgresql":
        with runtime.db.engine.begin() as conn:
            conn.execute(text("ANALYZE jobs; ANALYZE webhook_deliveries"))


def median_ms(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(url: str, data_dir: Path, ended: int, unfinished: int, rounds: int) -> dict:
    runtime = build_runtime(Settings(database_url=url, data_dir=data_dir))
    try:
        fill(runtime, ended, unfinished)
        registry = metrics.database_registry(runtime.db, TYPES)
        collector = metrics.DatabaseCollector(runtime.db, TYPES)

        def empty_transaction() -> None:
            with runtime.db.session() as session:
                session.execute(text("SELECT 1"))

        for action in (empty_transaction, lambda: list(collector.collect())):
            action()  # warm the connection pool and the page cache
        base, read, whole = [], [], []
        for _ in range(5):  # interleaved, so drift hits all three alike
            base.append(median_ms(empty_transaction, rounds))
            read.append(median_ms(lambda: list(collector.collect()), rounds))
            whole.append(median_ms(lambda: metrics.exposition(registry), rounds))
        b, r, w = (statistics.median(x) for x in (base, read, whole))
        return {"database": runtime.db.dialect, "ended_jobs": ended,
                "unfinished_jobs": unfinished, "empty_transaction_ms": round(b, 3),
                "collector_ms": round(r, 3), "exposition_ms": round(w, 3),
                "collector_ratio": round(r / b, 1), "exposition_ratio": round(w / b, 1)}
    finally:
        runtime.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ended", type=int, default=100_000)
    parser.add_argument("--unfinished", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(measure(f"sqlite:///{tmp}/bench.db", Path(tmp), args.ended,
                               args.unfinished, args.rounds))
        if base := os.environ.get("HAMS_TEST_DATABASE_URL"):
            with fresh_database(base) as url:
                results.append(measure(url, Path(tmp), args.ended, args.unfinished,
                                       args.rounds))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"{r['database']:10}  {r['ended_jobs']} ended + {r['unfinished_jobs']} unfinished "
              f"jobs: empty transaction {r['empty_transaction_ms']:.2f} ms, collector "
              f"{r['collector_ms']:.2f} ms ({r['collector_ratio']}x), whole exposition "
              f"{r['exposition_ms']:.2f} ms ({r['exposition_ratio']}x)")


if __name__ == "__main__":
    main()
