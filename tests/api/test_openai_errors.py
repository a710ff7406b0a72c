"""Errors on the OpenAI-compatible routes are in OpenAI's shape; Hamsa routes keep the envelope."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from hams.app import create_app
from hams.media.wav import to_wav_bytes
from tests.conftest import built_runtime
from tests.factories import api_client

OPENAI_KEYS = {"message", "type", "param", "code"}
ENVELOPE_KEYS = {"success", "message", "messageKey", "data"}


def openai_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == OPENAI_KEYS
    return body["error"]


def envelope_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ENVELOPE_KEYS and body["success"] is False
    return body


def test_bad_key(api):
    headers = {"Authorization": "Bearer hams_nope"}
    error = openai_error(api.get("/v1/models", headers=headers), 401)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
    assert api.get("/v1/models", headers=headers).headers["x-should-retry"] == "false"
    body = envelope_error(api.get("/v1/jobs?jobId=x", headers=headers), 401)
    assert body["messageKey"] == "UNAUTHORIZED"
    missing = {"Authorization": ""}
    assert openai_error(api.post("/v1/audio/speech", json={}, headers=missing), 401)["message"]
    envelope_error(api.post("/v1/realtime/tts", json={}, headers=missing), 401)


def test_validation_is_400_in_each_shape(api):
    error = openai_error(api.post("/v1/audio/speech", json={"model": "tts-1", "voice": "alloy"}),
                         400)
    assert (error["param"], error["code"]) == ("input", "validation_error")
    error = openai_error(api.post("/v1/audio/speech", json={
        "model": "tts-1", "voice": "alloy", "input": "hi", "speed": 9}), 400)
    assert error["param"] == "speed"
    error = openai_error(api.post("/v1/audio/transcriptions", data={"model": "whisper-1"}), 400)
    assert error["param"] == "file"
    body = envelope_error(api.post("/v1/realtime/tts", json={"speaker": "Layan"}), 400)
    assert body["messageKey"] == "VALIDATION_ERROR"


def test_not_found_in_each_shape(api):
    error = openai_error(api.get("/v1/models/gpt-9"), 404)
    assert (error["code"], error["param"]) == ("model_not_found", "model")
    openai_error(api.get("/v1/audio/nothing-here"), 404)
    envelope_error(api.get("/v1/nothing-here"), 404)


def test_too_large_in_each_shape(api, runtime):
    limit = runtime.settings.max_body_bytes
    big = b'{"input": "' + b"a" * (limit + 10) + b'"}'
    error = openai_error(api.post("/v1/audio/speech", content=big,
                                  headers={"Content-Type": "application/json"}), 413)
    assert error["code"] == "payload_too_large"
    envelope_error(api.post("/v2/tts/histories", content=big,
                            headers={"Content-Type": "application/json"}), 413)


def test_an_unfinished_job_is_a_504_naming_it(tmp_path):
    """No worker runs here, so the job waits; the answer says where its result will be."""
    with (built_runtime(tmp_path, openai_wait_seconds=0.2) as runtime,
          api_client(runtime) as api):
        silence = to_wav_bytes(np.zeros(16_000, dtype=np.int16), 16_000)
        response = api.post("/v1/audio/transcriptions", data={"model": "whisper-1"},
                            files={"file": ("a.wav", silence, "audio/wav")})
        error = openai_error(response, 504)
        job_id = response.headers["x-job-id"]
        assert error["code"] == "job_still_running" and job_id in error["message"]
        assert response.headers["x-should-retry"] == "false"
        job = api.get("/v1/jobs", params={"jobId": job_id}).json()["data"]
        assert (job["status"], job["type"], job["processingType"]) == (
            "PENDING", "TRANSCRIPTION", "sync")


def test_openai_paths_do_not_swallow_hamsa_ones():
    from hams.api.openai_errors import is_openai_path

    assert is_openai_path("/v1/models") and is_openai_path("/v1/models/whisper-1")
    assert is_openai_path("/v1/audio/speech")
    assert not is_openai_path("/v1/modelsx") and not is_openai_path("/v1/jobs")
    assert not is_openai_path("/v1/tts/voices") and not is_openai_path("/v2/tts/histories")


def test_behind_a_root_path_the_openai_routes_keep_their_shape(runtime):
    """A proxy serving hams under /hams (uvicorn --root-path): the split is by route, not by
    the raw path."""
    with TestClient(create_app(runtime.settings, runtime=runtime), root_path="/hams",
                    headers={"Authorization": "Bearer hams_nope"}) as client:
        error = openai_error(client.get("/hams/v1/models"), 401)
        assert error["code"] == "invalid_api_key"
        envelope_error(client.get("/hams/v1/jobs?jobId=x"), 401)


def test_behind_a_root_path_uploads_keep_their_body_limit(runtime):
    """The per-route body limits (uploads may be larger than other bodies) apply behind a
    proxy's root_path too."""
    settings = runtime.settings.model_copy(update={"max_body_bytes": 1000})
    body = {"file": ("a.wav", b"\0" * 5000, "audio/wav")}
    with TestClient(create_app(settings, runtime=runtime), root_path="/hams",
                    headers={"Authorization": "Bearer hams_nope"}) as client:
        # past the small general limit, the upload route gets to authenticate: 401, not 413
        assert client.post("/hams/v1/audio/transcriptions", files=body).status_code == 401
        assert client.post("/hams/v1/realtime/tts", content=b"x" * 5000).status_code == 413
