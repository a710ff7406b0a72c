"""conversation-init's checks and a conversation's record from PENDING to its end, on SQLite
and PostgreSQL: what is refused before a call, the lease that fails an abandoned call (moved
here instead of waited for), an end written once with its ledger rows and follow-up job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hams.db.models import Conversation, Job, UsageRecord, utcnow
from hams.errors import Conflict
from hams.services import conversations
from hams.services.conversations import ConversationEnd, Usage
from tests.factories import make_principal
from tests.helpers.llm_server import FakeLlmServer


@pytest.fixture(scope="module")
def llm():
    with FakeLlmServer() as server:
        yield server


def agent(api, llm=None, **fields) -> str:
    body = {"agentName": "Desk", "lang": "en", "greetingMessage": "Hi {{name}}", **fields}
    if llm is not None:
        body["llmConfig"] = {"baseUrl": llm.base_url, "model": "m"}
    answer = api.post("/v1/voice-agents", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["id"]


def init(api, **body):
    return api.post("/v1/voice-agents/conversation-init", json=body)


def test_conversation_init_refuses_what_could_not_work(api, llm):
    assert init(api, voiceAgentId="0d6f5b8e-0000-4000-8000-000000000000").status_code == 404
    no_llm = agent(api)
    answer = init(api, voiceAgentId=no_llm, params={"name": "Sara"})
    assert answer.status_code == 400 and answer.json()["messageKey"] == "LLM_NOT_CONFIGURED"
    assert "HAMS_LLM_BASE_URL" in answer.json()["message"]
    assert "llm.baseUrl" in answer.json()["message"]
    with_llm = agent(api, llm)
    answer = init(api, voiceAgentId=with_llm)
    assert answer.status_code == 400 and answer.json()["messageKey"] == "MISSING_PARAMS"
    answer = init(api, voiceAgentId=with_llm, params={"name": "Sara"},
                  tools=[{"type": "function", "function": {"name": "no spaces allowed"}}])
    assert answer.status_code == 400 and "tools[0].function.name" in answer.text
    arabic = agent(api, llm, lang="ar")  # tests run the English-only tiny.en
    answer = init(api, voiceAgentId=arabic, params={"name": "Sara"})
    assert answer.status_code == 400 and answer.json()["messageKey"] == "UNSUPPORTED_LANGUAGE"
    assert "HAMS_AGENT_STT_MODEL" in answer.json()["message"]


def test_conversation_init_makes_a_pending_real_time_job(api, llm, runtime):
    tool = {"type": "function", "function": {"name": "open_door", "description": "Opens",
                                             "parameters": {"type": "object"}}}
    answer = init(api, voiceAgentId=agent(api, llm), params={"name": "Sara"}, tools=[tool],
                  voiceEnablement=True)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["data"]["jobId"]
    with runtime.db.session() as session:
        job, row = session.get(Job, job_id), session.get(Conversation, job_id)
        assert (job.type, job.status, job.processing_type, job.state) == (
            "VOICE_AGENTS", "PENDING", "real-time", "live")
        assert row.params == {"name": "Sara"} and row.voice_enablement is True
        assert row.client_tools[0]["function"]["name"] == "open_door"
        assert row.alive_until > utcnow()  # the socket must open before this


def _opened(runtime, principal, job_id: str, host: str = "host-a"):
    with runtime.db.session() as session:
        conversations.open_conversation(session, principal, job_id, host=host,
                                        lease_seconds=15)


def _new(runtime, principal) -> str:
    with runtime.db.session() as session:
        return conversations.create_conversation(session, principal, conversations.NewConversation(
            voice_agent_id=None, agent_name="Desk", model="m", agent_details={},
            params={"orderId": "A1"}, client_tools=[], voice_enablement=False)).id


def test_an_abandoned_call_is_failed_when_its_lease_runs_out(runtime):
    principal = make_principal(runtime)
    live, never = _new(runtime, principal), _new(runtime, principal)
    _opened(runtime, principal, live)
    with runtime.db.session() as session:
        with pytest.raises(Conflict):
            conversations.open_conversation(session, principal, live, host="host-b",
                                            lease_seconds=15)
        assert conversations.fail_abandoned(session, settings=runtime.settings) == 0
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(Conversation).values(alive_until=past))
    with runtime.db.session() as session:
        assert conversations.fail_abandoned(session, settings=runtime.settings) == 2
    with runtime.db.session() as session:
        for job_id, reason in ((live, "stopped before it ended"), (never, "never opened")):
            job = session.get(Job, job_id)
            assert job.status == "FAILED" and reason in job.error
            assert session.get(Conversation, job_id).ended_at is not None


def test_a_restarted_host_fails_what_it_held_at_once(runtime):
    principal = make_principal(runtime)
    mine, other = _new(runtime, principal), _new(runtime, principal)
    _opened(runtime, principal, mine, host="me:8000")
    _opened(runtime, principal, other, host="them:8000")
    with runtime.db.session() as session:
        assert conversations.fail_abandoned(session, settings=runtime.settings,
                                            host="me:8000") == 1
    with runtime.db.session() as session:
        assert session.get(Job, mine).status == "FAILED"
        assert session.get(Job, other).status == "IN_PROGRESS"


def test_renewing_leases_reports_terminate_requests(runtime):
    principal = make_principal(runtime)
    job_id = _new(runtime, principal)
    _opened(runtime, principal, job_id)
    with runtime.db.session() as session:
        assert conversations.renew_leases(session, "host-a", [job_id],
                                          lease_seconds=15) == (set(), set())
        conversations.request_termination(session, principal, job_id)
    with runtime.db.session() as session:
        asked, gone = conversations.renew_leases(session, "host-a", [job_id], lease_seconds=15)
        assert (asked, gone) == ({job_id}, set())
        # held by another process now, or ended elsewhere: no longer this host's to renew
        assert conversations.renew_leases(session, "host-b", [job_id],
                                          lease_seconds=15) == (set(), {job_id})


def test_the_end_is_written_once_with_its_ledger_and_follow_up(runtime):
    principal = make_principal(runtime)
    job_id = _new(runtime, principal)
    _opened(runtime, principal, job_id)
    end = ConversationEnd(status="COMPLETED", reason="The caller ended the call",
                          call_duration=90.0, transcript="User: hi\nAgent: hello",
                          performance_metrics={"turnCount": 1},
                          usage=Usage(stt_model="Hamsa-General-V2.0", stt_seconds=30.0,
                                      tts_model="piper", tts_characters=500,
                                      llm_model="m", llm_tokens=1200))
    settings = runtime.settings.model_copy(update={
        "agent_price_per_minute": 0.1, "tts_price_per_1k_chars": 2.0,
        "stt_price_per_minute": {"Hamsa-General-V2.0": 0.6}})
    with runtime.db.session() as session:
        assert conversations.end_conversation(session, job_id, end, settings=settings)
    with runtime.db.session() as session:
        assert conversations.end_conversation(session, job_id, end, settings=settings) is None
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.state, job.usage_tokens) == ("COMPLETED", "completed", 1200)
        # 1.5 minutes at 0.1, 0.5 STT minutes at 0.6, 500 characters at 2.0 per 1000
        assert job.total_cost == pytest.approx(0.15 + 0.3 + 1.0)
        rows = {r.kind: r for r in session.scalars(
            select(UsageRecord).where(UsageRecord.job_id == job_id))}
        assert set(rows) == {"conversation", "agent_stt", "agent_tts", "agent_llm"}
        assert (rows["agent_llm"].tokens, rows["agent_tts"].characters) == (1200, 500)
        follow = session.scalars(select(Job).where(Job.relevant_job_id == job_id)).all()
        assert [f.type for f in follow] == [conversations.ANALYSIS_JOB_TYPE]
        assert session.get(Conversation, job_id).transcript == "User: hi\nAgent: hello"
