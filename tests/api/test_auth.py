"""API keys: every header form, revoked and expired keys, and project isolation (404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hams.app import create_app
from hams.db.models import ApiKey, utcnow
from hams.services import keys
from tests.factories import make_job, make_key, make_principal, make_project


@pytest.fixture
def client(runtime):
    with TestClient(create_app(runtime.settings, runtime=runtime)) as test_client:
        yield test_client


@pytest.fixture
def project_key(runtime):
    project = make_project(runtime)
    key_id, secret = make_key(runtime, project)
    return project, key_id, secret


@pytest.mark.parametrize("header", [
    lambda k: {"Authorization": f"Token {k}"},
    lambda k: {"authorization": f"token {k}"},
    lambda k: {"Authorization": f"Bearer {k}"},
    lambda k: {"Authorization": k},
    lambda k: {"X-Api-Key": k},
])
def test_each_header_form_authenticates(client, project_key, header):
    project, _, secret = project_key
    response = client.get("/v1/projects/by-api-key", headers=header(secret))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == project.id


@pytest.mark.parametrize("headers, message", [
    ({}, "Missing API key"),
    ({"Authorization": "Token hams_not-a-real-key"}, "Invalid API key"),
    ({"Authorization": "Token "}, "Missing API key"),
])
def test_missing_or_unknown_key_is_401(client, headers, message):
    response = client.get("/v1/projects/by-api-key", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False and body["messageKey"] == "UNAUTHORIZED"
    assert message in body["message"]


def test_revoked_key_is_refused(client, runtime, project_key):
    _, key_id, secret = project_key
    headers = {"Authorization": f"Token {secret}"}
    assert client.get("/v1/projects/by-api-key", headers=headers).status_code == 200
    with runtime.db.session() as session:
        keys.revoke_key(session, key_id)
    response = client.get("/v1/projects/by-api-key", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["message"]


def test_expired_key_is_refused(client, runtime):
    project = make_project(runtime)
    _, expired = make_key(runtime, project, expires_at=utcnow() - timedelta(seconds=1))
    _, valid = make_key(runtime, project, expires_at=utcnow() + timedelta(hours=1))
    response = client.get("/v1/projects/by-api-key", headers={"X-Api-Key": expired})
    assert response.status_code == 401 and "expired" in response.json()["message"]
    assert client.get("/v1/projects/by-api-key", headers={"X-Api-Key": valid}).status_code == 200


def test_keys_are_stored_hashed_and_last_use_recorded(client, runtime, project_key):
    _, key_id, secret = project_key
    client.get("/v1/projects/by-api-key", headers={"X-Api-Key": secret})
    with runtime.db.session() as session:
        stored = session.get(ApiKey, key_id)
    assert stored.key_hash == keys.hash_key(secret) and secret not in stored.key_hash
    assert stored.last_used_at is not None


def test_another_projects_job_is_not_found(client, runtime, project_key):
    _, _, secret = project_key
    other = make_principal(runtime)
    foreign = make_job(runtime, other, title="theirs")
    headers = {"Authorization": f"Token {secret}"}
    missing = client.get("/v1/jobs", params={"jobId": "no-such-job"}, headers=headers)
    for response in (
        client.get("/v1/jobs", params={"jobId": foreign.id}, headers=headers),
        client.get(f"/v2/jobs/view/{foreign.id}", headers=headers),
        client.post(f"/v1/jobs/{foreign.id}/cancel", headers=headers),
        client.delete(f"/v1/jobs/{foreign.id}", headers=headers),
        client.get(f"/v1/jobs/{foreign.id}/webhook-deliveries", headers=headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["messageKey"] == missing.json()["messageKey"] == "NOT_FOUND"
    listed = client.post("/v1/jobs/all", headers=headers).json()["data"]
    assert foreign.id not in {j["id"] for j in listed["jobs"]}
    wrong_project = client.post("/v1/jobs/all", params={"projectId": other.project_id},
                                headers=headers)
    assert wrong_project.status_code == 404
