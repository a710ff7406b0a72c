"""The usage ledger on SQLite and PostgreSQL: real jobs run by a real worker leave exactly one
row each, also when a crashed worker's claim is taken over and finished twice; the migration
backfills jobs that finished before the ledger existed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from hams.db.migrate import upgrade
from hams.db.models import Job, UsageRecord, utcnow
from hams.queue import jobs as queue
from hams.runtime import Runtime
from hams.services import usage
from hams.services.jobs import job_ended
from hams.worker.handlers import job_handlers
from hams.worker.runner import Worker
from tests.api.test_migrations import empty_db  # noqa: F401 - the fixture
from tests.factories import api_client, load_job, make_job

TEXT = "Usage is counted once."
TRANSCRIPT = "The meeting starts at nine. Everyone brings the quarterly report."


def priced(runtime: Runtime) -> Runtime:
    settings = runtime.settings.model_copy(update={
        "tts_price_per_1k_chars": 2.0, "ai_content_price_per_1k_chars": 0.5})
    return dataclasses.replace(runtime, settings=settings)


def ledger(runtime: Runtime, **where) -> list[UsageRecord]:
    with runtime.db.session() as session:
        return list(session.scalars(select(UsageRecord).filter_by(**where)))


def test_tts_and_ai_content_jobs_are_recorded_with_their_measures_and_cost(runtime):
    runtime = priced(runtime)
    with api_client(runtime) as client:
        tts = client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": TEXT})
        source = make_job(runtime, client.principal, state="completed", status="COMPLETED",
                          job_response={"text": TRANSCRIPT, "language": "en"})
        content = client.post(f"/v1/jobs/ai-content?jobId={source.id}",
                              json={"aiParts": ["summary"]})
        assert tts.status_code == content.status_code == 200, (tts.text, content.text)
        assert ledger(runtime) == []  # accepted is not used
        worker = Worker(runtime)
        while worker.run_once():
            pass
    tts_job = load_job(runtime, tts.json()["data"]["id"])
    content_job = load_job(runtime, content.json()["data"]["id"])
    assert tts_job.state == content_job.state == "completed"
    [tts_row] = ledger(runtime, job_id=tts_job.id)
    assert (tts_row.kind, tts_row.characters, tts_row.quantity, tts_row.unit) == (
        "tts", len(TEXT), len(TEXT), "characters")
    assert tts_row.audio_seconds == pytest.approx(tts_job.usage_seconds) and tts_row.audio_seconds
    assert tts_row.cost == pytest.approx(len(TEXT) / 1000 * 2.0) == tts_job.total_cost
    assert tts_row.api_key_id == client.principal.api_key_id
    assert tts_row.project_id == client.project.id and tts_row.model == "Hamsa-TTS-V1.0"
    [content_row] = ledger(runtime, job_id=content_job.id)
    assert (content_row.kind, content_row.characters, content_row.tokens, content_row.unit) == (
        "ai_content", len(TRANSCRIPT), 0, "characters")  # the extractive engine uses no tokens
    assert content_row.cost == 0.5 == content_job.total_cost
    assert content_row.created_at == content_job.finished_at


def test_failed_and_cancelled_jobs_use_nothing(runtime):
    with api_client(runtime) as client:
        cancelled = client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma",
                                                                  "text": TEXT}).json()["data"]
        assert client.post(f"/v1/jobs/{cancelled['id']}/cancel").status_code == 200
        failing = make_job(runtime, client.principal, media_url="http://127.0.0.1:1/none.wav",
                           max_attempts=1)
        Worker(runtime).run_once()
    assert load_job(runtime, failing.id).state == "failed"
    assert ledger(runtime) == []


def test_a_job_finished_again_after_a_crash_is_counted_once(runtime):
    with api_client(runtime) as client:
        job_id = client.post("/v1/jobs/text-to-speech", json={
            "voiceId": "Emma", "text": TEXT}).json()["data"]["id"]
    with runtime.db.session() as session:  # worker A claims the job, then crashes
        crashed = queue.claim_next_job(session, "crashed", utcnow(), 60)
    late_outcome = job_handlers(runtime)["TTS"](load_job(runtime, job_id))  # A had done the work
    with runtime.db.session() as session:  # A's lease runs out
        session.execute(update(Job).where(Job.id == job_id).values(
            lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert Worker(runtime).run_once()  # worker B takes the job over and finishes it
    assert load_job(runtime, job_id).state == "completed"
    # A comes back and records what it made: refused, and nothing is counted again
    with runtime.db.session() as session:
        assert not queue.finish_job(session, crashed, utcnow(), state="completed",
                                    status="COMPLETED", job_response=late_outcome.job_response)
    # the end of the job settled a second time (a redelivered completion): still one row
    with runtime.db.session() as session:
        job_ended(session, session.get(Job, job_id))
        assert not usage.record_job(session, session.get(Job, job_id))
    assert len(ledger(runtime, job_id=job_id)) == 1
    assert len(ledger(runtime)) == 1


def test_deleting_a_job_keeps_what_it_used(runtime):
    with api_client(runtime) as client:
        job_id = client.post("/v1/jobs/text-to-speech", json={
            "voiceId": "Emma", "text": TEXT}).json()["data"]["id"]
        Worker(runtime).run_once()
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
    assert [row.job_id for row in ledger(runtime)] == [job_id]


def test_upgrade_backfills_jobs_finished_before_the_ledger(empty_db):  # noqa: F811
    upgrade(empty_db, "0005")
    insert_job = text(
        "INSERT INTO jobs (id, project_id, api_key_id, type, model, processing_type, options, "
        "job_response, status, total_cost, usage_seconds, usage_tokens, relevant_job_id, "
        "state, run_after, fencing, attempts, max_attempts, finished_at, created_at, "
        "updated_at) VALUES (:id, 'p1', 'k1', :type, 'm', 'async', :options, :response, "
        ":status, :cost, :seconds, :tokens, :source, :state, CURRENT_TIMESTAMP, 1, 1, 3, "
        "'2025-01-02 03:04:05', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    jobs = [
        dict(id="t1", type="TRANSCRIPTION", options="{}", response='{"text": "hello there"}',
             status="COMPLETED", cost=0.25, seconds=30.5, tokens=None, source=None,
             state="completed"),
        dict(id="s1", type="TTS", options='{"text": "speak"}', response="{}",
             status="COMPLETED", cost=0.0, seconds=1.5, tokens=None, source=None,
             state="completed"),
        dict(id="a1", type="AI_CONTENT", options="{}", response="{}", status="COMPLETED",
             cost=0.5, seconds=None, tokens=321, source="t1", state="completed"),
        dict(id="a2", type="AI_CONTENT", options="{}", response="{}", status="FAILED",
             cost=0.0, seconds=None, tokens=40, source="t1", state="failed"),
        dict(id="q1", type="TTS", options='{"text": "later"}', response="{}",
             status="PENDING", cost=0.0, seconds=None, tokens=None, source=None,
             state="queued"),
    ]
    with empty_db.engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, is_deactivated, webhook_secret, "
                          "created_at, updated_at) VALUES ('p1', 'p', false, 's', "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO usage_records (id, project_id, kind, audio_seconds, "
                          "characters, created_at) VALUES ('u1', 'p1', 'realtime_stt', 2.5, "
                          "9, CURRENT_TIMESTAMP), ('u2', 'p1', 'speech', 1.0, 12, "
                          "CURRENT_TIMESTAMP)"))
        for job in jobs:
            conn.execute(insert_job, job)
    upgrade(empty_db)
    with empty_db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT coalesce(job_id, id), kind, audio_seconds, characters, tokens, quantity, "
            "unit, cost, api_key_id FROM usage_records ORDER BY 1")).all()
        [created] = conn.execute(text(
            "SELECT created_at FROM usage_records WHERE job_id = 't1'")).scalars().all()
    assert [tuple(r) for r in rows] == [
        ("a1", "ai_content", 0.0, 11, 321, 321.0, "tokens", 0.5, "k1"),
        ("a2", "ai_content", 0.0, 11, 40, 40.0, "tokens", 0.0, "k1"),  # tokens spent, failed
        ("s1", "tts", 1.5, 5, 0, 5.0, "characters", 0.0, "k1"),
        ("t1", "transcription", 30.5, 11, 0, 30.5, "seconds", 0.25, "k1"),
        ("u1", "realtime_stt", 2.5, 9, 0, 2.5, "seconds", 0.0, None),
        ("u2", "speech", 1.0, 12, 0, 12.0, "characters", 0.0, None),
    ]
    assert str(created).startswith("2025-01-02 03:04:05")
