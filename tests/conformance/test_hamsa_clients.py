"""Requests exactly as real Hamsa clients send them (spec/hamsa-clients.md), against hams."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.server import wait_for_job


@pytest.fixture(scope="module")
def speech_url(media_server, speech):
    return media_server.add_file("conformance.wav", speech.read_bytes())


def pipedream(server) -> httpx.Client:
    """Pipedream's app: base URL .../v1, lower-case `authorization: Token <key>`."""
    return httpx.Client(base_url=f"{server.base_url}/v1", timeout=60,
                        headers={"authorization": f"Token {server.key}"})


def test_pipedream_transcribe_then_list_jobs(server, speech_url, webhook_receiver):
    with pipedream(server) as client:
        created = client.post("/jobs/transcribe", json={
            "mediaUrl": speech_url, "model": "Hamsa-Conversational-V1.0",
            "processingType": "async", "webhookUrl": webhook_receiver.url("/pipedream"),
            "title": "From Pipedream", "language": "en",
            "webhookAuth": {"authKey": "Bearer", "authSecret": "pd"}})
        assert created.status_code == 200, created.text
        job_id = created.json()["data"]["jobId"]
        project_id = client.get("/projects/by-api-key").json()["data"]["id"]
        listed = client.post("/jobs/all", params={"take": 100, "projectId": project_id})
        assert listed.status_code == 200, listed.text
        jobs = listed.json()["data"]["jobs"]
        assert {"id", "title"} <= set(jobs[0])
        assert job_id in {job["id"] for job in jobs}
    [hook] = webhook_receiver.wait_for("/pipedream", 1)
    assert hook.headers["authorization"] == "Bearer pd"
    assert hook.json()["data"]["model"] == "Hamsa-Conversational-V1.0"


def test_spekoai_batch_submit_and_poll(server, speech_url):
    headers = {"Authorization": f"Token {server.key}", "Accept": "application/json"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        created = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": speech_url, "model": "Hamsa-General-V2.0", "processingType": "async",
            "language": "en", "diarization": True})
        assert created.status_code == 200, created.text
        data = wait_for_job(client, created.json()["data"]["jobId"])["data"]
    assert data["status"] == "COMPLETED" and data.get("error") is None
    assert float(data["usageTime"]) > 5
    result = data["jobResponse"]
    assert isinstance(result, dict) and result["text"] and result["language"] == "en"
    assert result["duration"] > 5
    for segment in result["segments"]:
        assert {"text", "start", "end", "speaker"} <= set(segment)


def test_dashboard_client_lists_with_body_and_reads_with_extra_params(server, speech_url):
    with server.client() as client:
        job_id = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": speech_url, "model": "Hamsa-General-V2.0",
            "language": "en", "title": "dashboard"}).json()["data"]["jobId"]
        project_id = client.get("/v1/projects/by-api-key").json()["data"]["id"]
        listed = client.post("/v1/jobs/all", params={"projectId": project_id}, json={
            "sort": {"field": "createdAt", "direction": "desc"}, "take": 50, "skip": 1})
        assert listed.json()["data"]["jobs"][0]["id"] == job_id
        read = client.get("/v1/jobs", params={"jobId": job_id, "search": "", "speaker": ""})
        assert read.status_code == 200 and read.json()["data"]["id"] == job_id


def test_error_bodies_carry_message_and_message_key(server):
    """The voice SDK reads `message` and `messageKey` from every error body."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        for response in (client.get("/v1/jobs", params={"jobId": "x"}),
                         client.post("/v1/jobs/transcribe", json={},
                                     headers={"Authorization": f"Token {server.key}"})):
            body = response.json()
            assert response.status_code in (400, 401)
            assert body["success"] is False and body["message"] and body["messageKey"]


def test_livekit_plugin_streams_tts_with_a_legacy_speaker(server):
    """hamsa_livekit: POST tts-stream {speaker: "Ali", dialect: "pls"}, reads raw 16 kHz PCM."""
    headers = {"Authorization": f"Token {server.key}", "User-Agent": "LiveKit Agents"}
    with httpx.Client(timeout=60, headers=headers) as client, client.stream(
            "POST", f"{server.base_url}/v1/realtime/tts-stream",
            json={"speaker": "Ali", "dialect": "pls", "text": "مرحبا بكم", "mulaw": False},
    ) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes(8192))
    assert body[:4] == b"RIFF" and len(body) > 44 + 16000  # header, then over 0.5 s of PCM


def test_spekoai_tts_stream_at_8k(server):
    """SpekoAI: needs a 2xx audio/* answer; sampleRate "8k" without mulaw is 8 kHz PCM16."""
    with httpx.Client(timeout=60, follow_redirects=False,
                      headers={"Authorization": f"Token {server.key}"}) as client:
        response = client.post(f"{server.base_url}/v1/realtime/tts-stream", json={
            "text": "مرحبا", "speaker": "Salem", "dialect": "msa", "mulaw": False,
            "sampleRate": "8k"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("audio/")
    header = response.content[:44]
    assert int.from_bytes(header[24:28], "little") == 8000
    assert int.from_bytes(header[20:22], "little") == 1  # PCM
    assert int.from_bytes(header[34:36], "little") == 16
