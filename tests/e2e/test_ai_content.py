"""AI content end to end on a real `hams serve` process: speech → transcript → content."""

from __future__ import annotations

import re

import pytest

from tests.helpers.server import wait_for_job

PARTS = ["summary", "keywords", "titles", "introduction", "keyTopicsWithBullets"]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


@pytest.fixture(scope="module")
def generated(server, media_server, speech):
    """One POST /v2/jobs/generate-transcription-ai-content, followed to its end."""
    url = media_server.add_file("content-speech.wav", speech.read_bytes())
    with server.client() as client:
        created = client.post("/v2/jobs/generate-transcription-ai-content", json={
            "apiKey": "00000000-0000-0000-0000-000000000000", "mediaUrl": url,
            "title": "Office notes", "language": "en", "aiParts": ["summary"],
            "aiContentTitle": "Notes from the office", "aiContentLanguage": "en",
        })
        assert created.status_code == 200, created.text
        data = created.json()["data"]
        ai_job = wait_for_job(client, data["jobId"])["data"]
        transcription = client.get("/v1/jobs", params={"jobId": data["transcriptionJobId"]})
        return created.json(), ai_job, transcription.json()["data"]


def test_one_call_transcribes_then_writes(generated):
    created, ai_job, transcription = generated
    assert created["message"].startswith("AI Content started")
    assert transcription["status"] == "COMPLETED" and transcription["type"] == "TRANSCRIPTION"
    assert ai_job["status"] == "COMPLETED", ai_job
    assert ai_job["type"] == "AI_CONTENT" and ai_job["title"] == "Notes from the office"
    assert ai_job["relevantJobId"] == transcription["id"]
    assert ai_job["jobResponse"]["transcriptionJobId"] == transcription["id"]
    summary = ai_job["jobResponse"]["summary"]
    assert summary and words(summary) <= words(transcription["jobResponse"]["text"])


def test_pipedream_create_content_then_read_it(server, generated):
    """Pipedream's create-content: Token auth, jobId in the query, aiParts in the body."""
    _, _, transcription = generated
    with server.client() as client:
        client.headers["authorization"] = f"Token {server.key}"
        created = client.post(f"/v1/jobs/ai-content?jobId={transcription['id']}",
                              json={"aiParts": PARTS})
        assert created.status_code == 200, created.text
        job_id = created.json()["data"]["id"]
        assert created.json()["data"]["status"] == "PENDING"
        assert wait_for_job(client, job_id)["data"]["status"] == "COMPLETED"
        content = client.get("/v1/jobs/ai-content", params={"jobId": job_id}).json()["data"]
    response = content["jobResponse"]
    assert set(response) == {*PARTS, "transcriptionJobId"}
    transcript = transcription["jobResponse"]["text"]
    assert len(response["summary"]) < len(transcript)
    assert words(response["summary"]) <= words(transcript)
    keywords = [k.strip().lower() for k in response["keywords"].split(",")]
    assert keywords and all(set(k.split()) <= words(transcript) for k in keywords)
    assert response["introduction"].split()[:3] == transcript.split()[:3]
    assert all(line.startswith("•") for line in response["keyTopicsWithBullets"].splitlines())
    assert len(response["titles"].splitlines()) == 3


def test_llm_part_without_an_llm_is_refused_on_the_server(server, generated):
    _, _, transcription = generated
    with server.client() as client:
        refused = client.post(f"/v1/jobs/ai-content?jobId={transcription['id']}",
                              json={"aiParts": ["faq", "summary"]})
    assert refused.status_code == 400
    assert refused.json()["messageKey"] == "HAMS_LLM_BASE_URL_REQUIRED"
    assert "HAMS_LLM_BASE_URL" in refused.json()["message"]
