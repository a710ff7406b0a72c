"""Wake-ups across processes: an API replica (`hams serve --workers 0`) and a separate
`hams worker`, every process polling only every 30 s. A job created through the API is claimed,
run and seen COMPLETED by a long-poll long before any poll could have fired: the worker was
woken by the API's commit (PostgreSQL NOTIFY; Redis pub/sub for SQLite replicas on one host).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hams.runtime import build_runtime
from hams.settings import Settings
from tests.factories import make_key, make_project
from tests.helpers.server import ServerProcess, start_server, start_worker
from tests.helpers.wait import wait_until

POLL_SECONDS = "30"
BOUND_SECONDS = 10  # an event bound, far below the poll interval: not a timing measurement


@pytest.fixture(params=["postgresql", "sqlite+redis"])
def replica_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The settings every process shares: the database, and Redis for the SQLite replicas."""
    if request.param == "postgresql":
        return {"HAMS_DATABASE_URL": request.getfixturevalue("database_url_postgresql")}
    redis_url = request.getfixturevalue("redis_url")
    return {"HAMS_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
            "HAMS_REDIS_URL": redis_url,
            "HAMS_REDIS_KEY_PREFIX": request.getfixturevalue("redis_prefix")}


@pytest.fixture
def database_url_postgresql(postgres_url: str, tmp_path: Path) -> str:
    """The session's PostgreSQL database, emptied (as ``database_url`` does)."""
    from tests.conftest import _truncate_all

    runtime = build_runtime(Settings(database_url=postgres_url, data_dir=tmp_path / "admin"))
    _truncate_all(runtime)
    runtime.db.dispose()
    return postgres_url


@pytest.fixture
def api_and_worker(replica_env: dict[str, str], tmp_path: Path
                   ) -> Iterator[tuple[ServerProcess, str, Path]]:
    """An API replica without job threads, an idle worker listening for wake-ups, and a key."""
    env = {**replica_env, "HAMS_WORKER_POLL_SECONDS": POLL_SECONDS}
    server = start_server(tmp_path, workers=0, env=env)
    worker_dir = tmp_path / "worker"
    worker_dir.mkdir()
    worker = start_worker(worker_dir, env={**env, "HAMS_DATA_DIR": str(tmp_path / "data")})
    try:
        runtime = build_runtime(Settings(database_url=replica_env["HAMS_DATABASE_URL"],
                                         data_dir=tmp_path / "admin"), migrate=False)
        _, key = make_key(runtime, make_project(runtime))
        runtime.db.dispose()
        [worker_log] = worker_dir.glob("worker-*.log")
        wait_until(lambda: "queue wake-ups: listening" in worker_log.read_text(), 60,
                   what=lambda: f"the worker to listen for wake-ups:\n{worker_log.read_text()}")
        yield server, key, worker_log
    finally:
        worker.terminate()
        worker.wait(30)
        server.stop()


def test_job_created_in_the_api_wakes_an_idle_worker_in_another_process(api_and_worker):
    server, key, worker_log = api_and_worker
    with server.client(key) as client:
        started = time.monotonic()
        created = client.post("/v1/jobs/text-to-speech", json={"voiceId": "Salma",
                                                              "text": "مرحبا"})
        assert created.status_code == 200, created.text
        job_id = created.json()["data"]["jobId"]
        answer = client.get("/v1/jobs", params={"jobId": job_id, "wait": BOUND_SECONDS})
        elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    job = answer.json()["data"]
    assert job["status"] == "COMPLETED", (job, worker_log.read_text())
    assert elapsed < BOUND_SECONDS  # a 30 s poll would have left it PENDING
