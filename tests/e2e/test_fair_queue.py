"""Fair concurrency through real processes: project A submits 50 TTS jobs, then project B 5;
a `hams worker` with 4 threads and HAMS_PROJECT_MAX_RUNNING_JOBS=2 runs them. B's jobs start
among A's first and are done long before A's last; no project ever has more than 2 running.

The jobs are all queued before the worker starts, so the order asserted does not depend on how
fast jobs run or requests arrive.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from hams.db.models import Job
from hams.runtime import Runtime
from tests.factories import make_key, make_project
from tests.helpers.server import start_server, start_worker
from tests.helpers.wait import wait_until

CAP = 2
TEXT = "مرحبا بكم، هذا اختبار قصير للصوت."


class RunningSampler(threading.Thread):
    """Reads, as often as it can, how many jobs of each project are running: the most it ever
    saw per project. Each read is a committed state, so a count over the cap is a real one."""

    def __init__(self, runtime: Runtime):
        super().__init__(daemon=True)
        self.runtime = runtime
        self.most: Counter[str] = Counter()
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            with self.runtime.db.session() as session:
                rows = session.execute(select(Job.project_id, func.count()).where(
                    Job.state == "running").group_by(Job.project_id)).all()
            for project_id, count in rows:
                self.most[project_id] = max(self.most[project_id], count)
            self.samples += 1
            time.sleep(0.005)


def submit(client, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = client.post("/v1/jobs/text-to-speech", json={"voiceId": "Salma",
                                                                "text": TEXT})
        assert response.status_code == 200, response.text
        ids.append(response.json()["data"]["jobId"])
    return ids


def finished_jobs(runtime: Runtime) -> list[Job]:
    with runtime.db.session() as session:
        return list(session.scalars(select(Job)))


def test_a_burst_does_not_starve_another_project(runtime: Runtime, database_url: str,
                                                 tmp_path: Path):
    a, b = make_project(runtime, "burst-a"), make_project(runtime, "small-b")
    key_a, key_b = make_key(runtime, a)[1], make_key(runtime, b)[1]
    env = {"HAMS_DATABASE_URL": database_url}
    (tmp_path / "api").mkdir()
    server = start_server(tmp_path / "api", workers=0, env=env)
    try:
        with server.client(key_a) as client_a, server.client(key_b) as client_b:
            a_ids, b_ids = submit(client_a, 50), submit(client_b, 5)
    finally:
        server.stop()

    sampler = RunningSampler(runtime)
    sampler.start()
    worker = start_worker(server.data_dir, concurrency=4, env={
        **env, "HAMS_PROJECT_MAX_RUNNING_JOBS": str(CAP), "HAMS_WORKER_POLL_SECONDS": "0.05"})
    try:
        wait_until(lambda: all(job.state == "completed" for job in finished_jobs(runtime)),
                   timeout=180, interval=0.1, what="every job completed")
    finally:
        sampler.done.set()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        sampler.join(10)

    jobs = {job.id: job for job in finished_jobs(runtime)}
    assert sorted(jobs) == sorted(a_ids + b_ids)
    assert {job.state for job in jobs.values()} == {"completed"}  # none lost, none refused
    assert sampler.samples > 10
    assert max(sampler.most.values()) <= CAP, sampler.most

    a_starts = sorted(jobs[i].started_at for i in a_ids)
    a_ends = sorted(jobs[i].finished_at for i in a_ids)
    b_last_start = max(jobs[i].started_at for i in b_ids)
    b_last_end = max(jobs[i].finished_at for i in b_ids)
    assert b_last_start < a_starts[15]  # B's 5 were let in among A's first
    assert b_last_end < a_ends[-20]  # and were done while 20 or more of A's still had to run
