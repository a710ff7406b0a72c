"""End to end on a real `hams serve` process: speech in, transcript, SRT, preview, webhooks."""

from __future__ import annotations

import re

import httpx
import jiwer
import pytest

from hams.webhooks.signing import verify
from tests.helpers.server import wait_for_job
from tests.helpers.speech import SPEECH_SENTENCES
from tests.helpers.wait import wait_until

SEED_FIELDS = {
    "id", "title", "model", "type", "processingType", "webhookUrl", "totalCost", "usageTime",
    "fromLng", "toLng", "mediaUrl", "jobResponse", "fromScript", "toScript", "status",
    "relevantJobId", "agentDetails", "apiKeyId", "billingId", "systemModelKey", "voiceAgentId",
    "createdAt", "updatedAt",
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def normalize(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def parse_srt(srt: str) -> list[tuple[int, float, float, list[str]]]:
    def seconds(stamp: str) -> float:
        h, m, rest = stamp.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    cues = []
    for block in srt.strip().split("\n\n"):
        lines = block.split("\n")
        start, end = lines[1].split(" --> ")
        cues.append((int(lines[0]), seconds(start), seconds(end), lines[2:]))
    return cues


@pytest.fixture(scope="module")
def speech_url(server, media_server, speech):
    return media_server.add_file("speech.wav", speech.read_bytes())


@pytest.fixture(scope="module")
def finished(server, speech_url, webhook_receiver):
    """One transcription with SRT and a webhook, shared by the assertions below."""
    with server.client() as client:
        created = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": speech_url, "model": "Hamsa-General-V2.0", "language": "en",
            "title": "Piper sentences", "returnSrtFormat": True,
            "srtOptions": {"maxCharsPerLine": 20, "maxLinesPerSubtitle": 1},
            "webhookUrl": webhook_receiver.url("/done"),
            "webhookAuth": {"authKey": "Token", "authSecret": "s3cret"},
        })
        assert created.status_code == 200, created.text
        job_id = created.json()["data"]["jobId"]
        pending = client.get("/v1/jobs", params={"jobId": job_id}).json()
        return job_id, pending, wait_for_job(client, job_id)


def test_transcript_matches_the_speech(finished):
    _, _, body = finished
    job = body["data"]
    assert job["status"] == "COMPLETED", job
    reference = normalize(" ".join(SPEECH_SENTENCES))
    error_rate = jiwer.wer(reference, normalize(job["jobResponse"]["text"]))
    assert error_rate < 0.35, (error_rate, job["jobResponse"]["text"])


def test_finished_job_has_every_seed_field(finished):
    job_id, pending, body = finished
    assert set(body) >= {"message", "previewUrl", "data"}
    job = body["data"]
    assert set(job) >= SEED_FIELDS
    assert pending["data"]["status"] in ("PENDING", "COMPLETED")
    assert set(pending["data"]) >= SEED_FIELDS
    assert job["id"] == job_id and job["type"] == "TRANSCRIPTION"
    assert job["model"] == "Hamsa-General-V2.0" and job["systemModelKey"] == "HAMSA_GENERAL_V2.0"
    assert job["processingType"] == "async" and job["fromLng"] == "en"
    assert ISO_Z.match(job["createdAt"]) and ISO_Z.match(job["updatedAt"])
    duration = job["jobResponse"]["duration"]
    assert float(job["usageTime"]) == pytest.approx(duration, abs=0.01)
    assert job["totalCost"] == pytest.approx(duration / 60 * 0.6, rel=1e-3)


def test_segments_and_words_are_timed_monotonically(finished):
    response = finished[2]["data"]["jobResponse"]
    assert response["language"] == "en" and response["segments"]
    last = 0.0
    for segment in response["segments"]:
        assert set(segment) >= {"id", "start", "end", "text", "speaker", "words"}
        assert segment["start"] >= last - 0.01 and segment["end"] >= segment["start"]
        for word in segment["words"]:
            assert set(word) == {"word", "start", "end", "probability"}
            assert word["start"] >= last - 0.01 and word["end"] >= word["start"]
            last = word["start"]


def test_srt_parses_and_respects_options(finished):
    srt = finished[2]["data"]["jobResponse"]["srt"]
    cues = parse_srt(srt)
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    for _, start, end, lines in cues:
        assert end > start and len(lines) == 1
        assert all(len(line) <= 20 or " " not in line for line in lines)
    assert all(a[2] <= b[1] for a, b in zip(cues, cues[1:], strict=False))
    words = " ".join(line for cue in cues for line in cue[3])
    assert normalize(words) == normalize(finished[2]["data"]["jobResponse"]["text"])


def test_webhook_delivered_with_auth_and_signature(server, finished, webhook_receiver):
    job_id = finished[0]
    [hook] = webhook_receiver.wait_for("/done", 1)
    payload = hook.json()
    assert payload["success"] is True and payload["data"]["id"] == job_id
    assert payload["data"]["status"] == "COMPLETED"
    assert hook.headers["authorization"] == "Token s3cret"
    assert hook.headers["x-hams-delivery"]
    with server.client() as client:
        secret = client.get("/v1/projects/by-api-key").json()["data"]["webhookSecret"]
    assert secret == _project_secret(server)
    assert verify(secret, hook.headers["x-hams-signature"], hook.body)
    assert not verify(secret, hook.headers["x-hams-signature"], hook.body + b" ")


def _project_secret(server) -> str:
    from hams.db.models import Project
    from hams.db.session import Database

    db = Database(f"sqlite:///{server.data_dir / 'hams.db'}")
    with db.session() as session:
        secret = session.query(Project).filter_by(name="default").one().webhook_secret
    db.dispose()
    return secret


def test_preview_page_shows_the_job(server, finished, speech):
    job_id, _, body = finished
    page = httpx.get(body["previewUrl"], timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Piper sentences" in page.text and "COMPLETED" in page.text
    assert 'dir="ltr"' in page.text
    assert body["data"]["jobResponse"]["segments"][0]["text"].strip()[:10] in page.text
    player = re.search(r'<audio[^>]* src="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    media = httpx.get(server.base_url + player, timeout=10)
    assert media.status_code == 200 and media.content == speech.read_bytes()
    partial = httpx.get(server.base_url + player, headers={"Range": "bytes=0-3"}, timeout=10)
    assert partial.status_code == 206 and partial.content == b"RIFF"
    forged = re.sub(r"signature=[0-9a-f]+", "signature=" + "0" * 64, body["previewUrl"])
    refused = httpx.get(forged, timeout=10)
    assert refused.status_code == 401 and refused.json()["success"] is False


def test_upload_then_transcribe(server, speech):
    with server.client() as client:
        uploaded = client.post("/v1/media", files={"file": ("talk.wav", speech.read_bytes(),
                                                             "audio/wav")})
        assert uploaded.status_code == 200, uploaded.text
        media_url = uploaded.json()["data"]["mediaUrl"]
        assert client.get(media_url).content == speech.read_bytes()
        created = client.post("/v1/jobs/transcribe", json={"mediaUrl": media_url,
                                                           "language": "en"})
        job = wait_for_job(client, created.json()["data"]["jobId"])["data"]
    assert job["status"] == "COMPLETED"
    assert "weather" in job["jobResponse"]["text"].lower()


def test_sync_v2_job_returns_the_finished_job(server, speech_url):
    with server.client() as client:
        project_id = client.get("/v1/projects/by-api-key").json()["data"]["id"]
        response = client.post("/v2/jobs", json={
            "type": "TRANSCRIPTION", "mediaUrl": speech_url, "title": "sync", "language": "en",
            "processingType": "sync", "projectId": project_id})
        body = response.json()
        assert response.status_code == 200, body
        assert body["data"]["status"] == "COMPLETED" and body["data"]["jobId"]
        view = client.get(f"/v2/jobs/view/{body['data']['jobId']}",
                          params={"projectId": project_id}).json()["data"]
        assert view["status"] == "COMPLETED" and view["title"] == "sync"


def test_webhook_retries_until_the_receiver_accepts(server, speech_url, webhook_receiver):
    webhook_receiver.script("/flaky", [500, 503, 500, 200])
    with server.client() as client:
        job_id = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": speech_url, "language": "en",
            "webhookUrl": webhook_receiver.url("/flaky")}).json()["data"]["jobId"]
        hooks = webhook_receiver.wait_for("/flaky", 4)
        assert [h.status for h in hooks] == [500, 503, 500, 200]
        assert len({h.headers["x-hams-delivery"] for h in hooks}) == 1  # receivers dedupe on it
        assert len({h.body for h in hooks}) == 1
        deliveries = _wait_delivery_state(client, job_id, "delivered")
    [delivery] = deliveries
    assert delivery["attempts"] == 4
    assert [a["statusCode"] for a in delivery["attemptLog"]] == [500, 503, 500, 200]


def test_webhook_4xx_stops_retries(server, speech_url, webhook_receiver):
    webhook_receiver.script("/gone", [410, 200])
    with server.client() as client:
        job_id = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": speech_url, "language": "en",
            "webhookUrl": webhook_receiver.url("/gone")}).json()["data"]["jobId"]
        [delivery] = _wait_delivery_state(client, job_id, "failed")
    assert delivery["attempts"] == 1 and delivery["lastStatusCode"] == 410
    assert len(webhook_receiver.for_path("/gone")) == 1


def _wait_delivery_state(client: httpx.Client, job_id: str, state: str) -> list[dict]:
    def deliveries() -> list[dict]:
        return client.get(f"/v1/jobs/{job_id}/webhook-deliveries").json()["data"]

    return wait_until(lambda: (found := deliveries()) and found[0]["state"] == state and found,
                      60, interval=0.2, what=lambda: f"delivery to reach {state}: {deliveries()}")


def test_webhook_408_and_429_are_retried(server, speech_url, webhook_receiver):
    webhook_receiver.script("/busy", [429, 408, 204])
    with server.client() as client:
        job_id = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": speech_url, "language": "en",
            "webhookUrl": webhook_receiver.url("/busy")}).json()["data"]["jobId"]
        [delivery] = _wait_delivery_state(client, job_id, "delivered")
    assert [a["statusCode"] for a in delivery["attemptLog"]] == [429, 408, 204]


def test_failed_job_webhook_says_why(server, media_server, webhook_receiver):
    url = media_server.add_file("not-audio.bin", b"\x00\x01 plain bytes" * 100)
    with server.client() as client:
        job_id = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": url, "language": "en",
            "webhookUrl": webhook_receiver.url("/failed")}).json()["data"]["jobId"]
    [hook] = webhook_receiver.wait_for("/failed", 1)
    payload = hook.json()
    assert payload["success"] is False and payload["data"]["id"] == job_id
    assert payload["data"]["status"] == "FAILED"
    assert "decoded" in payload["message"] and payload["data"]["jobResponse"]["error"]
