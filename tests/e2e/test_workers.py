"""Real `hams worker` processes: SIGKILL mid-job is recovered, SIGTERM releases, on both DBs."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import select, update

from hams.db.models import Job, UsageRecord, utcnow
from hams.runtime import build_runtime
from hams.services.transcription import TranscriptionRequest, submit_transcription
from tests.conftest import make_settings
from tests.factories import load_job, make_principal
from tests.helpers.server import start_worker
from tests.helpers.wait import wait_until


@pytest.fixture
def setup(database_url, tmp_path, media_server, speech):
    runtime = build_runtime(make_settings(tmp_path, database_url=database_url))
    name = f"gated-{time.monotonic_ns()}.wav"
    media_server.add_file(name, speech.read_bytes())
    gate = media_server.gate(name)
    principal = make_principal(runtime)
    request = TranscriptionRequest(media_url=media_server.url(name), model="Hamsa-General-V2.0",
                                   language="en", title=None, webhook_url=None,
                                   webhook_auth=None, return_srt=False, srt_options=None)
    with runtime.db.session() as session:
        job_id = submit_transcription(session, principal, request, settings=runtime.settings,
                                      models=runtime.models).id
    env = {"HAMS_DATABASE_URL": database_url, "HAMS_ALLOW_PRIVATE_URLS": "true",
           "HAMS_WORKER_POLL_SECONDS": "0.05", "HAMS_LEASE_SECONDS": "30"}
    yield runtime, job_id, gate, media_server.entered[name], env
    gate.set()
    runtime.db.dispose()


def complete_with_new_worker(runtime, job_id, tmp_path, env) -> Job:
    """Start a fresh worker process and return the job once that worker has completed it."""
    worker = start_worker(tmp_path, env=env)
    try:
        return wait_until(
            lambda: (j := load_job(runtime, job_id)).state == "completed" and j, 120,
            what=lambda: f"a new worker to complete job {job_id} "
                         f"(still {load_job(runtime, job_id).state})")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def test_sigkill_mid_job_is_completed_by_another_worker(setup, tmp_path):
    runtime, job_id, gate, entered, env = setup
    first = start_worker(tmp_path, env=env)
    try:
        assert entered.wait(60), "the first worker never started fetching"
        running = load_job(runtime, job_id)
        assert running.state == "running" and running.fencing == 1
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        first.kill()
    gate.set()
    with runtime.db.session() as session:  # the lease runs out: move it into the past
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow()))
    job = complete_with_new_worker(runtime, job_id, tmp_path, env)
    assert job.status == "COMPLETED" and job.fencing == 2 and job.attempts == 2
    assert job.worker_id != running.worker_id
    assert "weather" in job.job_response["text"].lower()
    with runtime.db.session() as session:  # the usage ledger counts the job once
        rows = session.scalars(select(UsageRecord).where(UsageRecord.job_id == job_id)).all()
    assert [(r.kind, r.audio_seconds) for r in rows] == [("transcription", job.usage_seconds)]


def test_sigterm_releases_an_unfinished_job(setup, tmp_path):
    runtime, job_id, gate, entered, env = setup
    first = start_worker(tmp_path, env={**env, "HAMS_SHUTDOWN_GRACE_SECONDS": "0.2"})
    try:
        assert entered.wait(60)
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
    finally:
        first.kill()
    released = load_job(runtime, job_id)
    assert released.state == "queued" and released.attempts == 0 and released.fencing == 2
    gate.set()
    job = complete_with_new_worker(runtime, job_id, tmp_path, env)
    assert job.attempts == 1 and job.fencing == 3 and job.status == "COMPLETED"


def test_sigterm_lets_a_running_job_finish(setup, tmp_path):
    runtime, job_id, gate, entered, env = setup
    worker = start_worker(tmp_path, env={**env, "HAMS_SHUTDOWN_GRACE_SECONDS": "60"})
    try:
        assert entered.wait(60)
        worker.send_signal(signal.SIGTERM)
        gate.set()
        assert worker.wait(90) == 0
    finally:
        worker.kill()
    job = load_job(runtime, job_id)
    assert job.state == "completed" and job.attempts == 1
