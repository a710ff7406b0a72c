"""Job routes in-process on a real database: idempotency, lists, cancel, delete, health."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from hams.app import create_app
from hams.db.models import Job, Upload
from tests.factories import load_job, make_job, make_key, make_project


def body(**extra):
    return {"mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en", **extra}


def test_idempotency_key_returns_the_same_job(api, runtime):
    first = api.post("/v1/jobs/transcribe", json=body(title="a"),
                     headers={"Idempotency-Key": "k-1"})
    again = api.post("/v1/jobs/transcribe", json=body(title="a"),
                     headers={"Idempotency-Key": "k-1"})
    other = api.post("/v1/jobs/transcribe", json=body(title="a"),
                     headers={"Idempotency-Key": "k-2"})
    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json()["data"]["jobId"] == again.json()["data"]["jobId"]
    assert other.json()["data"]["jobId"] != first.json()["data"]["jobId"]
    reused = api.post("/v1/jobs/transcribe", json=body(title="b"),
                      headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 409
    assert reused.json()["messageKey"] == "IDEMPOTENCY_KEY_REUSED"
    with runtime.db.session() as session:
        assert session.query(Job).filter_by(project_id=api.project.id).count() == 2


def test_created_job_is_pending_with_every_field(api):
    job_id = api.post("/v1/jobs/transcribe", json=body(
        webhookAuth={"authKey": "Bearer", "authSecret": "x"})).json()["data"]["jobId"]
    response = api.get("/v1/jobs", params={"jobId": job_id})
    data = response.json()["data"]
    assert response.json()["previewUrl"].startswith("http://testserver/v1/jobs/")
    assert data["status"] == "PENDING" and data["jobResponse"] is None
    assert data["usageTime"] is None and data["totalCost"] == 0 and data["state"] == "queued"


def test_list_v1_pages_with_query_or_body(api, runtime):
    principal_jobs = []
    for index in range(5):
        response = api.post("/v1/jobs/transcribe", json=body(title=f"meeting {index}"))
        principal_jobs.append(response.json()["data"]["jobId"])
    query_page = api.post("/v1/jobs/all", params={"take": 2, "skip": 2,
                                                  "projectId": api.project.id}).json()["data"]
    body_page = api.post("/v1/jobs/all", json={"take": 2, "skip": 2}).json()["data"]
    assert query_page == body_page
    assert query_page["total"] == 5 and query_page["filtered"] == 5
    assert len(query_page["jobs"]) == 2
    ascending = api.post("/v1/jobs/all", json={
        "take": 10, "sort": {"field": "title", "direction": "asc"}}).json()["data"]["jobs"]
    assert [j["title"] for j in ascending] == [f"meeting {i}" for i in range(5)]
    searched = api.post("/v1/jobs/all", json={"search": "meeting 3"}).json()["data"]
    assert searched["filtered"] == 1 and searched["total"] == 5
    assert searched["jobs"][0]["attributes"]["model"] == "Hamsa-General-V2.0"
    assert api.post("/v1/jobs/all", json={"status": "COMPLETED"}).json()["data"]["filtered"] == 0
    assert api.post("/v1/jobs/all", json={"type": "TTS"}).json()["data"]["filtered"] == 0
    bad = api.post("/v1/jobs/all", json={"status": "DONE"})
    assert bad.status_code == 400 and bad.json()["messageKey"] == "VALIDATION_ERROR"


def test_list_v2_counts_pages(api):
    for index in range(3):
        api.post("/v1/jobs/transcribe", json=body(title=f"t{index}"))
    page = api.get("/v2/jobs", params={"page": 2, "perPage": 2, "type": "TRANSCRIPTION",
                                       "projectId": api.project.id}).json()["data"]
    assert page["page"] == 2 and page["totalCount"] == 3 and page["totalPages"] == 2
    assert len(page["jobs"]) == 1
    assert set(page["jobs"][0]) >= {"id", "title", "mediaUrl", "mediaType", "totalCost",
                                    "status", "createdAt"}
    assert api.get("/v2/jobs", params={"sortBy": "colour"}).status_code == 400


def test_cancel_then_conflict(api, runtime):
    job_id = api.post("/v1/jobs/transcribe", json=body()).json()["data"]["jobId"]
    cancelled = api.post(f"/v1/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "FAILED"
    assert cancelled.json()["data"]["state"] == "cancelled"
    again = api.post(f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["messageKey"] == "CONFLICT"


def test_delete_removes_job_and_stored_media(api, runtime):
    job_id = api.post("/v1/jobs/transcribe", json=body()).json()["data"]["jobId"]
    stored = runtime.storage.path_for(f"jobs/{job_id}/source")
    stored.write_bytes(b"media")
    assert api.delete(f"/v1/jobs/{job_id}").status_code == 200
    assert not stored.exists()
    assert api.get("/v1/jobs", params={"jobId": job_id}).status_code == 404


def test_uploaded_media_belongs_to_its_project(api, runtime):
    upload = api.post("/v1/media", files={"file": ("a.wav", b"RIFF....", "audio/wav")})
    media_url = upload.json()["data"]["mediaUrl"]
    other = make_project(runtime)
    _, other_secret = make_key(runtime, other)
    stranger = api.get(media_url, headers={"Authorization": f"Token {other_secret}"})
    assert stranger.status_code == 404
    job_id = api.post("/v1/jobs/transcribe", json=body(mediaUrl=media_url)).json()["data"]
    job = load_job(runtime, job_id["jobId"])
    assert job.media_key and job.media_key.startswith(f"uploads/{api.project.id}/")


def test_health_and_ready(api):
    assert api.get("/health").json()["status"] == "ok"
    ready = api.get("/ready")
    assert ready.status_code == 200 and ready.json()["schemaCurrent"] is True


def test_unknown_route_and_method_use_the_envelope(api):
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["success"] is False
    not_yet = api.post("/v1/jobs/not-a-route", json={})
    assert not_yet.status_code == 404 and not_yet.json()["messageKey"] == "NOT_FOUND"
    wrong = api.put("/v1/jobs/transcribe", json={})
    assert wrong.status_code == 405 and wrong.json()["messageKey"] == "METHOD_NOT_ALLOWED"


def test_wait_returns_at_once_for_finished_jobs(api, runtime):
    from hams.services.keys import Principal

    principal = Principal(api.project.id, "k", api.project.name)
    job = make_job(runtime, principal, state="completed", status="COMPLETED",
                   job_response={"text": "done"})
    response = api.get("/v1/jobs", params={"jobId": job.id, "wait": 60})
    assert response.json()["data"]["jobResponse"] == {"text": "done"}
    assert api.get("/v1/jobs", params={"jobId": job.id, "wait": 61}).status_code == 400


def test_upload_with_idempotency_key_is_stored_once(api, runtime):
    def send(data: bytes):
        return api.post("/v1/media", files={"file": ("a.wav", data, "audio/wav")},
                        headers={"Idempotency-Key": "upload-1"})

    first, again = send(b"RIFF-one"), send(b"RIFF-one")
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    stored = list((runtime.storage.path_for("uploads") / api.project.id).iterdir())
    assert len(stored) == 1
    changed = send(b"RIFF-two")
    assert changed.status_code == 409 and changed.json()["messageKey"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(list((runtime.storage.path_for("uploads") / api.project.id).iterdir())) == 1


def test_empty_upload_is_refused_at_once(api, runtime):
    refused = api.post("/v1/media", files={"file": ("empty.wav", b"", "audio/wav")},
                       headers={"Idempotency-Key": "empty-1"})
    assert refused.status_code == 400
    assert refused.json() == {
        "success": False, "message": "The uploaded file is empty (0 bytes)",
        "messageKey": "VALIDATION_ERROR",
        "data": [{"field": "file", "message": "The file is empty"}]}
    with runtime.db.session() as session:
        assert session.query(Upload).filter_by(project_id=api.project.id).count() == 0
    folder = runtime.storage.path_for("uploads") / api.project.id
    assert not folder.exists() or not list(folder.iterdir())
    stored = api.post("/v1/media", files={"file": ("a.wav", b"RIFF", "audio/wav")},
                      headers={"Idempotency-Key": "empty-1"})  # the key was not spent
    assert stored.status_code == 200 and stored.json()["data"]["size"] == 4


def test_oversize_upload_is_refused_and_not_kept(runtime, tmp_path):
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url=runtime.settings.database_url,
                             media_max_bytes=1000)
    project = make_project(runtime)
    _, secret = make_key(runtime, project)
    limited = dataclasses.replace(runtime, settings=settings)
    with TestClient(create_app(settings, runtime=limited),
                    headers={"X-Api-Key": secret}) as client:
        refused = client.post("/v1/media", files={"file": ("big.wav", b"x" * 5000, "audio/wav")})
    assert refused.status_code == 413 and "HAMS_MEDIA_MAX_BYTES" in refused.json()["message"]
    assert not (runtime.storage.path_for("uploads") / project.id).exists() or not list(
        (runtime.storage.path_for("uploads") / project.id).iterdir())


def test_cancelled_job_sends_its_failed_webhook(api):
    job_id = api.post("/v1/jobs/transcribe", json=body(
        webhookUrl="http://127.0.0.1:9/hook")).json()["data"]["jobId"]
    assert api.get(f"/v1/jobs/{job_id}/webhook-deliveries").json()["data"] == []
    api.post(f"/v1/jobs/{job_id}/cancel")
    [delivery] = api.get(f"/v1/jobs/{job_id}/webhook-deliveries").json()["data"]
    assert delivery["event"] == "job.failed" and delivery["state"] == "pending"


def test_webhook_auth_cannot_inject_headers(api):
    response = api.post("/v1/jobs/transcribe", json=body(
        webhookUrl="http://127.0.0.1:9/hook",
        webhookAuth={"authKey": "Token", "authSecret": "x\r\nX-Evil: 1"}))
    assert response.status_code == 400
    assert "webhookAuth.authSecret" in {f["field"] for f in response.json()["data"]}


def test_internal_jobs_are_readable_by_id_but_not_listed(api, runtime):
    listed = api.post("/v1/jobs/transcribe", json=body(title="a meeting")).json()["data"]["jobId"]
    internal = make_job(runtime, api.principal, type="KNOWLEDGE_BASE", title="kb item")
    v1 = api.post("/v1/jobs/all", json={"take": 10}).json()["data"]
    assert [j["id"] for j in v1["jobs"]] == [listed] and v1["total"] == 1
    v2 = api.get("/v2/jobs").json()["data"]
    assert [j["id"] for j in v2["jobs"]] == [listed] and v2["totalCount"] == 1
    read = api.get("/v1/jobs", params={"jobId": internal.id})
    assert read.status_code == 200 and read.json()["data"]["type"] == "KNOWLEDGE_BASE"
