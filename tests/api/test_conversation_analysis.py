"""After a conversation: the CONVERSATION_ANALYSIS job extracts the agent's outcome (checked
against its ``outcomeResponseShape``), writes ``callAnalysis`` and queues ``call.ended`` once;
against a real OpenAI-compatible server on 127.0.0.1, or with no LLM at all."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hams.db.models import Conversation, Job, WebhookDelivery, utcnow
from hams.services.conversation_analysis import AnswerCheck, OutcomeAsk, outcome_schema
from hams.services.conversations import (
    ANALYSIS_JOB_TYPE,
    ConversationEnd,
    LogEntry,
    NewConversation,
    append_logs,
    create_conversation,
    end_conversation,
    open_conversation,
)
from hams.worker.runner import Worker
from tests.conftest import built_runtime
from tests.factories import api_client, load_job
from tests.helpers.llm_server import FakeLlmServer
from tests.helpers.wait import wait_until

SHAPE = {"type": "object", "required": ["booked", "date"], "properties": {
    "booked": {"type": "boolean"},
    "date": {"type": "string", "nullable": True, "description": "the day booked, ISO 8601"}}}
PARAMS = {"customerName": "Sara", "clinic": "Al Shifa"}
TURNS = [("agent", "Hello Sara, this is Al Shifa clinic. How can I help?"),
         ("user", "I would like to book a check-up for next Monday."),
         ("agent", "Monday the third at ten is free. Shall I book it?"),
         ("user", "Yes please, that works for me. Thank you!"),
         ("agent", "Booked. See you on Monday.")]


@pytest.fixture
def llm():
    with FakeLlmServer() as server:
        yield server


def llm_runtime(tmp_path, database_url: str, llm: FakeLlmServer):
    """A runtime whose LLM is ``llm`` (no in-request retries) and whose links name the
    TestClient's host."""
    return built_runtime(tmp_path, database_url=database_url, llm_base_url=llm.base_url,
                         llm_model="tiny-chat", llm_max_retries=0,
                         public_url="http://testserver")


@pytest.fixture
def runtime(database_url, tmp_path, llm):
    with llm_runtime(tmp_path, database_url, llm) as rt:
        yield rt


def make_agent(api, **fields) -> str:
    body = {"agentName": "Clinic receptionist", "outcome": "Did the caller book a visit?",
            "outcomeResponseShape": SHAPE, **fields}
    response = api.post("/v1/voice-agents", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["id"]


def make_conversation(runtime, principal, agent_id: str | None, *, params=None, turns=TURNS,
                      webhook_url: str | None = None, auth: dict | None = None,
                      recording: bytes | None = None, agent_details: dict | None = None,
                      status: str = "COMPLETED") -> str:
    """A conversation through its lifecycle service: init, socket open, logs, end (which
    queues the CONVERSATION_ANALYSIS job)."""
    with runtime.db.session() as session:
        job = create_conversation(session, principal, NewConversation(
            voice_agent_id=agent_id, agent_name="Clinic receptionist",
            model="Hamsa-Conversational-V1.0", agent_details=agent_details or {},
            params=dict(PARAMS if params is None else params), client_tools=[],
            voice_enablement=True, call_params={"userNumber": "web"},
            webhook_url=webhook_url))
        job.webhook_auth = auth
        job_id = job.id
    start = utcnow()
    entries = [LogEntry(kind="turn", role=role, text=text,
                        started_at=start + timedelta(seconds=4 * i),
                        ended_at=start + timedelta(seconds=4 * i + 3))
               for i, (role, text) in enumerate(turns)]
    entries.insert(3, LogEntry(kind="tool", role="tool", text="book_visit", payload={
        "toolName": "book_visit", "input": {"day": "Monday"}, "output": {"ok": True}}))
    key = None
    if recording is not None:
        key = f"jobs/{job_id}/recording.wav"
        path = runtime.storage.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(recording)
    with runtime.db.session() as session:
        open_conversation(session, principal, job_id, host="test-host", lease_seconds=30)
        append_logs(session, job_id, entries)
    with runtime.db.session() as session:
        end_conversation(session, job_id, ConversationEnd(
            status=status, reason="The user ended the call", call_duration=20.5,
            transcript="\n".join(f"{r}: {t}" for r, t in turns),
            performance_metrics={"averages": {"firstAudioMs": 640}}, recording_key=key),
            settings=runtime.settings)
    return job_id


def run_analysis(runtime) -> Job:
    """Run the queued analysis job (and its retries) to its end, in this thread."""
    worker = Worker(runtime)
    with runtime.db.session() as session:
        job_id = session.scalars(select(Job.id).where(Job.type == ANALYSIS_JOB_TYPE)
                                 .order_by(Job.created_at.desc())).first()

    def ended():
        worker.run_once()
        return load_job(runtime, job_id).state in ("completed", "failed")

    wait_until(ended, 30, interval=0.02, what="the analysis job to end")
    return load_job(runtime, job_id)


def analysed(runtime, job_id: str) -> tuple[Job, Conversation]:
    with runtime.db.session() as session:
        return session.get(Job, job_id), session.get(Conversation, job_id)


def answer(llm, outcome, summary="Sara booked a check-up for Monday.", sentiment="positive"):
    llm.reply_raw(json.dumps({"summary": summary, "sentiment": sentiment, "outcome": outcome}))


def call_ended(runtime, job_id: str) -> list[dict]:
    with runtime.db.session() as session:
        return [json.loads(d.payload) for d in session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.job_id == job_id, WebhookDelivery.event == "call.ended"))]


def test_the_outcome_is_extracted_and_checked_against_the_shape(api, runtime, llm):
    job_id = make_conversation(runtime, api.principal, make_agent(api))
    answer(llm, {"booked": True, "date": "2025-03-03"})
    analysis_job = run_analysis(runtime)
    assert analysis_job.status == "COMPLETED", analysis_job.error
    job, conversation = analysed(runtime, job_id)
    assert job.job_response == {"booked": True, "date": "2025-03-03"}
    assert conversation.call_analysis == {
        "summary": "Sara booked a check-up for Monday.", "sentiment": "positive",
        "analysisSource": "llm", "model": "tiny-chat"}
    [request] = llm.requests
    assert request.body["model"] == "tiny-chat"
    assert request.body["response_format"] == {"type": "json_object"}
    assert "Did the caller book a visit?" in request.system
    assert '"nullable"' not in request.system and '["string", "null"]' in request.system
    assert "User: I would like to book a check-up" in request.user
    assert '"customerName": "Sara"' in request.user
    assert analysis_job.usage_tokens == 15
    # internal: readable by id, never in the project's job list
    listed = api.post("/v1/jobs/all", json={}).json()["data"]
    assert analysis_job.id not in json.dumps(listed)


def test_an_invalid_outcome_is_sent_back_once_with_the_errors(api, runtime, llm):
    job_id = make_conversation(runtime, api.principal, make_agent(api))
    answer(llm, {"booked": "yes", "date": "2025-03-03"})
    answer(llm, {"booked": True, "date": None})
    assert run_analysis(runtime).status == "COMPLETED"
    job, conversation = analysed(runtime, job_id)
    assert job.job_response == {"booked": True, "date": None}
    assert "outcomeError" not in conversation.call_analysis
    first, second = llm.requests
    correction = second.messages[-1]["content"]
    assert second.messages[-2]["role"] == "assistant"
    assert 'outcome.booked: "yes" is not of type "boolean"' in correction


def test_an_outcome_invalid_twice_is_stored_as_null_with_the_error(api, runtime, llm):
    job_id = make_conversation(runtime, api.principal, make_agent(api))
    answer(llm, {"booked": "yes"})
    llm.reply_raw("Sure! The caller booked a visit.")
    assert run_analysis(runtime).status == "COMPLETED"
    job, conversation = analysed(runtime, job_id)
    assert job.job_response is None
    analysis = conversation.call_analysis
    assert analysis["outcomeError"].startswith("the answer is not JSON")
    assert analysis["analysisSource"] == "llm" and analysis["sentiment"] == "neutral"
    assert analysis["summary"]  # the extractive summary stands in for the missing one
    assert len(llm.requests) == 2
    assert call_ended(runtime, job_id) == []  # no webhookUrl: nothing to queue


def test_a_plain_field_map_is_a_shape_too(api, runtime, llm):
    shape = {"booked": "boolean", "date": "the day booked", "items": ["string"],
             "contact": {"phone": "string"}}
    job_id = make_conversation(runtime, api.principal,
                               make_agent(api, outcomeResponseShape=shape))
    answer(llm, {"booked": True, "date": None, "items": ["check-up"], "contact": None})
    run_analysis(runtime)
    assert analysed(runtime, job_id)[0].job_response["items"] == ["check-up"]


def test_without_an_llm_the_summary_is_extractive_and_no_outcome_is_made(tmp_path,
                                                                         database_url):
    with built_runtime(tmp_path, database_url=database_url) as runtime, \
            api_client(runtime) as bare:
        job_id = make_conversation(runtime, bare.principal, make_agent(bare))
        assert run_analysis(runtime).status == "COMPLETED"
        job, conversation = analysed(runtime, job_id)
    assert job.job_response is None
    analysis = conversation.call_analysis
    assert analysis["analysisSource"] == "extractive" and analysis["sentiment"] == "neutral"
    assert "HAMS_LLM_BASE_URL" in analysis["outcomeError"]
    said = " ".join(text for _, text in TURNS)
    sentences = re.split(r"(?<=[.!?])\s+", analysis["summary"].strip())
    assert sentences and all(sentence in said for sentence in sentences), sentences


def test_a_deleted_agent_leaves_its_snapshot_and_the_servers_llm(api, runtime, llm):
    agent_id = make_agent(api)
    job_id = make_conversation(runtime, api.principal, agent_id, agent_details={
        "outcome": "Did the caller book?", "outcomeResponseShape": {"booked": "boolean"}})
    assert api.delete(f"/v2/voice-agents/{agent_id}").status_code == 200
    answer(llm, {"booked": False})
    run_analysis(runtime)
    assert analysed(runtime, job_id)[0].job_response == {"booked": False}
    assert "Did the caller book?" in llm.requests[0].system


def test_an_llm_that_stays_down_fails_attempts_then_falls_back(api, runtime, llm):
    job_id = make_conversation(runtime, api.principal, make_agent(api))
    for _ in range(3):
        llm.enqueue(status=503, body={"error": {"message": "overloaded"}})
    analysis_job = run_analysis(runtime)
    assert analysis_job.status == "COMPLETED" and analysis_job.attempts == 3
    job, conversation = analysed(runtime, job_id)
    assert job.job_response is None
    assert conversation.call_analysis["analysisSource"] == "extractive"
    assert "HTTP 503" in conversation.call_analysis["analysisError"]


def test_the_job_run_again_queues_call_ended_once(api, runtime, llm, webhook_receiver):
    from hams.services.conversation_analysis import run_conversation_analysis

    job_id = make_conversation(runtime, api.principal, make_agent(api),
                               webhook_url=webhook_receiver.url("/once"))
    answer(llm, {"booked": True, "date": None})
    analysis_job = run_analysis(runtime)
    again = run_conversation_analysis(runtime.db, analysis_job, settings=runtime.settings,
                                      secrets=runtime.secrets, secret_key=runtime.secret_key)
    assert again.job_response["skipped"] == "call.ended was already queued"
    assert len(call_ended(runtime, job_id)) == 1 and len(llm.requests) == 1


def test_an_empty_conversation_is_analysed_without_the_llm(api, runtime, llm):
    job_id = make_conversation(runtime, api.principal, make_agent(api), turns=[])
    run_analysis(runtime)
    analysis = analysed(runtime, job_id)[1].call_analysis
    assert analysis["analysisSource"] == "none" and analysis["summary"] == ""
    assert llm.requests == []


def test_shapes_become_json_schemas():
    assert outcome_schema({"n": "integer", "note": "what was agreed", "tags": ["string"]}) == {
        "type": "object", "required": ["n", "note", "tags"], "properties": {
            "n": {"type": ["integer", "null"]}, "note": {"description": "what was agreed"},
            "tags": {"type": ["array", "null"], "items": {"type": ["string", "null"]}}}}
    openapi = {"type": "object", "properties": {"a": {"type": "string", "nullable": True,
                                                      "enum": ["x", None]}}}
    assert outcome_schema(openapi)["properties"]["a"] == {"type": ["string", "null"],
                                                         "enum": ["x", None]}
    check = AnswerCheck(OutcomeAsk("x", outcome_schema({"n": "integer"})))
    _, errors, outcome_errors = check('```json\n{"summary": "s", "sentiment": "happy", '
                                      '"outcome": {"n": 1.5}}\n```')
    assert errors == ['sentiment: "happy" is not one of "positive", "neutral" or "negative"']
    assert outcome_errors == ['outcome.n: 1.5 is not of types "null", "integer"']
    _, errors, outcome_errors = check('<think>…</think>{"summary": "", "sentiment": "neutral"}')
    assert errors == ['summary: "" is shorter than 1 character']
    assert outcome_errors == ["outcome: must be a JSON object"]


def test_a_failed_conversation_is_analysed_too(api, runtime, llm):
    job_id = make_conversation(runtime, api.principal, make_agent(api), status="FAILED")
    answer(llm, {"booked": False, "date": None}, sentiment="negative")
    assert run_analysis(runtime).status == "COMPLETED"
    job, conversation = analysed(runtime, job_id)
    assert job.status == "FAILED" and conversation.call_analysis["sentiment"] == "negative"

