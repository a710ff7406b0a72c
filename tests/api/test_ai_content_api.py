"""AI content routes in-process on SQLite and PostgreSQL, with the extractive engine (no LLM)."""

from __future__ import annotations

import pytest

from hams.db.models import Job
from hams.worker.runner import Worker
from tests.conftest import built_runtime
from tests.factories import load_job, make_job, make_principal

TRANSCRIPT = (
    "The city council met on Monday to discuss the river and the water supply. "
    "Engineers said the river carries less water every summer, and the reservoir falls "
    "below half of its capacity by August. "
    "The council agreed to repair the old water pipes, which lose a fifth of the water "
    "before it reaches any home. "
    "Farmers asked for a fair share of the river water for their fields. "
    "The mayor promised a public meeting about the water plan next month."
)


@pytest.fixture
def runtime(database_url, tmp_path):
    with built_runtime(tmp_path, database_url=database_url,
                       ai_content_price_per_1k_chars=0.5) as rt:
        yield rt


def transcription(runtime, principal, **values):
    defaults = dict(status="COMPLETED", state="completed", title="Council meeting",
                    job_response={"text": TRANSCRIPT, "language": "en"})
    return make_job(runtime, principal, **{**defaults, **values})


def run_queued(runtime) -> int:
    """Run every runnable job in this thread; how many ran."""
    worker = Worker(runtime)
    ran = 0
    while worker.run_once():
        ran += 1
    return ran


def jobs_of_type(runtime, job_type: str) -> list[Job]:
    with runtime.db.session() as session:
        return session.query(Job).filter_by(type=job_type).all()


def test_pipedream_create_content_returns_data_id_and_the_parts(api, runtime):
    source = transcription(runtime, api.principal)
    created = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                       json={"aiParts": ["summary", "keywords", "titles"]})
    assert created.status_code == 200, created.text
    job = created.json()["data"]
    assert job["id"] and job["type"] == "AI_CONTENT" and job["status"] == "PENDING"
    assert job["jobResponse"] is None and job["relevantJobId"] == source.id
    assert job["fromLng"] == "en" and job["toLng"] == "en" and job["model"] == "extractive"

    assert run_queued(runtime) == 1
    by_id = api.get("/v1/jobs/ai-content", params={"jobId": job["id"]}).json()["data"]
    by_source = api.get("/v1/jobs/ai-content", params={"jobId": source.id}).json()["data"]
    assert by_id == by_source
    assert by_id["status"] == "COMPLETED"
    response = by_id["jobResponse"]
    assert set(response) == {"summary", "keywords", "titles", "transcriptionJobId"}
    assert response["transcriptionJobId"] == source.id
    assert all(isinstance(response[p], str) and response[p] for p in ("summary", "keywords",
                                                                       "titles"))
    assert len(response["summary"]) < len(TRANSCRIPT)
    assert "water" in response["keywords"].lower() and "river" in response["keywords"].lower()
    assert by_id["totalCost"] == 0.5  # 441 characters: one started thousand at 0.5
    # the generic job routes see the same job
    generic = api.get("/v1/jobs", params={"jobId": job["id"]}).json()["data"]
    assert generic["jobResponse"] == response


def test_estimate_follows_transcript_length_and_price(api, runtime):
    long_text = TRANSCRIPT * 6  # 2646 characters: three started thousands
    source = transcription(runtime, api.principal, job_response={"text": long_text})
    estimate = api.get("/v1/jobs/ai-content/estimate", params={"jobId": source.id})
    assert estimate.status_code == 200, estimate.text
    data = estimate.json()["data"]
    assert data["data"] == 1.5 and data["error"] is False
    assert data["characters"] == len(long_text)
    job_id = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                      json={"aiParts": ["introduction"]}).json()["data"]["id"]
    run_queued(runtime)
    finished = api.get("/v1/jobs", params={"jobId": job_id}).json()["data"]
    assert finished["totalCost"] == data["data"]


@pytest.mark.parametrize("parts, key, fragment", [
    (["summary", "poem"], "VALIDATION_ERROR", "poem"),
    (["faq"], "HAMS_LLM_BASE_URL_REQUIRED", "HAMS_LLM_BASE_URL"),
    (["summary", "linkedInPost"], "HAMS_LLM_BASE_URL_REQUIRED", "HAMS_LLM_BASE_URL"),
])
def test_parts_refused_at_submission(api, runtime, parts, key, fragment):
    source = transcription(runtime, api.principal)
    refused = api.post(f"/v1/jobs/ai-content?jobId={source.id}", json={"aiParts": parts})
    assert refused.status_code == 400, refused.text
    assert refused.json()["messageKey"] == key and fragment in refused.json()["message"]
    assert refused.json()["success"] is False
    assert jobs_of_type(runtime, "AI_CONTENT") == []


def test_translation_and_custom_prompts_need_an_llm(api, runtime):
    source = transcription(runtime, api.principal)
    attempts = [
        ("/v1/jobs/ai-content", {"aiParts": ["summary"], "language": "ar"}),
        ("/v1/jobs/ai-content/custom", {"aiParts": ["summary"],
                                        "prompts": {"summary": "Three bullet points"}}),
        ("/v1/jobs/ai-content/custom", {"aiParts": [{"aiPart": "summary", "language": "en",
                                                     "prompt": "One line"}]}),
    ]
    for path, body in attempts:
        refused = api.post(f"{path}?jobId={source.id}", json=body)
        assert refused.status_code == 400, (path, refused.text)
        assert refused.json()["messageKey"] == "HAMS_LLM_BASE_URL_REQUIRED"
    assert jobs_of_type(runtime, "AI_CONTENT") == []


def test_custom_route_without_prompts_uses_the_extractive_engine(api, runtime):
    source = transcription(runtime, api.principal)
    created = api.post(f"/v1/jobs/ai-content/custom?jobId={source.id}",
                       json={"aiParts": [{"aiPart": "keyTopicsWithBullets", "language": "en"}]})
    assert created.status_code == 200, created.text
    run_queued(runtime)
    job = api.get("/v1/jobs/ai-content", params={"jobId": created.json()["data"]["id"]}).json()
    topics = job["data"]["jobResponse"]["keyTopicsWithBullets"].splitlines()
    assert topics and all(line.startswith("•") for line in topics)


def test_prompt_for_a_part_not_asked_for_is_refused(api, runtime):
    source = transcription(runtime, api.principal)
    refused = api.post(f"/v1/jobs/ai-content/custom?jobId={source.id}",
                       json={"aiParts": ["summary"], "prompts": {"faq": "Five questions"}})
    assert refused.status_code == 400 and "faq" in refused.json()["message"]


def test_source_job_must_be_a_completed_transcription_of_the_project(api, runtime):
    other = transcription(runtime, make_principal(runtime))
    pending = transcription(runtime, api.principal, status="PENDING", state="queued",
                            job_response=None)
    failed = transcription(runtime, api.principal, status="FAILED", state="failed",
                           job_response={"error": "boom"})
    tts = make_job(runtime, api.principal, type="TTS", status="COMPLETED", state="completed",
                   job_response={"text": "hello"})
    empty = transcription(runtime, api.principal, job_response={"text": "  "})
    cases = [(other.id, 404, "NOT_FOUND"), (pending.id, 400, "JOB_NOT_COMPLETED"),
             (failed.id, 400, "JOB_NOT_COMPLETED"), (tts.id, 400, "NOT_A_TRANSCRIPTION_JOB"),
             (empty.id, 400, "EMPTY_TRANSCRIPT"), ("no-such-job", 404, "NOT_FOUND")]
    for job_id, status, key in cases:
        for path in ("/v1/jobs/ai-content", "/v1/jobs/ai-content/custom"):
            refused = api.post(f"{path}?jobId={job_id}", json={"aiParts": ["summary"]})
            assert (refused.status_code, refused.json()["messageKey"]) == (status, key), job_id
        estimate = api.get("/v1/jobs/ai-content/estimate", params={"jobId": job_id})
        assert estimate.status_code == status
    missing = api.post("/v1/jobs/ai-content", json={"aiParts": ["summary"]})
    assert missing.status_code == 400 and missing.json()["messageKey"] == "VALIDATION_ERROR"
    assert api.get("/v1/jobs/ai-content", params={"jobId": other.id}).status_code == 404
    assert jobs_of_type(runtime, "AI_CONTENT") == []


def test_get_ai_content_for_a_transcription_without_any_is_not_found(api, runtime):
    source = transcription(runtime, api.principal)
    missing = api.get("/v1/jobs/ai-content", params={"jobId": source.id})
    assert missing.status_code == 404 and "No AI content" in missing.json()["message"]


def test_idempotency_key_returns_the_same_ai_content_job(api, runtime):
    source = transcription(runtime, api.principal)
    url = f"/v1/jobs/ai-content?jobId={source.id}"
    first = api.post(url, json={"aiParts": ["summary"]}, headers={"Idempotency-Key": "c-1"})
    again = api.post(url, json={"aiParts": ["summary"]}, headers={"Idempotency-Key": "c-1"})
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    reused = api.post(url, json={"aiParts": ["titles"]}, headers={"Idempotency-Key": "c-1"})
    assert reused.status_code == 409
    assert len(jobs_of_type(runtime, "AI_CONTENT")) == 1


def test_arabic_transcript_gets_arabic_content(api, runtime):
    text = ("اجتمع مجلس المدينة لمناقشة مشكلة المياه في الصيف. قال المهندسون إن النهر يحمل "
            "كمية أقل من المياه كل عام. وافق المجلس على إصلاح أنابيب المياه القديمة. طلب "
            "المزارعون حصة عادلة من مياه النهر لري الحقول.")
    source = transcription(runtime, api.principal, from_lng="ar",
                           job_response={"text": text, "language": "ar"})
    job_id = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                      json={"aiParts": ["summary", "keywords"]}).json()["data"]["id"]
    run_queued(runtime)
    response = api.get("/v1/jobs/ai-content", params={"jobId": job_id}).json()["data"]
    assert response["toLng"] == "ar"
    keywords = response["jobResponse"]["keywords"]
    assert "المياه" in keywords and not any("a" <= c.lower() <= "z" for c in keywords)


def test_generate_with_transcription_waits_then_fails_with_its_transcription(api, runtime):
    """The v2 route makes two linked jobs; the AI content job ends when its source fails."""
    created = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "apiKey": "00000000-0000-0000-0000-000000000000", "title": "Talk",
        "mediaUrl": "http://127.0.0.1:9/missing.wav", "language": "en",
        "aiParts": ["summary"], "aiContentTitle": "Talk notes", "aiContentLanguage": "en"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["messageKey"] == "OPERATION_SUCCESSFUL" and body["success"] is True
    ai_id, source_id = body["data"]["jobId"], body["data"]["transcriptionJobId"]
    waiting = api.get("/v1/jobs", params={"jobId": ai_id}).json()["data"]
    assert waiting["state"] == "waiting" and waiting["status"] == "PENDING"
    assert waiting["relevantJobId"] == source_id and waiting["title"] == "Talk notes"
    assert api.get("/v1/jobs", params={"jobId": source_id}).json()["data"]["type"] == \
        "TRANSCRIPTION"

    assert run_queued(runtime) == 1  # only the transcription is runnable; its fetch fails
    failed = api.get("/v1/jobs", params={"jobId": ai_id}).json()["data"]
    assert failed["status"] == "FAILED" and source_id in failed["error"]


def test_generate_with_transcription_is_refused_whole_when_a_part_needs_an_llm(api, runtime):
    refused = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en",
        "aiParts": ["twitterThread"]})
    assert refused.status_code == 400
    assert refused.json()["messageKey"] == "HAMS_LLM_BASE_URL_REQUIRED"
    instructions = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en",
        "aiParts": ["summary"], "aiContentText": "Write for children"})
    assert instructions.status_code == 400
    assert instructions.json()["messageKey"] == "HAMS_LLM_BASE_URL_REQUIRED"
    with runtime.db.session() as session:
        assert session.query(Job).count() == 0


def test_cancelling_the_transcription_fails_the_waiting_ai_content(api, runtime):
    created = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en",
        "aiParts": ["keywords"], "webhookUrl": "http://127.0.0.1:9/hook"}).json()["data"]
    assert api.post(f"/v1/jobs/{created['transcriptionJobId']}/cancel").status_code == 200
    ai = api.get("/v1/jobs", params={"jobId": created["jobId"]}).json()["data"]
    assert ai["status"] == "FAILED" and "cancelled" in ai["error"]
    assert ai["webhookUrl"] == "http://127.0.0.1:9/hook"
    deliveries = api.get(f"/v1/jobs/{created['jobId']}/webhook-deliveries").json()["data"]
    assert [d["event"] for d in deliveries] == ["job.failed"]
    assert run_queued(runtime) == 0


def test_deleting_the_transcription_fails_the_waiting_ai_content(api, runtime):
    created = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en",
        "aiParts": ["keywords"]}).json()["data"]
    assert api.delete(f"/v1/jobs/{created['transcriptionJobId']}").status_code == 200
    ai = api.get("/v1/jobs", params={"jobId": created["jobId"]}).json()["data"]
    assert ai["status"] == "FAILED" and "deleted" in ai["error"]


def test_completed_transcription_releases_the_waiting_job(api, runtime, media_server, speech):
    """Completing the source queues the follower in the same commit; it then runs."""
    url = media_server.add_file("release-speech.wav", speech.read_bytes())
    created = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": url, "language": "en",
        "aiParts": ["summary", "introduction"]}).json()["data"]
    worker = Worker(runtime)
    assert worker.run_once() is True  # the transcription
    released = api.get("/v1/jobs", params={"jobId": created["jobId"]}).json()["data"]
    assert released["state"] == "queued"
    assert worker.run_once() is True  # the AI content
    ai = api.get("/v1/jobs/ai-content", params={"jobId": created["transcriptionJobId"]})
    data = ai.json()["data"]
    assert data["status"] == "COMPLETED", data
    assert data["jobResponse"]["transcriptionJobId"] == created["transcriptionJobId"]
    assert data["jobResponse"]["introduction"].startswith("The weather today")


def test_a_retried_transcription_keeps_its_follower_waiting(api, runtime):
    from hams.db.models import utcnow
    from hams.queue import jobs as queue

    created = api.post("/v2/jobs/generate-transcription-ai-content", json={
        "title": "Talk", "mediaUrl": "http://127.0.0.1:9/talk.wav", "language": "en",
        "aiParts": ["summary"]}).json()["data"]
    with runtime.db.session() as session:
        claim = queue.claim_next_job(session, "test", utcnow(), 30)
        assert claim.job_id == created["transcriptionJobId"]
        assert queue.schedule_retry(session, claim, utcnow(), "flaky network")
    with runtime.db.session() as session:
        assert session.get(Job, created["jobId"]).state == "waiting"
        # the follower is not runnable while its source retries
        assert queue.claim_next_job(session, "test", utcnow(), 30).job_id == claim.job_id


def test_sweep_settles_followers_a_crash_left_waiting(api, runtime):
    """Followers whose source ended without settling them: queued, failed, or failed."""
    source_done = transcription(runtime, api.principal)
    source_failed = transcription(runtime, api.principal, status="FAILED", state="failed",
                                  error="boom", job_response={"error": "boom"})
    options = {"parts": {"summary": {"language": "en", "prompt": None}}}
    waiting = [make_job(runtime, api.principal, type="AI_CONTENT", state="waiting",
                        relevant_job_id=source, options=options,
                        webhook_url="http://127.0.0.1:9/hook")
               for source in (source_done.id, source_failed.id, "00000000-gone")]
    live_source = transcription(runtime, api.principal, status="PENDING", state="queued",
                                job_response=None)
    still_waiting = make_job(runtime, api.principal, type="AI_CONTENT", state="waiting",
                             relevant_job_id=live_source.id, options=options)
    worker = Worker(runtime)
    assert worker.sweep() == 3
    assert worker.sweep() == 0
    states = [load_job(runtime, job.id).state for job in waiting]
    assert states == ["queued", "failed", "failed"]
    assert "boom" in load_job(runtime, waiting[1].id).error
    assert "no longer exists" in load_job(runtime, waiting[2].id).error
    assert load_job(runtime, still_waiting.id).state == "waiting"
    for job in waiting[1:]:
        deliveries = api.get(f"/v1/jobs/{job.id}/webhook-deliveries").json()["data"]
        assert [d["event"] for d in deliveries] == ["job.failed"]


def test_failing_followers_reports_only_the_ones_it_failed(api, runtime):
    from hams.db.models import utcnow
    from hams.queue import jobs as queue

    source = transcription(runtime, api.principal)
    follower = make_job(runtime, api.principal, type="AI_CONTENT", state="waiting",
                        relevant_job_id=source.id, options={})
    with runtime.db.session() as session:
        assert queue.release_followers(session, source.id, utcnow()) == 1
        assert queue.fail_followers(session, source.id, utcnow(), "late") == []
        assert session.get(Job, follower.id).state == "queued"


def test_idempotent_retry_gets_its_job_after_the_source_is_deleted(api, runtime):
    source = transcription(runtime, api.principal)
    url = f"/v1/jobs/ai-content?jobId={source.id}"
    first = api.post(url, json={"aiParts": ["summary"]}, headers={"Idempotency-Key": "d-1"})
    assert api.delete(f"/v1/jobs/{source.id}").status_code == 200
    again = api.post(url, json={"aiParts": ["summary"]}, headers={"Idempotency-Key": "d-1"})
    assert again.status_code == 200 and again.json()["data"]["id"] == first.json()["data"]["id"]


def test_a_part_asked_for_twice_differently_is_refused(api, runtime):
    source = transcription(runtime, api.principal)
    refused = api.post(f"/v1/jobs/ai-content/custom?jobId={source.id}", json={"aiParts": [
        {"aiPart": "summary", "language": "en"}, {"aiPart": "summary", "language": "ar"}]})
    assert refused.status_code == 400 and "twice" in refused.json()["message"]
    same_twice = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                          json={"aiParts": ["summary", "summary"]})
    assert same_twice.status_code == 200
    long_name = api.post(f"/v1/jobs/ai-content?jobId={source.id}", json={"aiParts": ["x" * 60]})
    assert long_name.status_code == 400


def test_an_unpunctuated_transcript_is_summarized_by_its_segments(api, runtime):
    """Speech recognition often writes Arabic without punctuation: the job's segments are
    the sentence units then, and the summary is made of whole segments."""
    segments = [
        "تعتمد مدن كثيرة اليوم على الطاقة الشمسية لتوليد الكهرباء في الصيف",
        "ويرى الخبراء أن الألواح الشمسية أصبحت أرخص من أي وقت مضى",
        "وتخطط البلديات لتركيب الألواح على أسطح المدارس والمستشفيات",
        "لكن تخزين الكهرباء في الليل ما زال تحديا كبيرا أمام الطاقة الشمسية",
        "ويعمل المهندسون على بطاريات جديدة تخزن الكهرباء لساعات أطول",
    ]
    words = " ".join(segments).split()  # cut as a recognizer cuts by time, not by clause
    segments = [" ".join(words[i:i + 7]) for i in range(0, len(words), 7)]
    text = " ".join(segments)
    source = transcription(runtime, api.principal, from_lng="ar", job_response={
        "text": text, "language": "ar",
        "segments": [{"id": i, "start": i * 4.0, "end": i * 4.0 + 4, "text": f" {s}"}
                     for i, s in enumerate(segments)]})
    job_id = api.post(f"/v1/jobs/ai-content?jobId={source.id}",
                      json={"aiParts": ["summary", "introduction"]}).json()["data"]["id"]
    run_queued(runtime)
    response = api.get("/v1/jobs/ai-content", params={"jobId": job_id}).json()["data"]
    summary = response["jobResponse"]["summary"]
    assert len(summary) < len(text)
    chosen = [s for s in segments if s in summary]
    assert chosen and len(" ".join(chosen)) == len(summary), summary
