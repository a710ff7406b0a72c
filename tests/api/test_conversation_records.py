"""Conversation records through the Hamsa routes: the conversation object the SDK polls, the
minimal call list, terminate, the LiveKit routes' refusal, and conversations among the jobs.

Records are made through ``services/conversations.py`` as a live call makes them (create →
open → log → end), at known times, so every field read back is known. On SQLite and
PostgreSQL (the ``api`` fixture).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from hams.db.models import Conversation, Job, KnowledgeItem, WebTool
from hams.runtime import Runtime
from hams.services import conversations
from hams.services.conversations import ConversationEnd, LogEntry, NewConversation, Usage
from hams.services.keys import Principal
from tests.conftest import built_runtime
from tests.factories import api_client, load_job, make_principal

ONE = "/v1/voice-agents/conversation/{}"
LIST = "/v1/voice-agents/conversations/minimal-list"
DAY = datetime(2025, 3, 10, tzinfo=UTC)
PRICE_PER_MINUTE = 0.6


@pytest.fixture
def runtime(database_url, tmp_path):
    """Conversation minutes priced, so a finished call has a cost to show."""
    with built_runtime(tmp_path, database_url=database_url,
                       agent_price_per_minute=PRICE_PER_MINUTE) as rt:
        yield rt


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Calls:
    """Makes conversation records the way a live call does, through the record service."""

    runtime: Runtime
    principal: Principal

    def start(self, *, agent_id: str = "agent-1", agent_name: str = "Receptionist",
              created_at: datetime | None = None, call_params: dict | None = None,
              params: dict | None = None) -> str:
        with self.runtime.db.session() as session:
            job = conversations.create_conversation(session, self.principal, NewConversation(
                voice_agent_id=agent_id, agent_name=agent_name, model="gpt-4o-mini",
                agent_details={"id": agent_id, "agentName": agent_name, "lang": "en"},
                params=params or {}, client_tools=[], voice_enablement=True,
                call_params=call_params or {}))
            job_id = job.id
        if created_at is not None:
            self.set(job_id, created_at=created_at)
        return job_id

    def open(self, job_id: str) -> None:
        with self.runtime.db.session() as session:
            conversations.open_conversation(session, self.principal, job_id, host="test-host",
                                            lease_seconds=60)

    def log(self, job_id: str, *entries: LogEntry) -> None:
        with self.runtime.db.session() as session:
            conversations.append_logs(session, job_id, list(entries))

    def end(self, job_id: str, status: str = "COMPLETED", seconds: float = 60.0,
            **values: Any) -> None:
        with self.runtime.db.session() as session:
            ended = conversations.end_conversation(session, job_id, ConversationEnd(
                status=status, reason=values.pop("reason", "The user ended the call"),
                call_duration=seconds, **values), settings=self.runtime.settings)
            assert ended is not None

    def set(self, job_id: str, *, created_at: datetime | None = None,
            **record: Any) -> None:
        """Back-date a call, or write what the post-call job writes (callAnalysis...)."""
        with self.runtime.db.session() as session:
            if created_at is not None:
                session.execute(update(Job).where(Job.id == job_id).values(
                    created_at=created_at))
                session.execute(update(Conversation).where(Conversation.job_id == job_id)
                                .values(created_at=created_at))
            if record:
                session.execute(update(Conversation).where(Conversation.job_id == job_id)
                                .values(**record))

    def finished(self, *, seconds: float = 60.0, created_at: datetime | None = None,
                 status: str = "COMPLETED", agent_id: str = "agent-1",
                 entries: tuple[LogEntry, ...] = (), **values: Any) -> str:
        job_id = self.start(agent_id=agent_id, created_at=created_at)
        self.open(job_id)
        if entries:
            self.log(job_id, *entries)
        self.end(job_id, status, seconds, **values)
        return job_id


def turn(role: str, text: str, at: datetime, seconds: float = 1.0,
         interrupted: bool = False) -> LogEntry:
    return LogEntry(kind="turn", role=role, text=text, started_at=at,
                    ended_at=at + timedelta(seconds=seconds), interrupted=interrupted)


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def fault(response, status: int = 400) -> tuple[str, list[str]]:
    """(messageKey, the fields named in data) of an error answer."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    data = body["data"] if isinstance(body["data"], list) else []
    return body["messageKey"], [f["field"] for f in data]


def calls_of(api) -> Calls:
    return Calls(api.app.state.runtime, api.principal)


# ---- the conversation object ----------------------------------------------------------------

def test_a_finished_conversation_reads_whole_as_the_sdk_polls_it(api, runtime):
    with runtime.db.session() as session:
        tool = WebTool(project_id=api.project.id, name="lookup_order", settings={},
                       messages=[], description="Finds an order")
        item = KnowledgeItem(project_id=api.project.id, item_name="Opening hours",
                             type="TEXT", status="PROCESSED", content="9 to 5", item_urls=[])
        session.add_all([tool, item])
        session.flush()
        tool_id, persistent_id, item_id = tool.id, tool.persistent_id, item.id
    agent = ok(api.post("/v1/voice-agents", json={
        "agentName": "Clinic", "webToolsIds": [persistent_id],
        "knowledgeBaseItemsIds": [item_id]}))
    calls = calls_of(api)
    job_id = calls.start(agent_id=agent["id"], agent_name="Clinic",
                         call_params={"userNumber": "web"}, params={"name": "Sara"})
    calls.open(job_id)
    t0 = DAY + timedelta(hours=9)
    calls.log(job_id,
              turn("agent", "Hello Sara, how can I help?", t0, 2.0),
              turn("user", "Where is my order?", t0 + timedelta(seconds=3), 1.5),
              LogEntry(kind="tool", role="tool", started_at=t0 + timedelta(seconds=5),
                       ended_at=t0 + timedelta(seconds=5.2),
                       payload={"name": "lookup_order", "arguments": {"id": 7},
                                "result": {"status": "shipped"}, "durationMs": 200}),
              turn("agent", "It has shipped and will", t0 + timedelta(seconds=6), 1.0,
                   interrupted=True))
    key = f"jobs/{job_id}/recording.wav"
    runtime.storage.path_for(key).write_bytes(b"RIFF-recording")
    metrics = {"turns": [{"endOfSpeechToTranscriptMs": 210, "endOfSpeechToFirstAudioMs": 640}],
               "average": {"endOfSpeechToTranscriptMs": 210, "endOfSpeechToFirstAudioMs": 640}}
    calls.end(job_id, "COMPLETED", 90.0, transcript="Agent: Hello Sara...",
              performance_metrics=metrics, recording_key=key,
              usage=Usage(stt_seconds=12.5, tts_characters=80, llm_tokens=321))
    calls.set(job_id, call_analysis={"summary": "Order status asked", "sentiment": "positive"})
    with runtime.db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            job_response={"name": "Sara", "orderFound": True}))

    data = ok(api.get(ONE.format(job_id), params={"jobId": job_id}))
    job = load_job(runtime, job_id)
    assert data["id"] == job_id and data["status"] == "COMPLETED"
    assert (data["type"], data["processingType"], data["channelType"]) == (
        "VOICE_AGENTS", "real-time", "Web")
    assert data["model"] == "gpt-4o-mini" and data["title"] == "Clinic"
    assert data["voiceAgentId"] == agent["id"] and data["apiKeyId"] == api.principal.api_key_id
    assert data["agentDetails"] == {"id": agent["id"], "agentName": "Clinic", "lang": "en"}
    assert data["jobResponse"] == {"name": "Sara", "orderFound": True}
    assert data["callParams"] == {"userNumber": "web"} and data["params"] == {"name": "Sara"}
    assert data["callDuration"] == 90.0
    assert data["callAnalysis"] == {"summary": "Order status asked", "sentiment": "positive"}
    assert data["performanceMetrics"] == metrics
    assert data["transcript"] == "Agent: Hello Sara..."
    assert data["endReason"] == "The user ended the call"
    assert data["usage"] == {"sttSeconds": 12.5, "ttsCharacters": 80, "llmTokens": 321}
    assert data["totalCost"] == pytest.approx(job.total_cost)
    assert data["totalCost"] >= 90 / 60 * PRICE_PER_MINUTE
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    # the recording, behind a link signed now that opens without a key
    link = urlsplit(data["mediaUrl"])
    assert link.path == f"/v1/files/{key}" and "signature=" in link.query
    download = api.get(f"{link.path}?{link.query}", headers={"Authorization": ""})
    assert download.status_code == 200 and download.content == b"RIFF-recording"
    # the log, in order, each entry's own payload beside its columns
    payloads = [entry["payload"] for entry in data["logs"]]
    assert [(p["kind"], p["role"]) for p in payloads] == [
        ("turn", "agent"), ("turn", "user"), ("tool", "tool"), ("turn", "agent")]
    assert payloads[0] == {"kind": "turn", "role": "agent",
                           "text": "Hello Sara, how can I help?",
                           "startTime": "2025-03-10T09:00:00.000Z",
                           "endTime": "2025-03-10T09:00:02.000Z", "interrupted": False}
    assert payloads[2]["arguments"] == {"id": 7} and payloads[2]["durationMs"] == 200
    assert payloads[2]["result"] == {"status": "shipped"} and payloads[2]["text"] is None
    assert payloads[3]["interrupted"] is True
    assert data["logs"][1]["timestamp"] == "2025-03-10T09:00:03.000Z"
    assert all(set(e) == {"id", "timestamp", "payload", "createdAt", "updatedAt"}
               for e in data["logs"])
    # the agent as it is now: its tools and knowledge
    voice_agent = data["voiceAgent"]
    assert voice_agent["id"] == agent["id"] and voice_agent["agentName"] == "Clinic"
    assert [t["webTool"]["id"] for t in voice_agent["voiceAgentWebTools"]] == [tool_id]
    assert voice_agent["webTools"][0]["name"] == "lookup_order"
    assert [k["knowledgeBaseItem"]["itemName"]
            for k in voice_agent["voiceAgentKnowledgeBases"]] == ["Opening hours"]
    # a deleted agent leaves its conversations readable, without the links
    assert api.delete(f"/v1/voice-agents/{agent['id']}").status_code == 200
    again = ok(api.get(ONE.format(job_id)))
    assert again["voiceAgent"] is None and again["agentDetails"]["agentName"] == "Clinic"


def test_a_live_conversation_reads_without_duration_or_recording(api):
    calls = calls_of(api)
    job_id = calls.start(agent_id="gone-agent")
    data = ok(api.get(ONE.format(job_id)))
    assert data["status"] == "PENDING" and data["callDuration"] is None
    assert data["mediaUrl"] is None and data["logs"] == [] and data["voiceAgent"] is None
    assert data["totalCost"] == 0 and data["callAnalysis"] is None
    calls.open(job_id)
    calls.log(job_id, turn("agent", "Hi", DAY))
    data = ok(api.get(ONE.format(job_id)))
    assert data["status"] == "IN_PROGRESS" and len(data["logs"]) == 1


def test_unknown_and_other_projects_conversations_are_not_found(api, runtime):
    mine = calls_of(api).finished()
    stranger = Calls(runtime, make_principal(runtime)).finished()
    for job_id in (stranger, "no-such-conversation"):
        assert fault(api.get(ONE.format(job_id)), 404)[0] == "CONVERSATION_NOT_FOUND"
        assert fault(api.get(ONE.format(job_id) + "/terminate"), 404)[0] == (
            "CONVERSATION_NOT_FOUND")
    assert [c["id"] for c in ok(api.get(LIST))["calls"]] == [mine]
    # the SDK's ?jobId= names the same conversation; another id is a mistake, said so
    assert fault(api.get(ONE.format(mine), params={"jobId": stranger})) == (
        "VALIDATION_ERROR", ["jobId"])
    # a job that is not a conversation is not one
    transcription = api.post("/v2/jobs", json={"title": "t", "language": "en",
                                               "mediaUrl": "http://127.0.0.1:1/a.wav",
                                               "type": "TRANSCRIPTION"})
    job_id = ok(transcription)["jobId"]
    assert fault(api.get(ONE.format(job_id)), 404)[0] == "CONVERSATION_NOT_FOUND"


# ---- the minimal list -----------------------------------------------------------------------

def test_minimal_list_filters_by_agent_status_and_time_and_pages(api):
    calls = calls_of(api)
    a = calls.finished(created_at=DAY + timedelta(hours=1), seconds=30.0, agent_id="A")
    b = calls.finished(created_at=DAY + timedelta(hours=2), seconds=125.5, agent_id="B",
                       status="TERMINATED")
    c = calls.finished(created_at=DAY + timedelta(hours=3), seconds=5.0, agent_id="A",
                       status="FAILED")
    d = calls.start(agent_id="A", created_at=DAY + timedelta(hours=4),
                    call_params={"userNumber": "+15550001"})
    e = calls.start(agent_id="A", created_at=DAY + timedelta(hours=5))
    calls.open(e)

    page = ok(api.get(LIST))
    assert (page["total"], page["filtered"]) == (5, 5)
    assert [call["id"] for call in page["calls"]] == [e, d, c, b, a]  # newest first
    first = page["calls"][-1]
    assert first == {"id": a, "createdAt": "2025-03-10T01:00:00.000Z", "status": "COMPLETED",
                     "voiceAgentId": "A", "agentName": "Receptionist", "duration": 30.0,
                     "channelType": "Web", "callParams": {}}
    assert page["calls"][1]["duration"] is None  # not ended
    assert page["calls"][1]["callParams"] == {"userNumber": "+15550001"}

    def ids(**params) -> tuple[int, list[str]]:
        data = ok(api.get(LIST, params=params))
        assert data["total"] == 5
        return data["filtered"], [call["id"] for call in data["calls"]]

    assert ids(voiceAgentId="B") == (1, [b])
    assert ids(status=["COMPLETED", "TERMINATED"]) == (2, [b, a])
    assert ids(**{"status[]": ["PENDING", "IN_PROGRESS"]}) == (2, [e, d])
    assert ids(status="FAILED", **{"status[]": "COMPLETED"}) == (2, [c, a])
    assert ids(voiceAgentId="A", status="FORWARDED") == (0, [])
    # startTime and endTime are inclusive, on createdAt
    assert ids(startTime=ms(DAY + timedelta(hours=2)),
               endTime=ms(DAY + timedelta(hours=4))) == (3, [d, c, b])
    assert ids(startTime=ms(DAY + timedelta(hours=5))) == (1, [e])
    assert ids(endTime=ms(DAY + timedelta(hours=1))) == (1, [a])
    assert ids(startTime=ms(DAY + timedelta(hours=3)),
               endTime=ms(DAY + timedelta(hours=3))) == (1, [c])
    # paging
    assert ids(perPage=2) == (5, [e, d])
    assert ids(perPage=2, page=3) == (5, [a])
    assert ids(perPage=2, page=4) == (5, [])


BAD_VALUES = [
    ({"startTime": 2000, "endTime": 1000}, "endTime"),
    ({"status": "DONE"}, "status.0"),
    ({"status[]": "DONE"}, "status[].0"),
    ({"startTime": "yesterday"}, "startTime"),
    ({"endTime": -1}, "endTime"),
    ({"page": 0}, "page"),
    ({"perPage": 0}, "perPage"),
    ({"perPage": 201}, "perPage"),
    ({"voiceAgentId": "x" * 101}, "voiceAgentId"),
]


def test_minimal_list_refuses_bad_values_naming_the_field(sqlite_runtime):
    """Checked before any query: one database is enough."""
    with api_client(sqlite_runtime) as api:
        refused = [fault(api.get(LIST, params=params)) for params, _ in BAD_VALUES]
    assert refused == [("VALIDATION_ERROR", [field]) for _, field in BAD_VALUES]


# ---- terminate ------------------------------------------------------------------------------

def test_terminate_ends_a_call_not_yet_connected_and_asks_the_holder_of_a_live_one(api, runtime):
    calls = calls_of(api)
    pending = calls.start()
    answer = api.get(ONE.format(pending) + "/terminate")
    data = ok(answer)
    assert answer.json()["message"] == "Conversation terminated successfully."
    assert answer.json()["messageKey"] == "ConversationTerminatedSuccessfully"
    assert data["id"] == pending and data["status"] == "TERMINATED"
    assert data["terminateRequestedAt"].endswith("Z")
    job = load_job(runtime, pending)
    assert job.status == "TERMINATED" and job.finished_at is not None
    assert ok(api.get(ONE.format(pending)))["endReason"] == "Terminated before it connected"

    live = calls.start()
    calls.open(live)
    data = ok(api.get(ONE.format(live) + "/terminate"))
    assert data["status"] == "IN_PROGRESS"  # the process holding the socket ends it
    with runtime.db.session() as session:
        assert session.get(Conversation, live).terminate_requested_at is not None
        assert conversations.renew_leases(session, "test-host", [live],
                                          lease_seconds=60) == ({live}, set())

    for ended in (pending, calls.finished()):
        key, _ = fault(api.get(ONE.format(ended) + "/terminate"), 409)
        assert key == "CONVERSATION_ENDED"


# ---- the newer SDK's LiveKit routes ---------------------------------------------------------

@pytest.mark.parametrize("path", ["participant-token", "conversation-init"])
def test_livekit_routes_say_livekit_is_not_configured(api, path):
    response = api.post(f"/v1/voice-agents/room/{path}",
                        json={"voiceAgentId": "a", "params": {}, "tools": [],
                              "voiceEnablement": True, "channelType": "Web"})
    assert response.status_code == 501, response.text
    body = response.json()
    assert body["success"] is False and body["messageKey"] == "LIVEKIT_NOT_CONFIGURED"
    assert "LIVEKIT_URL" in body["message"] and "/v1/voice-agents/conversation-init" in (
        body["message"])
    assert body["data"]["missing"] == ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"]
    assert body["data"]["category"] == "NOT_IMPLEMENTED"
    with api_client(api.app.state.runtime) as other:
        unauthenticated = other.post(f"/v1/voice-agents/room/{path}", json={},
                                     headers={"Authorization": "Token nope"})
    assert unauthenticated.status_code == 401


# ---- conversations among the jobs -----------------------------------------------------------

def test_conversations_show_in_the_job_lists(api, runtime):
    calls = calls_of(api)
    done = calls.finished(seconds=120.0, created_at=DAY)
    live = calls.start(created_at=DAY + timedelta(hours=1))
    calls.open(live)
    cost = load_job(runtime, done).total_cost
    assert cost == pytest.approx(120 / 60 * PRICE_PER_MINUTE)

    listed = ok(api.post("/v1/jobs/all", json={"type": "VOICE_AGENTS"}))
    assert [j["id"] for j in listed["jobs"]] == [live, done]
    summary = listed["jobs"][1]
    assert (summary["type"], summary["status"], summary["title"]) == (
        "VOICE_AGENTS", "COMPLETED", "Receptionist")
    assert summary["cost"] == pytest.approx(cost)
    assert summary["attributes"]["agentName"] == "Receptionist"
    assert summary["attributes"]["duration"] == 120.0
    in_progress = ok(api.post("/v1/jobs/all", json={"status": "IN_PROGRESS"}))
    assert [j["id"] for j in in_progress["jobs"]] == [live]

    v2 = ok(api.get("/v2/jobs", params={"type": "VOICE_AGENTS"}))
    assert [(j["id"], j["status"], j["type"]) for j in v2["jobs"]] == [
        (live, "IN_PROGRESS", "VOICE_AGENTS"), (done, "COMPLETED", "VOICE_AGENTS")]
    assert v2["jobs"][1]["totalCost"] == pytest.approx(cost)
    # the internal post-call job is not listed among them
    everything = ok(api.get("/v2/jobs"))
    assert {j["type"] for j in everything["jobs"]} == {"VOICE_AGENTS"}

    read = api.get("/v1/jobs", params={"jobId": done})
    assert read.status_code == 200, read.text
    job = read.json()["data"]
    assert (job["type"], job["processingType"], job["status"]) == (
        "VOICE_AGENTS", "real-time", "COMPLETED")
    assert job["totalCost"] == pytest.approx(cost) and job["usageTime"] == "120.000"
    assert ok(api.get(f"/v2/jobs/view/{live}"))["status"] == "IN_PROGRESS"
