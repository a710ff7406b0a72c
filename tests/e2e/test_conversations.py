"""Live conversations on a real `hams serve`, driven through the voice SDK's socket protocol
(tests/helpers/conversation_client.py): refusals, a whole turn with its record, a client tool
left unanswered, malformed frames, pokes, the time limit, terminate from the route, the
capacity limit, and a restart failing the calls the process held. The real npm SDK and a real
browser are driven in test_voice_sdk.py and test_voice_browser.py."""

from __future__ import annotations

import asyncio
import io
import json
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.helpers.conversation_client import SdkSocket
from tests.helpers.llm_server import FakeLlmServer
from tests.helpers.scripted_http import ScriptedServer
from tests.helpers.server import ServerProcess, start_server, wait_for_job
from tests.helpers.speech import speech_samples, synthesize_speech, word_error_rate
from tests.helpers.wait import wait_until

QUESTION = "What is the weather like today?"
ENV = {"HAMS_ALLOW_PRIVATE_URLS": "true", "HAMS_AGENT_MAX_CONVERSATIONS": "2",
       "HAMS_AGENT_TOOL_TIMEOUT_SECONDS": "1.5", "HAMS_WEBHOOK_BACKOFF_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLlmServer]:
    with FakeLlmServer() as server:
        yield server


@pytest.fixture(scope="module")
def agents_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("agents"), workers=1, env=ENV)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def question(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = synthesize_speech([QUESTION], tmp_path_factory.mktemp("q") / "q.wav")
    return speech_samples(path).astype(np.float32)


def make_agent(client: httpx.Client, llm: FakeLlmServer, **fields) -> str:
    body = {"agentName": "Weather desk", "lang": "en", "greetingMessage": "Hello there.",
            "preamble": "You answer questions about the weather.", "responseDelay": 100,
            "llmConfig": {"baseUrl": llm.base_url, "model": "test-model"}, **fields}
    answer = client.post("/v1/voice-agents", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["id"]


def init(client: httpx.Client, agent_id: str, **body) -> str:
    answer = client.post("/v1/voice-agents/conversation-init",
                         json={"voiceAgentId": agent_id, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["jobId"]


def socket_url(server: ServerProcess, job_id: str, key: str | None = None) -> str:
    return f"{server.base_url.replace('http', 'ws')}/stream/{job_id}?api_key={key or server.key}"


def conversation(client: httpx.Client, job_id: str) -> dict:
    answer = client.get(f"/v1/voice-agents/conversation/{job_id}", params={"jobId": job_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def ended(client: httpx.Client, job_id: str, timeout: float = 30) -> dict:
    return wait_until(lambda: (c := conversation(client, job_id))["status"] not in
                      ("PENDING", "IN_PROGRESS") and c, timeout, what="the conversation to end")


def test_sockets_that_cannot_start_a_call_get_an_error_then_close(agents_server, llm):
    client = agents_server.client()
    job_id = init(client, make_agent(client, llm))

    async def refused(url: str) -> tuple[list[dict], tuple]:
        async with SdkSocket(url) as sdk:
            await sdk.start()
            closed = await sdk.wait_closed(10)
            return [m for _, m in sdk.events], closed

    events, closed = asyncio.run(refused(socket_url(agents_server, job_id, "not-a-key")))
    assert events[0]["event"] == "error" and events[0]["messageKey"] == "UNAUTHORIZED"
    assert closed[0] == 1008
    events, closed = asyncio.run(refused(socket_url(agents_server, "no-such-conversation")))
    assert events[0]["messageKey"] == "CONVERSATION_NOT_FOUND" and closed[0] == 1008

    async def twice() -> tuple[list[dict], tuple]:
        async with SdkSocket(socket_url(agents_server, job_id)) as first:
            await first.start()
            await first.wait_for("answer", 30)
            events, closed = await refused(socket_url(agents_server, job_id))
            await first.send({"event": "stop"})
            await first.wait_closed(10)
            return events, closed

    events, closed = asyncio.run(twice())
    assert events[0]["messageKey"] == "CONVERSATION_IN_PROGRESS" and closed[0] == 1008
    assert ended(client, job_id)["status"] == "COMPLETED"
    events, closed = asyncio.run(refused(socket_url(agents_server, job_id)))
    assert events[0]["messageKey"] == "CONVERSATION_ENDED" and closed[0] == 1008


def test_a_turn_is_heard_answered_and_recorded(agents_server, llm, question):
    client = agents_server.client()
    tool = {"type": "function", "function": {
        "name": "get_local_time", "description": "The caller's local time",
        "parameters": {"type": "object", "properties": {}, "required": []}}}
    job_id = init(client, make_agent(client, llm), params={"city": "Amman"}, tools=[tool],
                  voiceEnablement=True)
    llm.reply_tool_call("get_local_time", {}, call_id="call_time_1")
    llm.reply_raw("It is sunny and warm today.")
    before = len(llm.requests)

    async def talk() -> SdkSocket:
        async with SdkSocket(socket_url(agents_server, job_id)) as sdk:
            await sdk.start()
            assert (await sdk.wait_for("answer", 30))[0]["content"] == "Hello there."
            await sdk.send({"event": "media", "media": {"payload": "%%%"}})
            await sdk.wait_for("error", 10)
            await sdk.silence(1.5)  # the greeting plays out
            await sdk.speak(question)
            tools = await sdk.wait_for("tools", 60, keep_talking=True)
            await sdk.wait_for("answer", 60, count=2, keep_talking=True)
            await sdk.silence(4.0)  # hear the answer
            await sdk.send({"event": "stop"})
            await sdk.wait_closed(10)
            assert tools[0]["content"][0]["function"]["name"] == "get_local_time"
            return sdk

    sdk = asyncio.run(talk())
    heard = sdk.of("transcription")[0]["content"]
    assert word_error_rate(QUESTION, heard) <= 0.2, heard
    assert sdk.of("answer")[1]["content"] == "It is sunny and warm today."
    assert sdk.media_bytes > 16_000, "the greeting and the answer are heard as audio"
    assert "BAD_FRAME" in json.dumps(sdk.of("error"))
    # the unanswered client tool: the LLM was told it timed out, and went on
    followup = llm.requests[before + 1]
    assert "did not answer within 1.5 s" in json.dumps(followup.messages)

    record = ended(client, job_id)
    assert record["status"] == "COMPLETED" and record["type"] == "VOICE_AGENTS"
    assert record["processingType"] == "real-time" and record["channelType"] == "Web"
    payloads = [log["payload"] for log in record["logs"]]
    turns = [(p["role"], p["text"]) for p in payloads if p["kind"] == "turn"]
    assert turns[0] == ("agent", "Hello there.")
    assert ("user", heard) in turns and ("agent", "It is sunny and warm today.") in turns
    tool_log = next(p for p in payloads if p["kind"] == "tool")
    assert tool_log["name"] == "get_local_time" and tool_log["durationMs"] >= 1400
    assert "did not answer" in tool_log["error"]
    assert record["callDuration"] > 3
    metrics = record["performanceMetrics"]
    assert metrics["turnCount"] >= 1 and metrics["average"]["endOfSpeechToFirstAudioMs"] > 0
    recording = httpx.get(record["mediaUrl"], timeout=30)
    assert recording.status_code == 200
    with wave.open(io.BytesIO(recording.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 16_000)
        assert wav.getnframes() / 16_000 > 3
    as_job = client.get("/v1/jobs", params={"jobId": job_id}).json()["data"]
    assert as_job["type"] == "VOICE_AGENTS" and as_job["status"] == "COMPLETED"
    assert httpx.get(as_job["mediaUrl"], timeout=30).content == recording.content


def test_silence_and_the_time_limit_end_calls(agents_server, llm):
    """Two calls at once (the limits are timers: running them side by side saves a minute of
    suite): one poked, then ended for its silence; one ended at maxCallDuration."""
    client = agents_server.client()
    silent_id = init(client, make_agent(client, llm, userInactivityTimeout=5,
                                        pokeMessages=["Are you still there?"]))
    # silence would end the call first (userInactivityTimeout, 15 s): a poke comes at 30 s
    long_id = init(client, make_agent(client, llm, maxCallDuration=30, userInactivityTimeout=30,
                                      pokeMessages=["Still there?"]))

    async def silent() -> SdkSocket:
        async with SdkSocket(socket_url(agents_server, silent_id)) as sdk:
            await sdk.start()
            await sdk.wait_for("answer", 30, count=2, keep_talking=True)
            await sdk.wait_closed(30, keep_talking=True)
            return sdk

    async def long_call() -> float:
        async with SdkSocket(socket_url(agents_server, long_id)) as sdk:
            await sdk.start()
            await sdk.wait_closed(45, keep_talking=True)
            return time.monotonic() - sdk.started

    async def both() -> tuple[SdkSocket, float]:
        return await asyncio.gather(silent(), long_call())

    sdk, lasted = asyncio.run(both())
    assert [m["content"] for m in sdk.of("answer")] == ["Hello there.", "Are you still there?"]
    record = ended(client, silent_id)
    assert record["status"] == "COMPLETED" and "silent" in record["endReason"]
    assert 29 < lasted < 40
    record = ended(client, long_id)
    assert record["status"] == "TERMINATED" and "maxCallDuration" in record["endReason"]


def test_terminate_from_the_route_ends_a_live_call_within_a_second(agents_server, llm):
    client = agents_server.client()
    job_id = init(client, make_agent(client, llm))

    async def terminated() -> float:
        async with SdkSocket(socket_url(agents_server, job_id)) as sdk:
            await sdk.start()
            await sdk.wait_for("answer", 30)
            asked = time.monotonic()
            answer = await asyncio.to_thread(
                client.get, f"/v1/voice-agents/conversation/{job_id}/terminate")
            assert answer.json()["messageKey"] == "ConversationTerminatedSuccessfully"
            await sdk.wait_closed(5, keep_talking=True)
            return time.monotonic() - asked

    assert asyncio.run(terminated()) < 2.0  # one second to notice, then the socket closes
    record = ended(client, job_id)
    assert record["status"] == "TERMINATED" and "Terminated" in record["endReason"]


def test_over_the_live_limit_conversation_init_answers_429(agents_server, llm):
    client = agents_server.client()
    agent_id = make_agent(client, llm)
    jobs = [init(client, agent_id) for _ in range(2)]

    async def full() -> httpx.Response:
        async with SdkSocket(socket_url(agents_server, jobs[0])) as one, \
                SdkSocket(socket_url(agents_server, jobs[1])) as two:
            await one.start()
            await two.start()
            await one.wait_for("answer", 30)
            await two.wait_for("answer", 30)
            answer = await asyncio.to_thread(
                client.post, "/v1/voice-agents/conversation-init",
                json={"voiceAgentId": agent_id})
            for sdk in (one, two):
                await sdk.send({"event": "stop"})
                await sdk.wait_closed(10)
            return answer

    answer = asyncio.run(full())
    assert answer.status_code == 429 and answer.headers["Retry-After"]
    assert answer.json()["messageKey"] == "TOO_MANY_CONVERSATIONS"
    assert "HAMS_AGENT_MAX_CONVERSATIONS" in answer.json()["message"]


def test_a_restarted_server_fails_the_calls_it_held(tmp_path: Path, llm):
    env = {**ENV, "HAMS_INSTANCE_ID": "restart-test"}
    first = start_server(tmp_path, env=env)
    client = first.client()
    job_id = init(client, make_agent(client, llm))

    async def connect_then_crash() -> None:
        async with SdkSocket(socket_url(first, job_id)) as sdk:
            await sdk.start()
            await sdk.wait_for("answer", 30)
            first.process.kill()  # no shutdown: the call is left IN_PROGRESS
            first.process.wait()

    asyncio.run(connect_then_crash())
    status = first.rows("SELECT status FROM jobs WHERE id = ?", job_id)[0][0]
    assert status == "IN_PROGRESS"
    second = start_server(tmp_path, env=env)
    try:
        record = ended(second.client(first.key), job_id)
        assert record["status"] == "FAILED"
        assert "stopped before it ended" in record["endReason"]
    finally:
        second.stop()


def test_the_agent_runs_web_and_knowledge_tools_then_ends_the_call(agents_server, llm,
                                                                   question):
    client = agents_server.client()
    weather = ScriptedServer()
    weather.script("POST", "/weather", [(200, {"forecast": "sunny, 31 degrees"})])
    try:
        tool = client.post("/v2/voice-agents/web-tool", json={
            "type": "FUNCTION", "name": "get_weather", "description": "Weather for a city",
            "toolSettings": {"serverUrl": f"{weather.base_url}/weather", "methodType": "POST"},
            "messages": [{"type": "REQUEST_START", "content": "One moment please."}],
            "params": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}})
        assert tool.status_code == 200, tool.text
        items = client.post("/v1/voice-agents/knowledge-base", json={"items": [{
            "itemName": "Hours", "type": "TEXT",
            "content": "The weather desk is open from nine to five every weekday."}]})
        assert items.status_code == 200, items.text
        item = items.json()["data"][0]
        wait_for_job(client, item["jobId"])
        agent_id = make_agent(
            client, llm, greetingMessageType="PROMPT",
            greetingMessage="Greet {{name}} by name.", webToolsIds=[tool.json()["data"]["id"]],
            knowledgeBaseItemsIds=[item["id"]], agenticRag=True, smartCallEnd=True)
        job_id = init(client, agent_id, params={"name": "Sara"})
        before = len(llm.requests)
        llm.reply_raw("Welcome Sara.")
        llm.reply_tool_call("get_weather", {"city": "Amman"}, call_id="call_weather")
        llm.reply_tool_call("search_knowledge_base", {"query": "opening hours"},
                            call_id="call_kb")
        llm.reply_tool_call("end_call", {"reason": "answered"}, call_id="call_end",
                            content="It is sunny, and we are open nine to five. Goodbye.")

        async def talk() -> SdkSocket:
            async with SdkSocket(socket_url(agents_server, job_id)) as sdk:
                await sdk.start()
                assert (await sdk.wait_for("answer", 30))[0]["content"] == "Welcome Sara."
                await sdk.silence(1.5)
                await sdk.speak(question)
                await sdk.wait_closed(90, keep_talking=True)  # the agent hangs up
                return sdk

        sdk = asyncio.run(talk())
    finally:
        weather.close()
    requests = llm.requests[before:]
    assert "Greet Sara by name." in json.dumps(requests[0].messages)
    assert json.loads(weather.hits("POST", "/weather")[0].body) == {"city": "Amman"}
    assert "sunny, 31 degrees" in json.dumps(requests[2].messages)
    assert "nine to five every weekday" in json.dumps(requests[3].messages, ensure_ascii=False)
    answers = [m["content"] for m in sdk.of("answer")]
    assert "One moment please." in answers
    assert answers[-1] == "It is sunny, and we are open nine to five. Goodbye."
    record = ended(client, job_id)
    assert record["status"] == "COMPLETED" and "smartCallEnd" in record["endReason"]
    tools = [(p["toolType"], p["name"]) for p in (log["payload"] for log in record["logs"])
             if p["kind"] == "tool"]
    assert tools == [("web", "get_weather"), ("knowledge", "search_knowledge_base"),
                     ("end", "end_call")]
