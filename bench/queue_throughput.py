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

    .venv/bin/python bench/queue_throughput.py [--jobs N] [--latency-runs N] [--json]

To compare with an older checkout, run it with ``--src /tmp/q-base/src``: the worker
processes and the `hams` servers then import that code (this script's own code is the same).
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


def _use_source(src: str | None) -> None:
    """Import hams from ``src`` (an older checkout's src/), here and in every child process."""
    if src:
        sys.path.insert(0, src)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [src, *filter(None, [os.environ.get("PYTHONPATH")])])
    if str(ROOT) not in sys.path:
        sys.path.insert(1 if src else 0, str(ROOT))


NOOP_TYPE = "TTS"
THREADS = 4
WORD = "مرحبا"


def _settings(url: str, data_dir: Path, **values: Any):  # noqa: ANN202 - hams imported late
    from hams.settings import Settings

    return Settings(database_url=url, data_dir=data_dir, **values)


def _noop(job: Any) -> Any:
    from hams.worker.outcome import JobOutcome

    return JobOutcome(job_response={"ok": True}, usage_seconds=0.0, total_cost=0.0)


def _worker_process(url: str, data_dir: str, threads: int, ready: Any, go: Any, done: Any
                    ) -> None:
    """One worker process: a ``Worker`` whose handlers are all the no-op, started on ``go``."""
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


def drain(url: str, data_dir: Path, processes: int, jobs: int) -> float:
    """Jobs per second for ``processes`` worker processes of THREADS threads each."""
    from hams.runtime import build_runtime

    runtime = build_runtime(_settings(url, data_dir))
    _insert_jobs(runtime, jobs)
    context = mp.get_context("spawn")
    go, done = context.Event(), context.Event()
    readies = [context.Event() for _ in range(processes)]
    children = [context.Process(target=_worker_process,
                                args=(url, str(data_dir), THREADS, ready, go, done))
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
def external_workers(tmp: Path, url: str) -> Any:
    """`hams serve --workers 0` and one `hams worker`, on ``url``."""
    from tests.helpers.server import start_server, start_worker

    env = {"HAMS_DATABASE_URL": url}
    server = start_server(tmp, workers=0, env=env)
    worker = start_worker(tmp / "data", env=env)
    try:
        yield server
    finally:
        worker.terminate()
        worker.wait(30)
        server.stop()


@contextmanager
def in_process_worker(tmp: Path, url: str) -> Any:
    from tests.helpers.server import start_server

    server = start_server(tmp, workers=1, env={"HAMS_DATABASE_URL": url})
    try:
        yield server
    finally:
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
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--src", help="import hams from this src/ (an older checkout)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    _use_source(args.src)
    from tests.helpers.postgres import fresh_database

    import hams

    pg_base = os.environ.get("HAMS_TEST_DATABASE_URL")
    results: dict[str, Any] = {"hams": str(Path(hams.__file__).parent),
                               "load": os.getloadavg()}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hams-queue-")))
        for processes in (1, 4):
            url = f"sqlite:///{tmp / f'drain-{processes}.db'}"
            rate = drain(url, tmp / f"sqlite-{processes}", processes, args.jobs)
            results[f"sqlite_{processes}x{THREADS}_jobs_per_s"] = round(rate, 1)
            print(f"SQLite, {processes} process(es) × {THREADS} threads: {rate:.0f} jobs/s",
                  flush=True)
        if pg_base:
            with fresh_database(pg_base, "hams_bench") as url:
                rate = drain(url, tmp / "pg", 4, args.jobs)
            results[f"postgresql_4x{THREADS}_jobs_per_s"] = round(rate, 1)
            print(f"PostgreSQL, 4 processes × {THREADS} threads: {rate:.0f} jobs/s", flush=True)
            if not args.skip_latency:
                import httpx

                for name, variant in (("in_process", in_process_worker),
                                      ("external", external_workers)):
                    with fresh_database(pg_base, "hams_bench") as url:
                        run_dir = tmp / f"latency-{name}"
                        run_dir.mkdir()
                        with variant(run_dir, url) as server:
                            key = _api_key(url, run_dir / "admin")
                            with httpx.Client(base_url=server.base_url, timeout=60, headers={
                                    "Authorization": f"Token {key}"}) as client:
                                times = latencies(client, args.latency_runs)
                    results[f"latency_{name}_p50_ms"] = round(p50_ms(times), 1)
                    print(f"create → COMPLETED seen, {name} worker: p50 "
                          f"{p50_ms(times):.0f} ms, max {max(times) * 1000:.0f} ms", flush=True)
                ratio = results["latency_external_p50_ms"] / results["latency_in_process_p50_ms"]
                print(f"external / in-process p50: {ratio:.2f}×")
        else:
            print("PostgreSQL skipped: HAMS_TEST_DATABASE_URL is not set")
    results["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
