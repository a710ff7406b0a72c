"""Bad input gets a clear error in the envelope, and the server keeps serving."""

from __future__ import annotations

import io
import json
import wave

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.server import start_server, wait_for_job


def transcribe(client, media_url: str, **extra):
    return client.post("/v1/jobs/transcribe", json={"mediaUrl": media_url, "language": "en",
                                                    **extra})


def failed_job(client, media_url: str) -> dict:
    response = transcribe(client, media_url)
    assert response.status_code == 200, response.text
    job = wait_for_job(client, response.json()["data"]["jobId"])["data"]
    assert job["status"] == "FAILED", job
    return job


def test_non_audio_file_fails_at_once(server, media_server):
    url = media_server.add_file("notes.wav", b"this is plain text, not audio\n" * 50)
    job = failed_job(server.client(), url)
    assert "could not be decoded" in job["jobResponse"]["error"]
    assert "blobs" not in job["error"] and str(server.data_dir) not in job["error"]
    assert job["attempts"] == 1 and job["error"] == job["jobResponse"]["error"]


def test_missing_url_fails_with_the_status(server, media_server):
    job = failed_job(server.client(), media_server.url("nowhere.mp3"))
    assert "404" in job["jobResponse"]["error"] and job["attempts"] == 1


def test_oversize_file_fails_with_the_limit(server, media_server):
    url = media_server.add_file("huge.wav", b"\0" * (9 * 1024 * 1024))
    job = failed_job(server.client(), url)
    assert "HAMS_MEDIA_MAX_BYTES" in job["jobResponse"]["error"]


def test_tiny_file_that_decodes_to_hours_fails_at_once(server, media_server):
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:  # 36 KB whose header claims 1 Hz: 5 hours of audio
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(1)
        out.writeframes(b"\x10\x00" * 18_000)
    job = failed_job(server.client(), media_server.add_file("slow.wav", wav.getvalue()))
    assert "longer than the limit of 14400 s (HAMS_MEDIA_MAX_SECONDS)" in job["error"]
    assert job["attempts"] == 1


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/jobs"])  # unknown; HTTP only
def test_websocket_to_an_unknown_path_is_a_404_like_http(server, path):
    url = server.base_url.replace("http://", "ws://") + path
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{url}?api_key={server.key}", open_timeout=10)
    response = refused.value.response
    assert response.status_code == 404
    assert json.loads(response.body) == {"success": False, "message": "Not Found",
                                         "messageKey": "NOT_FOUND", "data": None}
    assert server.client().get("/v1/nope").json() == json.loads(response.body)


@pytest.mark.parametrize("body, field", [
    ({"language": "en"}, "mediaUrl"),
    ({"mediaUrl": "http://127.0.0.1/a.wav", "returnSrtFormat": "maybe"}, "returnSrtFormat"),
    ({"mediaUrl": "http://127.0.0.1/a.wav", "webhookAuth": "nope"}, "webhookAuth"),
    ({"mediaUrl": "http://127.0.0.1/a.wav", "processingType": "sync"}, "processingType"),
])
def test_malformed_fields_are_named(server, body, field):
    response = server.client().post("/v1/jobs/transcribe", json=body)
    assert response.status_code == 400
    envelope = response.json()
    assert envelope["success"] is False and envelope["messageKey"] == "VALIDATION_ERROR"
    assert field in {f["field"] for f in envelope["data"]}


def test_unparseable_json_and_oversize_body(server):
    client = server.client()
    broken = client.post("/v1/jobs/transcribe", content=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["messageKey"] == "VALIDATION_ERROR"
    huge = client.post("/v1/jobs/transcribe", content=json.dumps({"title": "x" * 2_000_000}))
    assert huge.status_code == 413 and huge.json()["messageKey"] == "PAYLOAD_TOO_LARGE"

    def chunked():  # no Content-Length: the limit is enforced while reading
        yield b'{"title": "'
        for _ in range(40):
            yield b"x" * 50_000
        yield b'"}'

    streamed = client.post("/v1/jobs/transcribe", content=chunked())
    assert streamed.status_code == 413 and streamed.json()["messageKey"] == "PAYLOAD_TOO_LARGE"
    assert client.get("/health").status_code == 200


def test_knowledge_files_have_the_knowledge_limit_not_the_json_one(server):
    """A 3 MB file to the knowledge base passes the 1 MiB JSON body limit (its own limit is
    HAMS_KB_MAX_FILE_BYTES); the same size as JSON elsewhere is still 413."""
    client = server.client()
    page = ("The clinic opens at nine. " * 40 + "\n") * 3000  # about 3 MB
    created = client.post("/v1/voice-agents/knowledge-base",
                          files={"file": ("big.txt", page.encode(), "text/plain")})
    assert created.status_code == 200, created.text
    item = created.json()["data"][0]
    assert item["type"] == "FILE" and item["fileSizeBytes"] == len(page.encode())
    assert client.delete(f"/v1/voice-agents/knowledge-base/{item['id']}").status_code == 200
    elsewhere = client.post("/v1/voice-agents", json={"agentName": "x", "preamble": page})
    assert elsewhere.status_code == 413


@pytest.mark.parametrize("body, key", [
    ({"model": "Whisper-Large"}, "UNSUPPORTED_MODEL"),
    ({"language": "fr"}, "UNSUPPORTED_LANGUAGE"),
    ({"language": "ar"}, "UNSUPPORTED_LANGUAGE"),  # the bundled model is English-only
    ({"returnSrtFormat": True, "srtOptions": {"maxCharsPerLine": 0}}, "VALIDATION_ERROR"),
    ({"returnSrtFormat": True, "srtOptions": {"colour": "red"}}, "VALIDATION_ERROR"),
])
def test_refused_at_submission(server, media_server, body, key):
    payload = {"mediaUrl": media_server.url("speech.wav"), "language": "en", **body}
    response = server.client().post("/v1/jobs/transcribe", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["messageKey"] == key
    assert response.json()["message"]


def test_server_keeps_serving(server, media_server, speech):
    url = media_server.add_file("after-errors.wav", speech.read_bytes())
    client = server.client()
    assert client.get("/health").json()["status"] == "ok"
    job = wait_for_job(client, transcribe(client, url).json()["data"]["jobId"])["data"]
    assert job["status"] == "COMPLETED"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, media_server):
    """A server with the SSRF guard on; only the media server's own host:port is trusted."""
    process = start_server(tmp_path_factory.mktemp("guarded"), workers=1, env={
        "HAMS_URL_ALLOWLIST": json.dumps([f"127.0.0.1:{media_server.port}"])})
    yield process
    process.stop()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/a.wav", "http://localhost/a.wav", "http://169.254.169.254/latest",
    "http://[::1]/a.wav", "http://10.1.2.3/a.wav", "file:///etc/passwd",
])
def test_guard_refuses_private_urls_at_submission(guarded, url):
    response = guarded.client().post("/v1/jobs/transcribe", json={"mediaUrl": url,
                                                                  "language": "en"})
    assert response.status_code == 400, response.text
    assert response.json()["messageKey"] == "URL_REFUSED"


def test_guard_refuses_private_webhook(guarded, media_server):
    response = guarded.client().post("/v1/jobs/transcribe", json={
        "mediaUrl": media_server.url("speech.wav"), "language": "en",
        "webhookUrl": "http://192.168.1.10/hook"})
    assert response.status_code == 400 and response.json()["messageKey"] == "URL_REFUSED"
    assert "webhookUrl" in response.json()["message"]


def test_guard_refuses_redirect_to_private_address(guarded, media_server, speech):
    media_server.add_file("real.wav", speech.read_bytes())
    media_server.redirects["to-metadata"] = "http://169.254.169.254/latest/meta-data/"
    media_server.redirects["to-loopback"] = "http://127.0.0.1:1/secret"
    client = guarded.client()
    for name in ("to-metadata", "to-loopback"):
        job = failed_job(client, media_server.url(name))
        assert "private" in job["jobResponse"]["error"] or "link-local" in \
            job["jobResponse"]["error"] or "loopback" in job["jobResponse"]["error"]
    allowed = wait_for_job(client, transcribe(client, media_server.url("real.wav"))
                           .json()["data"]["jobId"])["data"]
    assert allowed["status"] == "COMPLETED"
