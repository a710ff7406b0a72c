"""AI content with an LLM: the API and a worker against a real OpenAI-compatible server."""

from __future__ import annotations

import pytest

from hams.engines.text import AI_PARTS
from tests.api.test_ai_content_api import TRANSCRIPT, run_queued, transcription
from tests.conftest import built_runtime
from tests.factories import api_client
from tests.helpers.llm_server import FakeLlmServer


@pytest.fixture
def llm():
    with FakeLlmServer() as server:
        yield server


@pytest.fixture
def runtime(tmp_path, llm):
    with built_runtime(tmp_path, llm_base_url=llm.base_url, llm_model="tiny-chat",
                       llm_api_key="sk-test", max_attempts=3) as rt:
        yield rt


def finished(api, runtime, job_id: str) -> dict:
    run_queued(runtime)
    return api.get("/v1/jobs/ai-content", params={"jobId": job_id}).json()["data"]


def test_every_part_is_written_by_the_llm(api, runtime, llm):
    source = transcription(runtime, api.principal)
    created = api.post(f"/v1/jobs/ai-content?jobId={source.id}", json={"aiParts": AI_PARTS})
    assert created.status_code == 200, created.text
    assert created.json()["data"]["model"] == "llm:tiny-chat"
    job = finished(api, runtime, created.json()["data"]["id"])
    assert job["status"] == "COMPLETED", job
    response = job["jobResponse"]
    assert set(response) == {*AI_PARTS, "transcriptionJobId"}
    for part in AI_PARTS:
        assert response[part] == f"Generated {part} in English"
    assert len(llm.requests) == len(AI_PARTS)
    first = llm.requests[0]
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer sk-test"
    assert first.body["model"] == "tiny-chat"
    assert TRANSCRIPT in first.user and "English" in first.system + first.user
    assert job["usageTokens"] == 15 * len(AI_PARTS)


def test_arabic_output_is_asked_for_in_arabic(api, runtime, llm):
    source = transcription(runtime, api.principal)
    created = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                       json={"aiParts": ["faq"], "language": "ar"})
    job = finished(api, runtime, created.json()["data"]["id"])
    assert job["status"] == "COMPLETED" and job["toLng"] == "ar"
    assert "Arabic" in llm.requests[0].user


@pytest.mark.parametrize("body", [
    {"aiParts": ["summary", "faq"], "prompts": {"summary": "Summarise for a child of ten"}},
    {"aiParts": [{"aiPart": "summary", "language": "ar", "prompt": "Summarise for a child of ten"},
                 {"aiPart": "faq", "language": "en"}]},
])
def test_custom_prompts_reach_the_model(api, runtime, llm, body):
    source = transcription(runtime, api.principal)
    created = api.post(f"/v1/jobs/ai-content/custom?jobId={source.id}", json=body)
    assert created.status_code == 200, created.text
    job = finished(api, runtime, created.json()["data"]["id"])
    assert job["status"] == "COMPLETED", job
    by_part = {request.part: request for request in llm.requests}
    assert "Summarise for a child of ten" in by_part["summary"].user
    assert "Summarise for a child of ten" not in by_part["faq"].user
    if isinstance(body["aiParts"][0], dict):
        assert "Arabic" in by_part["summary"].user and "English" in by_part["faq"].user


def test_malformed_model_output_fails_the_job_once_with_a_clear_error(api, runtime, llm):
    source = transcription(runtime, api.principal)
    llm.reply_raw("Sure! Here is your summary: the council met.")
    created = api.post(f"/v1/jobs/ai-content?jobId={source.id}", json={"aiParts": ["summary"]})
    job = finished(api, runtime, created.json()["data"]["id"])
    assert job["status"] == "FAILED" and job["attempts"] == 1
    assert "summary" in job["error"] and "Sure! Here is your summary" in job["error"]
    assert job["jobResponse"] == {"error": job["error"], "messageKey": "AI_CONTENT_FAILED"}
    assert len(llm.requests) == 1
    assert job["usageTokens"] == 15  # the tokens the bad answer cost are still counted


def test_rate_limited_model_is_retried(api, runtime, llm):
    source = transcription(runtime, api.principal)
    llm.enqueue(status=429, body={"error": {"message": "slow down"}},
                headers={"Retry-After": "0"})
    created = api.post(f"/v1/jobs/ai-content?jobId={source.id}", json={"aiParts": ["titles"]})
    job = finished(api, runtime, created.json()["data"]["id"])
    assert job["status"] == "COMPLETED" and job["attempts"] == 1
    assert len(llm.requests) == 2


def test_transcribe_and_generate_in_both_languages(api, runtime, llm, media_server, speech):
    """v2 with aiContentLanguage both_ar_first: Arabic first, then English, from the speech."""
    url = media_server.add_file("llm-speech.wav", speech.read_bytes())
    created = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": url, "language": "en",
        "aiParts": ["summary"], "aiContentLanguage": "both_ar_first",
        "aiContentText": "Mention the mayor", "aiContentDate": "2026-11-29"})
    assert created.status_code == 200, created.text
    ids = created.json()["data"]
    assert run_queued(runtime) == 2  # the transcription, then the content it released
    job = api.get("/v1/jobs/ai-content", params={"jobId": ids["jobId"]}).json()["data"]
    assert job["status"] == "COMPLETED", job
    assert job["jobResponse"]["summary"] == ("Generated summary in Arabic (العربية)\n\n"
                                             "Generated summary in English")
    assert [r.language for r in llm.requests] == ["Arabic (العربية)", "English"]
    assert all("Mention the mayor" in r.user and "2026-11-29" in r.user
               for r in llm.requests)
    assert "finance team" in llm.requests[0].user  # the transcript of the speech


def test_prompts_may_name_a_part_given_as_an_object(api, runtime, llm):
    source = transcription(runtime, api.principal)
    created = api.post(f"/v1/jobs/ai-content/custom?jobId={source.id}", json={
        "aiParts": ["faq", {"aiPart": "summary", "language": "en"}],
        "prompts": {"summary": "Exactly one sentence", "faq": "Two questions"}})
    assert created.status_code == 200, created.text
    finished(api, runtime, created.json()["data"]["id"])
    by_part = {request.part: request for request in llm.requests}
    assert "Exactly one sentence" in by_part["summary"].user
    assert "Two questions" in by_part["faq"].user


@pytest.fixture
def small_budget_api(tmp_path, llm):
    with built_runtime(tmp_path / "small", llm_base_url=llm.base_url, llm_model="tiny-chat",
                       llm_max_input_chars=4000) as rt, api_client(rt) as client:
        client.runtime = rt
        yield client


def test_prompts_that_leave_no_room_for_the_transcript_are_refused_at_submission(
        small_budget_api, llm):
    api = small_budget_api
    prompt = "Write it like this. " * 130  # 2600 characters of a 4000-character budget
    long_source = transcription(api.runtime, api.principal,
                                job_response={"text": TRANSCRIPT * 12})  # about 5300 chars
    refused = api.post(f"/v1/jobs/ai-content/custom?jobId={long_source.id}",
                       json={"aiParts": ["summary"], "prompts": {"summary": prompt}})
    assert refused.status_code == 400, refused.text
    assert "HAMS_LLM_MAX_INPUT_CHARS" in refused.json()["message"]
    v2 = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en",
        "aiParts": ["summary"], "aiContentText": prompt})
    assert v2.status_code == 400 and "HAMS_LLM_MAX_INPUT_CHARS" in v2.json()["message"]
    short_source = transcription(api.runtime, api.principal)  # fits beside the prompt
    accepted = api.post(f"/v1/jobs/ai-content/custom?jobId={short_source.id}",
                        json={"aiParts": ["summary"], "prompts": {"summary": prompt}})
    assert accepted.status_code == 200, accepted.text
    assert llm.requests == []  # all of it decided before any model call


def test_a_retried_job_counts_the_tokens_of_every_attempt(tmp_path, llm):
    with built_runtime(tmp_path, llm_base_url=llm.base_url, llm_model="tiny-chat",
                       llm_max_retries=0, max_attempts=3, retry_backoff_seconds=0) as runtime:
        with api_client(runtime) as api:
            source = transcription(runtime, api.principal)
            llm.reply_content("A short summary.")  # attempt 1: the first part is written...
            llm.enqueue(status=503, body={"error": {"message": "overloaded"}})  # ...then not
            created = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                               json={"aiParts": ["summary", "titles"]})
            job = finished(api, runtime, created.json()["data"]["id"])
        assert job["status"] == "COMPLETED" and job["attempts"] == 2
        assert len(llm.requests) == 4  # 2 in the failed attempt, 2 in the one that worked
        assert job["usageTokens"] == 3 * 15  # three answers came back with usage, all billed
