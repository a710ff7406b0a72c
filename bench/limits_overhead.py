"""What the protections of issue 7 cost: rate-limit counters per request, and the fair claim.

1. Request latency through real `hams serve` processes (SQLite, API only) for a cheap
   authenticated read (`GET /v1/projects/by-api-key`), with rate limits off, on database
   counters and on Redis counters: sequential medians and p95, then throughput with 8 client
   threads. Ratios are against the server with limits off, measured in the same run,
   interleaved in rounds so drift hits every variant alike.
2. Claim time with a deep queue: claim and finish N jobs of 10 projects on SQLite (and on
   PostgreSQL when HAMS_TEST_DATABASE_URL is set), with the per-project cap off (the plain
   oldest-first claim) and at 2 (the fair claim). Median ms per claim.

    .venv/bin/python bench/limits_overhead.py [--requests N] [--queued N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.postgres import fresh_database  # noqa: E402
from tests.helpers.server import start_server  # noqa: E402

from hams.db.models import Job, utcnow  # noqa: E402
from hams.queue import jobs as queue  # noqa: E402
from hams.runtime import build_runtime  # noqa: E402
from hams.services import keys  # noqa: E402
from hams.settings import Settings  # noqa: E402

REDIS_URL = os.environ.get("HAMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PATH = "/v1/projects/by-api-key"
VARIANTS = {
    "off": {},
    "database": {"HAMS_RATE_LIMIT_PER_MINUTE": "100000000"},
    "redis": {"HAMS_RATE_LIMIT_PER_MINUTE": "100000000", "HAMS_REDIS_URL": REDIS_URL,
              "HAMS_REDIS_KEY_PREFIX": f"hams-bench-{uuid.uuid4().hex[:8]}:"},
}


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def sequential(client: httpx.Client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        client.get(PATH).raise_for_status()
        times.append(time.perf_counter() - start)
    return times


def throughput(server, threads: int, seconds: float) -> float:
    """Requests per second with ``threads`` clients sending back to back."""
    done = [0] * threads
    stop = time.monotonic() + seconds

    def client_loop(index: int) -> None:
        with server.client() as client:
            while time.monotonic() < stop:
                client.get(PATH).raise_for_status()
                done[index] += 1

    workers = [threading.Thread(target=client_loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / seconds


def measure_requests(count: int, rounds: int = 5) -> dict:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in VARIANTS:
            (Path(tmp) / name).mkdir()
        servers = {name: start_server(Path(tmp) / name, workers=0, env=env)
                   for name, env in VARIANTS.items()}
        try:
            timings: dict[str, list[float]] = {name: [] for name in servers}
            clients = {name: server.client() for name, server in servers.items()}
            for client in clients.values():
                sequential(client, 20)  # warm-up
            for _ in range(rounds):
                for name, client in clients.items():
                    timings[name] += sequential(client, count // rounds)
            for client in clients.values():
                client.close()
            rates = {name: throughput(server, 8, 5.0) for name, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    base = statistics.median(timings["off"])
    for name, values in timings.items():
        median = statistics.median(values)
        results[name] = {"median_ms": round(median * 1000, 2),
                         "p95_ms": round(p95(values) * 1000, 2),
                         "median_ratio": round(median / base, 2),
                         "throughput_rps": round(rates[name]),
                         "throughput_ratio": round(rates[name] / rates["off"], 2)}
    return results


def measure_claims(database_url: str | None, queued: int, tmp: Path) -> dict:
    settings = Settings(data_dir=tmp, database_url=database_url, stt_model="bundled-tiny.en")
    runtime = build_runtime(settings)
    results = {}
    try:
        with runtime.db.session() as session:
            projects = [keys.create_project(session, f"bench-{uuid.uuid4().hex[:8]}").id
                        for _ in range(10)]
        for cap in (0, 2):
            with runtime.db.session() as session:
                session.add_all(Job(project_id=projects[i % 10], type="TTS", model="bench",
                                    options={}, processing_type="async")
                                for i in range(queued))
            times = []
            for _ in range(200):
                start = time.perf_counter()
                with runtime.db.session() as session:
                    claim = queue.claim_next_job(session, "bench", utcnow(), 60, cap)
                times.append(time.perf_counter() - start)
                with runtime.db.session() as session:
                    queue.finish_job(session, claim, utcnow() + timedelta(seconds=0),
                                     state="completed", status="COMPLETED")
            with runtime.db.session() as session:  # the next round starts from the same depth
                session.query(Job).filter(Job.project_id.in_(projects)).delete()
            results[f"cap={cap}"] = {"median_ms": round(statistics.median(times) * 1000, 2),
                                     "p95_ms": round(p95(times) * 1000, 2)}
    finally:
        runtime.db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--queued", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {"requests": measure_requests(args.requests), "claims": {}}
    with tempfile.TemporaryDirectory() as tmp:
        results["claims"]["sqlite"] = measure_claims(None, args.queued, Path(tmp))
        pg = os.environ.get("HAMS_TEST_DATABASE_URL")
        if pg:
            with fresh_database(pg, "hams_bench") as url:
                results["claims"]["postgresql"] = measure_claims(url, args.queued, Path(tmp))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, r in results["requests"].items():
        print(f"rate limits {name:8}: median {r['median_ms']} ms (x{r['median_ratio']}), "
              f"p95 {r['p95_ms']} ms; {r['throughput_rps']} req/s with 8 clients "
              f"(x{r['throughput_ratio']})")
    for database, rows in results["claims"].items():
        for cap, r in rows.items():
            print(f"claim with {args.queued} queued on {database:10} {cap}: median "
                  f"{r['median_ms']} ms, p95 {r['p95_ms']} ms")


if __name__ == "__main__":
    main()
