"""What the job queue itself costs: no-op jobs drained per second, and how soon a trivial job
is seen COMPLETED when the worker is another process.

1. **Drain**: N queued rows of an existing type (TTS) are inserted directly, then W worker
   processes (each a ``Worker`` with T threads whose handler table is replaced by a no-op
   handler, so nothing public changes) start together; timed from the start signal until the
   last job is completed. On PostgreSQL (when HAMS_TEST_DATABASE_URL is set, a fresh database)
   with 4 processes, and on SQLite with 1 and with 4 processes. Goals: ≥ 300 jobs/s on
   PostgreSQL with 4 processes, ≥ 200 jobs/s on SQLite.
2. **Latency**: a real TTS job of one word (espeak-ng, a few ms of work) created with
   ``POST /v1/jobs/text-to-speech`` and followed by ``GET /v1/jobs?jobId=…&wait=30``; timed
   from the POST until the GET returns COMPLETED. External workers (`hams serve --workers 0`
   plus `hams worker`, PostgreSQL) against the in-process baseline (`hams serve --workers 1`),
   each with the default poll interval. Goal: p50 ≤ 100 ms with external workers.

    .venv/bin/python bench/queue_throughput.py [--jobs N] [--rounds N] [--latency-runs N]
        [--baseline /tmp/q-base/src] [--skip-latency] [--json]

``--baseline`` names an older checkout's src/ (``git worktree add /tmp/q-base <commit>``):
its worker processes and `hams` servers run interleaved with this checkout's, and the drain
rates are printed as ratios; the latency part runs the baseline's external workers too
(``external_baseline``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


NOOP_TYPE = "TTS"
THREADS = 4
WORD = "مرحبا"


def _settings(url: str, data_dir: Path, **values: Any):  # noqa: ANN202 - hams imported late
    from hams.settings import Settings

    return Settings(database_url=url, data_dir=data_dir, **values)


def _noop(job: Any) -> Any:
    from hams.worker.outcome import JobOutcome

    return JobOutcome(job_response={"ok": True}, usage_seconds=0.0, total_cost=0.0)


def _worker_process(src: str | None, url: str, data_dir: str, threads: int, ready: Any,
                    go: Any, done: Any) -> None:
    """One worker process: a ``Worker`` whose handlers are all the no-op, started on ``go``;
    with ``src``, the hams of that checkout."""
    if src:
        sys.path.insert(0, src)
    from hams.runtime import build_runtime
    from hams.worker.runner import Worker

    runtime = build_runtime(_settings(url, Path(data_dir)), migrate=False, num_workers=threads)
    worker = Worker(runtime, threads)
    worker.handlers = {kind: _noop for kind in worker.handlers}
    worker._preload = lambda: None  # no models: the jobs are no-ops  # noqa: SLF001
    ready.set()
    go.wait()
    worker.start()
    done.wait()
    worker.stop(grace=5)


def _insert_jobs(runtime: Any, count: int) -> None:
    from sqlalchemy import insert

    from hams.db.models import Job, new_id, utcnow
    from hams.services import keys

    with runtime.db.session() as session:
        project = keys.create_project(session, f"bench-{new_id()[:8]}")
    now = utcnow()
    rows = [dict(id=new_id(), project_id=project.id, type=NOOP_TYPE, processing_type="async",
                 options={}, status="PENDING", total_cost=0.0, state="queued", run_after=now,
                 fencing=0, attempts=0, max_attempts=3, created_at=now, updated_at=now)
            for _ in range(count)]
    with runtime.db.session() as session:
        session.execute(insert(Job), rows)


def _completed(runtime: Any) -> int:
    from sqlalchemy import func, select

    from hams.db.models import Job

    with runtime.db.session() as session:
        return session.scalar(select(func.count()).where(Job.state == "completed"))


def drain(url: str, data_dir: Path, processes: int, jobs: int, src: str | None = None) -> float:
    """Jobs per second for ``processes`` worker processes of THREADS threads each."""
    from hams.runtime import build_runtime

    runtime = build_runtime(_settings(url, data_dir))
    _insert_jobs(runtime, jobs)
    context = mp.get_context("spawn")
    go, done = context.Event(), context.Event()
    readies = [context.Event() for _ in range(processes)]
    children = [context.Process(target=_worker_process,
                                args=(src, url, str(data_dir), THREADS, ready, go, done))
                for ready in readies]
    for child in children:
        child.start()
    try:
        for ready in readies:
            if not ready.wait(120):
                raise RuntimeError("a worker process did not start")
        started = time.perf_counter()
        go.set()
        deadline = started + 600
        while _completed(runtime) < jobs:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {_completed(runtime)} of {jobs} jobs completed")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        done.set()
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
        runtime.db.dispose()
    return jobs / elapsed


def latencies(client: Any, runs: int) -> list[float]:
    """Seconds from the POST of a one-word TTS job until its long-poll answers COMPLETED."""
    times = []
    for index in range(runs + 1):
        start = time.perf_counter()
        response = client.post("/v1/jobs/text-to-speech", json={"voiceId": "Salma",
                                                                "text": WORD})
        response.raise_for_status()
        job_id = response.json()["data"]["jobId"]
        while True:
            body = client.get("/v1/jobs", params={"jobId": job_id, "wait": 30}).json()
            if body["data"]["status"] != "PENDING":
                break
        assert body["data"]["status"] == "COMPLETED", body
        if index:  # the first is a warm-up (engines load)
            times.append(time.perf_counter() - start)
    return times


@contextmanager
def servers(tmp: Path, url: str, variant: str, src: str | None) -> Any:
    """The API (and its worker) for one latency variant, on ``url``: ``in_process`` is
    `hams serve --workers 1`; ``external`` is `hams serve --workers 0` plus `hams worker`,
    each process as deployed (the API's lifespan starts its own wake-up listener)."""
    from tests.helpers.server import start_server, start_worker

    env = {"HAMS_DATABASE_URL": url, **({"PYTHONPATH": src} if src else {})}
    server = start_server(tmp, workers=1 if variant == "in_process" else 0, env=env)
    worker = None if variant == "in_process" else start_worker(tmp / "data", env=env)
    try:
        yield server
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        server.stop()


def _api_key(url: str, data_dir: Path) -> str:
    from hams.runtime import build_runtime
    from hams.services import keys

    runtime = build_runtime(_settings(url, data_dir))
    try:
        with runtime.db.session() as session:
            project = keys.create_project(session, "bench-latency")
            _, secret = keys.create_key(session, project, "bench", None)
        return secret
    finally:
        runtime.db.dispose()


def p50_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs per drain")
    parser.add_argument("--rounds", type=int, default=2, help="drains per configuration")
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--baseline", help="an older checkout's src/, run interleaved with "
                        "this one (e.g. /tmp/q-base/src from `git worktree add`)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.helpers.postgres import fresh_database

    pg_base = os.environ.get("HAMS_TEST_DATABASE_URL")
    codes = {"current": None, **({"baseline": args.baseline} if args.baseline else {})}
    configs = [("sqlite", 1), ("sqlite", 4)] + ([("postgresql", 4)] if pg_base else [])
    rates: dict[str, list[float]] = {}
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="hams-queue-") as tmp_name:
        tmp = Path(tmp_name)
        for round_index in range(args.rounds):  # interleaved, so drift hits every variant
            for code, src in codes.items():
                for database, processes in configs:
                    name = f"{database}_{processes}x{THREADS}_{code}"
                    run_dir = tmp / f"{name}-{round_index}"
                    with ExitStack() as stack:
                        url = (stack.enter_context(fresh_database(pg_base, "hams_bench"))
                               if database == "postgresql" else f"sqlite:///{run_dir}.db")
                        rate = drain(url, run_dir, processes, args.jobs, src)
                    rates.setdefault(name, []).append(rate)
                    print(f"{database}, {processes} process(es) × {THREADS} threads, {code}: "
                          f"{rate:.0f} jobs/s", flush=True)
        for name, values in rates.items():
            results[f"{name}_jobs_per_s"] = round(statistics.median(values), 1)
        if args.baseline:
            for database, processes in configs:
                key = f"{database}_{processes}x{THREADS}"
                ratio = (statistics.median(rates[f"{key}_current"])
                         / statistics.median(rates[f"{key}_baseline"]))
                results[f"{key}_ratio"] = round(ratio, 2)
                print(f"{key}: current / baseline = {ratio:.2f}×")
        if pg_base and not args.skip_latency:
            import httpx

            variants = [("in_process", None), ("external", None)]
            if args.baseline:
                variants.append(("external_baseline", args.baseline))
            for name, src in variants:
                with fresh_database(pg_base, "hams_bench") as url:
                    run_dir = tmp / f"latency-{name}"
                    run_dir.mkdir()
                    variant = name.removesuffix("_baseline")
                    with servers(run_dir, url, variant, src) as server:
                        key = _api_key(url, run_dir / "admin")
                        with httpx.Client(base_url=server.base_url, timeout=60, headers={
                                "Authorization": f"Token {key}"}) as client:
                            times = latencies(client, args.latency_runs)
                results[f"latency_{name}_p50_ms"] = round(p50_ms(times), 1)
                print(f"create → COMPLETED seen, {name}: p50 {p50_ms(times):.0f} ms, "
                      f"max {max(times) * 1000:.0f} ms", flush=True)
    results["load_after"] = os.getloadavg()
    print(f"load average before {results['load_before']}, after {results['load_after']}")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
