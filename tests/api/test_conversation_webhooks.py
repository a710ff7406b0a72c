"""Voice-agent webhooks: the documented envelope, and ``call.ended`` delivered by the workers'
sender to a real receiver on 127.0.0.1, signed, with the agent's Authorization header, the
start params echoed with the outcome, and retried after a 500."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hams.db.models import Conversation, Job, Project, WebhookAttempt, WebhookDelivery
from hams.services import conversation_webhooks as hooks
from hams.webhooks.signing import verify
from hams.worker.runner import Worker
from tests.api.test_conversation_analysis import (
    PARAMS,
    TURNS,
    answer,
    llm_runtime,
    make_agent,
    make_conversation,
    run_analysis,
)
from tests.helpers.llm_server import FakeLlmServer
from tests.helpers.wait import wait_until

AUTH = {"authKey": "Bearer", "authSecret": "hook-secret-123"}
RECORDING = b"RIFF-both-sides-of-the-call"


@pytest.fixture
def llm():
    with FakeLlmServer() as server:
        yield server


@pytest.fixture
def runtime(database_url, tmp_path, llm):
    with llm_runtime(tmp_path, database_url, llm) as rt:
        yield rt


def unique(path: str) -> str:
    """A path of this test's own on the session's shared receiver."""
    return f"{path}-{uuid.uuid4().hex[:8]}"


def send_until(runtime, receiver, path: str, count: int) -> list:
    """Let a worker's sender deliver until ``count`` requests reached ``path``."""
    sender = Worker(runtime).sender

    def arrived():
        sender.send_due()
        return len(receiver.for_path(path)) >= count

    wait_until(arrived, 30, interval=0.02, what=f"{count} webhook(s) at {path}")
    return receiver.for_path(path)


def records(runtime, job_id: str) -> tuple[Job, Conversation]:
    with runtime.db.session() as session:
        return session.get(Job, job_id), session.get(Conversation, job_id)


def test_call_ended_echoes_the_params_with_the_outcome_signed_and_authorized(
        api, runtime, llm, webhook_receiver):
    agent_id, path = make_agent(api), unique("/ended")
    job_id = make_conversation(runtime, api.principal, agent_id, auth=AUTH,
                               webhook_url=webhook_receiver.url(path),
                               params={**PARAMS, "booked": "unknown"}, recording=RECORDING)
    answer(llm, {"booked": True, "date": "2025-03-03"})
    assert run_analysis(runtime).status == "COMPLETED"
    [hook] = send_until(runtime, webhook_receiver, path, 1)

    with runtime.db.session() as session:
        secret = session.get(Project, api.principal.project_id).webhook_secret
    assert verify(secret, hook.headers["x-hams-signature"], hook.body)
    assert hook.headers["authorization"] == "Bearer hook-secret-123"
    body = hook.json()
    assert set(body) == {"eventType", "callId", "timestamp", "projectId", "agentId",
                         "agentName", "data"}
    assert (body["eventType"], body["callId"], body["projectId"], body["agentId"],
            body["agentName"]) == ("call.ended", job_id, api.principal.project_id, agent_id,
                                   "Clinic receptionist")
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    data = body["data"]
    expected = {"customerName": "Sara", "clinic": "Al Shifa", "booked": True,
                "date": "2025-03-03"}  # the outcome wins over a param of the same name
    assert data["outcomeResult"] == expected and data["data"] == {"outcomeResult": expected}
    assert data["outcome"] == {"booked": True, "date": "2025-03-03"}
    job, conversation = records(runtime, job_id)
    assert data["callAnalysis"] == conversation.call_analysis
    assert data["callAnalysis"]["sentiment"] == "positive"
    assert (data["status"], data["endReason"], data["callDuration"]) == (
        "COMPLETED", "The user ended the call", 20.5)
    assert data["transcript"] == conversation.transcript
    assert data["performanceMetrics"] == {"averages": {"firstAudioMs": 640}}
    turns = [(e["role"], e["text"]) for e in data["logs"] if e["kind"] == "turn"]
    assert turns == TURNS
    [tool] = [e for e in data["logs"] if e["kind"] == "tool"]
    assert (tool["toolName"], tool["input"], tool["output"]) == (
        "book_visit", {"day": "Monday"}, {"ok": True})
    starts = [e["startTime"] for e in data["logs"] if e["startTime"]]
    assert starts == sorted(starts)
    link = urlsplit(data["recordingUrl"])
    assert link.netloc == "testserver" and link.path == f"/v1/files/jobs/{job_id}/recording.wav"
    fetched = api.get(f"{link.path}?{link.query}", headers={"Authorization": ""})
    assert fetched.status_code == 200 and fetched.content == RECORDING


def test_a_receiver_answering_500_gets_call_ended_again(api, runtime, llm, webhook_receiver):
    path = unique("/flaky")
    webhook_receiver.script(path, [500, 200])
    job_id = make_conversation(runtime, api.principal, make_agent(api),
                               webhook_url=webhook_receiver.url(path))
    answer(llm, {"booked": False, "date": None})
    run_analysis(runtime)
    first, second = send_until(runtime, webhook_receiver, path, 2)
    assert (first.status, second.status) == (500, 200)
    assert first.body == second.body  # the same bytes, signed again
    with runtime.db.session() as session:
        delivery = session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.job_id == job_id)).one()
        attempts = session.scalars(select(WebhookAttempt.status_code).where(
            WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.number)).all()
    assert (delivery.event, delivery.state, attempts) == ("call.ended", "delivered", [500, 200])


def test_live_events_are_queued_in_the_envelope(api, runtime, llm, webhook_receiver):
    path = unique("/live")
    job_id = make_conversation(runtime, api.principal, make_agent(api),
                               webhook_url=webhook_receiver.url(path), auth=AUTH)
    at = datetime(2025, 3, 1, 9, 30, 0, 123000, tzinfo=UTC)
    with runtime.db.session() as session:
        job, conversation = session.get(Job, job_id), session.get(Conversation, job_id)
        for event, data in [
            ("call.started", hooks.call_started(conversation)),
            ("transcription.update", hooks.transcription_update("user", "Hello", at)),
            ("tool.executed", hooks.tool_executed("book_visit", "web", {"day": "Mon"},
                                                  {"ok": False}, 812.4, error="HTTP 502")),
        ]:
            assert hooks.enqueue_call_event(session, job, conversation, event, data)
    hooks_sent = send_until(runtime, webhook_receiver, path, 3)
    bodies = {hook.json()["eventType"]: hook.json() for hook in hooks_sent}
    assert all(hook.headers["authorization"] == "Bearer hook-secret-123"
               for hook in hooks_sent)
    assert bodies["call.started"]["data"] == {
        "callParams": {"userNumber": "web"}, "params": PARAMS, "channelType": "Web"}
    assert bodies["transcription.update"]["data"] == {
        "speaker": "user", "text": "Hello", "timestamp": "2025-03-01T09:30:00.123Z"}
    assert bodies["tool.executed"]["data"] == {
        "toolName": "book_visit", "type": "web", "input": {"day": "Mon"},
        "output": {"ok": False}, "durationMs": 812, "error": "HTTP 502"}
    assert {body["callId"] for body in bodies.values()} == {job_id}


def test_no_webhook_url_queues_nothing_and_unknown_events_are_refused(api, runtime):
    job_id = make_conversation(runtime, api.principal, make_agent(api))
    with runtime.db.session() as session:
        job, conversation = session.get(Job, job_id), session.get(Conversation, job_id)
        data = hooks.transcription_update("agent", "Hi")
        assert hooks.enqueue_call_event(session, job, conversation,
                                        "transcription.update", data) is None
        job.webhook_url = "http://127.0.0.1:9/hook"
        with pytest.raises(ValueError, match="unknown voice-agent event"):
            hooks.enqueue_call_event(session, job, conversation, "call.exploded", {})
    with pytest.raises(ValueError):
        hooks.transcription_update("robot", "beep")
    with pytest.raises(ValueError):
        hooks.tool_executed("x", "phone", {}, {}, 1)


def test_arabic_reaches_the_receiver_as_written(api, runtime, llm, webhook_receiver):
    """Arabic text is sent as it is (not \\u-escaped) and the body is valid JSON."""
    path = unique("/arabic")
    job_id = make_conversation(runtime, api.principal, make_agent(api),
                               turns=[("user", "أريد حجز موعد"), ("agent", "تم الحجز")],
                               webhook_url=webhook_receiver.url(path))
    answer(llm, {"booked": True, "date": None}, summary="حجز المستخدم موعدا")
    run_analysis(runtime)
    [hook] = send_until(runtime, webhook_receiver, path, 1)
    assert "حجز المستخدم موعدا".encode() in hook.body
    body = json.loads(hook.body)
    assert body["callId"] == job_id
    assert body["data"]["callAnalysis"]["summary"] == "حجز المستخدم موعدا"
    assert body["data"]["transcript"] == "user: أريد حجز موعد\nagent: تم الحجز"
