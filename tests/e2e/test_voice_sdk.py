"""Hamsa's own SDK (`@hamsa-ai/voice-agents-sdk@0.3.1` from npm) holds voice-agent conversations
with the real `hams serve` process.

The SDK runs under Node 20 (tests/helpers/voice_sdk/driver.cjs). The browser pieces it needs there
are documented in tests/helpers/voice_sdk/node_browser.cjs: `ws` as the WebSocket, and a small
Web Audio runtime that runs the SDK's OWN audio worklets on a real-time clock: its recorder sends
the microphone (fed from a speech file, silence between utterances) as its `media` frames of 128
float32 samples, and its player plays what the server sends, drops it on `clear`, and posts each
`mark` back when the audio before it has played. The only stand-in is the LLM: a local
OpenAI-compatible server (tests/helpers/llm_server.py) that streams scripted answers, one of them a
call to the SDK's client tool. The speech is real: the Piper voice, transcribed by the server's
tiny.en.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.helpers import voice_sdk
from tests.helpers.llm_server import LlmRequest
from tests.helpers.speech import normalize_words, speech_samples, synthesize_speech, wav_bytes
from tests.helpers.voice_sdk import (
    NodeConversation,
    NodeMissing,
    StreamingLlm,
    install_sdk,
    read_wav_pcm16,
    silence,
    text_answer,
    tool_answer,
    write_f32,
)
from tests.helpers.wait import wait_until

GREETING = "Hello, this is the hams test desk."
ASKED = "Please tell me when the city library opens tomorrow morning."
ANSWER = "The city library opens at nine in the morning."
WEATHER_ASKED = "What is the weather like in Cairo today?"
WEATHER_ANSWER = "It is sunny in Cairo today, thirty one degrees."
LONG_ANSWER = ("Our library has three floors. The first floor holds the children's books and a "
               "reading room. The second floor has novels, history and science. The third floor "
               "is for quiet study, with desks, lamps and power sockets for laptops. We also lend "
               "music, films and board games, and there is a small cafe by the entrance.")
FORECAST = {"forecast": "sunny", "celsius": 31}
WEATHER_TOOL = {
    "function_name": "get_weather",
    "description": "The weather forecast for a city, today.",
    "parameters": [{"name": "city", "type": "string", "description": "The city's name"}],
    "required": ["city"],
    "result": FORECAST,
}
TURN_TIMEOUT = 90  # tiny.en and Piper on a 2-core CPU: a turn takes seconds, not minutes


def answer_for(request: LlmRequest) -> dict:
    """The LLM stand-in: a tool result -> the weather; a question about the weather -> the
    client tool's call; about the library's floors -> the long answer; otherwise -> ANSWER."""
    messages = request.messages
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return text_answer(WEATHER_ANSWER)
    latest = str(last.get("content") or "").lower()
    if "weather" in latest or "cairo" in latest:
        return tool_answer("get_weather", {"city": "Cairo"})
    if "floor" in latest or "tell me about" in latest:
        return text_answer(LONG_ANSWER)
    return text_answer(ANSWER)


@pytest.fixture(scope="module")
def sdk_folder() -> Path:
    try:
        return install_sdk()
    except NodeMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def llm():
    with StreamingLlm(answer_for) as server:
        yield server


@pytest.fixture(scope="module")
def utterances(tmp_path_factory) -> dict[str, Path]:
    """Each sentence spoken by the Piper voice, with 1.5 s of silence after it (the end of
    the user's turn), as raw 16 kHz float32 for the driver."""
    folder = tmp_path_factory.mktemp("voice")
    out = {}
    for name, text in {"library": ASKED, "weather": WEATHER_ASKED,
                       "floors": "Tell me about the floors of the library, please."}.items():
        samples = speech_samples(synthesize_speech([text], folder / f"{name}.wav"))
        out[name] = write_f32(np.concatenate([samples, silence(1.5)]), folder / f"{name}.f32")
    return out


def create_agent(server, llm, **fields) -> str:
    with server.client() as client:
        return voice_sdk.create_agent(client, llm.base_url, **{
            "greetingMessage": GREETING, "greetingMessageType": "STATIC",
            "preamble": "You are the help desk of the city library. Answer in one sentence.",
            **fields})


def get_conversation(server, job_id: str) -> dict:
    with server.client() as client:
        return voice_sdk.get_conversation(client, job_id)


def finished_conversation(server, job_id: str, timeout: float = 60) -> dict:
    with server.client() as client:
        return voice_sdk.finished_conversation(client, job_id, timeout)


def agent_speaks(conversation: NodeConversation, answer: dict,
                 timeout: float = TURN_TIMEOUT) -> None:
    """After the ``answer`` record: its audio arrives, then 1.5 s without audio, and the SDK's
    player has played all it got."""
    conversation.wait("recv:media", timeout, after=conversation.records.items.index(answer))
    conversation.step("waitQuiet", timeout=timeout, name="recv:media", quietMs=1500)
    last = conversation.records.items.index(conversation.named("recv:media")[-1])
    conversation.wait("sdk:listening", timeout, after=last)


def say(conversation: NodeConversation, file: Path) -> int:
    """Speak a file into the SDK's microphone (real time); the records' position before it."""
    position = conversation.position()
    conversation.step("sendAudio", timeout=60, file=str(file))
    return position


def words(text: str) -> set[str]:
    return set(normalize_words(text).split())


def assert_heard(heard: str, said: str) -> None:
    """The transcription has most of the words said (tiny.en on synthetic speech)."""
    overlap = len(words(heard) & words(said)) / len(words(said))
    assert overlap >= 0.6, f"transcribed {heard!r} for {said!r}"


def socket_url(server, job_id: str, key: str) -> str:
    return server.base_url.replace("http://", "ws://") + f"/stream/{job_id}?api_key={key}"


def refused(url: str) -> tuple[list, ConnectionClosed | None]:
    """Connect to a conversation socket: the frames received until it closed, and how."""
    frames: list = []
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"event": "start", "streamSid": "WEBSDK"}))
        try:
            while len(frames) < 20:
                frames.append(ws.recv(timeout=10))
        except ConnectionClosed as closed:
            return frames, closed
        except TimeoutError:
            return frames, None
    return frames, None


def assert_refused(url: str, what: str) -> None:
    """A clear error (an `error` frame naming the problem, or a close reason), then close."""
    frames, closed = refused(url)
    assert closed is not None, f"{what}: the socket stayed open; frames: {frames}"
    texts = [json.loads(f) for f in frames if isinstance(f, str) and f.startswith("{")]
    errors = [f for f in texts if f.get("event") == "error" or "error" in f
              or f.get("type") == "error"]
    reason = closed.rcvd.reason if closed.rcvd else ""
    assert errors or reason, f"{what}: closed without saying why: frames {frames}, {closed}"
    assert not [f for f in texts if f.get("event") in ("media", "answer")], frames
    if closed.rcvd:
        assert closed.rcvd.code != 1000, f"{what}: closed as if normal: {closed.rcvd}"


# --- the whole conversation ----------------------------------------------------------------


def test_a_conversation_through_the_sdk(server, llm, sdk_folder, utterances, webhook_receiver,
                                        tmp_path):
    hook = f"/voice-sdk/{uuid.uuid4().hex}"
    agent_id = create_agent(server, llm, webhookUrl=webhook_receiver.url(hook))
    saved = tmp_path / "agent.wav"
    requests_before = len(llm.streamed())
    with NodeConversation(server.base_url, server.key, folder=sdk_folder) as conversation:
        started = conversation.step("start", timeout=30, agentId=agent_id,
                                    params={"customerName": "Sara"}, voiceEnablement=True,
                                    tools=[WEATHER_TOOL], saveAudio=str(saved))
        job_id = started["jobId"]
        assert conversation.named("send:start")[0]["frame"] == {"streamSid": "WEBSDK"}

        # the greeting: its text, then its audio, played by the SDK's player
        greeting = conversation.wait("sdk:answerReceived", TURN_TIMEOUT)
        assert greeting["text"] == GREETING
        first_audio = conversation.wait("recv:media", TURN_TIMEOUT)
        assert first_audio["bytes"] > 0 and first_audio["bytes"] % 2 == 0
        agent_speaks(conversation, greeting)

        # a real utterance -> the transcription -> the LLM's answer -> its audio
        before = say(conversation, utterances["library"])
        heard = conversation.wait("sdk:transcriptionReceived", TURN_TIMEOUT, after=before)
        answer = conversation.wait("sdk:answerReceived", TURN_TIMEOUT, after=before)
        assert_heard(" ".join(r["text"] for r in conversation.named("sdk:transcriptionReceived")
                              if r["t"] <= answer["t"] and r["t"] >= heard["t"]), ASKED)
        assert answer["text"] == ANSWER
        agent_speaks(conversation, answer)

        # a client tool: the LLM calls it, the SDK runs its fn, the result goes back to the LLM
        before = say(conversation, utterances["weather"])
        call = conversation.wait("tool:call", TURN_TIMEOUT, after=before)
        assert call["tool"] == "get_weather" and call["args"] == ["Cairo"]
        response = conversation.wait("send:tools_response", 10, after=before)
        [sent] = response["frame"]["tools_response"]
        assert sent["function"] == {"name": "get_weather", "response": FORECAST}
        offered = conversation.named("recv:tools")[-1]["frame"]["content"][0]
        assert sent["id"] == offered["id"] and offered["type"] == "function"
        answer = conversation.wait("sdk:answerReceived", TURN_TIMEOUT,
                                   lambda r: r["text"] == WEATHER_ANSWER, after=before)
        agent_speaks(conversation, answer)

        conversation.step("end", timeout=20)
        close = conversation.named("socket:close")[-1]
        assert close["code"] == 1000
        assert conversation.named("send:stop")
        # the SDK's own check: getJobDetails retries until the status is COMPLETED
        conversation.step("jobDetails", timeout=90, maxRetries=6, interval=1000, backoff=2)
        assert conversation.named("job:details")[-1]["status"] == "COMPLETED"
        assert not conversation.named("sdk:error"), conversation.describe()

    # the LLM saw the tool offered as the SDK converted it, and got the SDK's result back
    streamed = llm.streamed()[requests_before:]
    assert streamed, "the LLM was never asked"
    offered_tools = streamed[0].body.get("tools") or []
    names = [t["function"]["name"] for t in offered_tools]
    assert "get_weather" in names, offered_tools
    spec = next(t for t in offered_tools if t["function"]["name"] == "get_weather")["function"]
    assert spec["parameters"]["properties"]["city"]["type"] == "string"
    tool_results = [m for r in streamed for m in r.messages if m.get("role") == "tool"]
    assert tool_results and "sunny" in str(tool_results[-1].get("content")), tool_results

    # the record: COMPLETED, logs of every turn, the recording, the metrics
    record = finished_conversation(server, job_id)
    assert record["status"] == "COMPLETED", record
    assert record["type"] == "VOICE_AGENTS" and record["processingType"] == "real-time"
    assert record["channelType"] == "Web" and record["voiceAgentId"] == agent_id
    turns = [log["payload"] for log in record["logs"] if log["payload"].get("kind") == "turn"]
    agent_said = [t["text"] for t in turns if t["role"] in ("agent", "assistant")]
    user_said = [t["text"] for t in turns if t["role"] == "user"]
    assert GREETING in agent_said and ANSWER in agent_said and WEATHER_ANSWER in agent_said
    assert len(user_said) >= 2, turns
    assert_heard(" ".join(user_said), ASKED + " " + WEATHER_ASKED)
    assert all(t["startTime"] and t["endTime"] for t in turns), turns
    tools = [log["payload"] for log in record["logs"] if log["payload"].get("kind") == "tool"]
    assert tools and "get_weather" in json.dumps(tools), record["logs"]
    assert record["callDuration"] and record["callDuration"] > 5
    assert record["performanceMetrics"], record
    assert record["mediaUrl"], record
    recording = httpx.get(record["mediaUrl"], timeout=30)
    assert recording.status_code == 200 and len(recording.content) > 16_000 * 2 * 5, \
        (recording.status_code, len(recording.content))

    # what the SDK received was speech saying the answers (transcribed by the server itself)
    spoken = read_wav_pcm16(saved)
    assert spoken.size > 16_000 * 3
    with server.client() as client:
        stt = client.post("/v1/realtime/stt", json={
            "audioBase64": base64.b64encode(wav_bytes(spoken)).decode(),
            "language": "en"})
    assert stt.status_code == 200, stt.text
    assert {"library", "morning", "sunny", "cairo"} <= words(stt.json()["text"]), stt.json()

    # call.ended reached the agent's webhook, echoing the start params
    delivered = webhook_receiver.wait_for(hook, 1, timeout=60)
    events = [d.json() for d in webhook_receiver.for_path(hook)]
    ended = wait_until(lambda: [e for e in (d.json() for d in webhook_receiver.for_path(hook))
                                if e["eventType"] == "call.ended"], 60,
                       what=lambda: f"call.ended at {hook}: {[e['eventType'] for e in events]}")
    assert delivered and ended[0]["callId"] == job_id
    assert ended[0]["data"]["data"]["outcomeResult"]["customerName"] == "Sara"

    # a finished conversation's socket is refused
    assert_refused(socket_url(server, job_id, server.key), "a finished conversation")


# --- barge-in ------------------------------------------------------------------------------


def test_speech_during_the_answer_clears_it_and_it_is_logged_interrupted(
        server, llm, sdk_folder, utterances):
    agent_id = create_agent(server, llm, interrupt=True, minInterruptionDuration=0.3)
    with NodeConversation(server.base_url, server.key, folder=sdk_folder) as conversation:
        job_id = conversation.step("start", timeout=30, agentId=agent_id)["jobId"]
        agent_speaks(conversation, conversation.wait("sdk:answerReceived", TURN_TIMEOUT))

        before = say(conversation, utterances["floors"])
        answer = conversation.wait("sdk:answerReceived", TURN_TIMEOUT,
                                   lambda r: r["text"].startswith("Our library"), after=before)
        conversation.wait("recv:media", TURN_TIMEOUT,
                          after=conversation.records.items.index(answer))
        conversation.step("sleep", ms=1000)  # the long answer is playing
        interrupting = say(conversation, utterances["library"])
        conversation.wait("recv:clear", TURN_TIMEOUT, after=interrupting)
        agent_speaks(conversation, conversation.wait(
            "sdk:answerReceived", TURN_TIMEOUT, lambda r: r["text"] == ANSWER, after=interrupting))
        conversation.step("end", timeout=20)
        seen = conversation.describe(last=200)

    record = finished_conversation(server, job_id)
    turns = [log["payload"] for log in record["logs"] if log["payload"].get("kind") == "turn"]
    long_turns = [t for t in turns if (t.get("text") or "").startswith("Our library")]
    assert long_turns and long_turns[0]["interrupted"] is True, \
        f"logs: {json.dumps([log['payload'] for log in record['logs']], indent=1)}\n{seen}"
    assert not [t for t in turns if t.get("text") == GREETING and t["interrupted"]], turns


def test_speech_over_the_greeting_interrupts_it_and_both_interruptions_are_logged(
        server, llm, sdk_folder, utterances):
    """The caller talks over the greeting, then over the next answer: each is cleared at the
    SDK and logged as an interrupted agent turn."""
    agent_id = create_agent(server, llm, interrupt=True, minInterruptionDuration=0.3)
    with NodeConversation(server.base_url, server.key, folder=sdk_folder) as conversation:
        job_id = conversation.step("start", timeout=30, agentId=agent_id)["jobId"]
        greeting = conversation.wait("sdk:answerReceived", TURN_TIMEOUT)
        conversation.wait("recv:media", TURN_TIMEOUT,
                          after=conversation.records.items.index(greeting))
        over_greeting = say(conversation, utterances["floors"])
        conversation.wait("recv:clear", TURN_TIMEOUT, after=over_greeting)
        answer = conversation.wait("sdk:answerReceived", TURN_TIMEOUT,
                                   lambda r: r["text"].startswith("Our library"),
                                   after=over_greeting)
        conversation.wait("recv:media", TURN_TIMEOUT,
                          after=conversation.records.items.index(answer))
        conversation.step("sleep", ms=1000)
        over_answer = say(conversation, utterances["library"])
        conversation.wait("recv:clear", TURN_TIMEOUT, after=over_answer)
        agent_speaks(conversation, conversation.wait(
            "sdk:answerReceived", TURN_TIMEOUT, lambda r: r["text"] == ANSWER, after=over_answer))
        conversation.step("end", timeout=20)
        seen = conversation.describe(last=200)

    record = finished_conversation(server, job_id)
    logs = [log["payload"] for log in record["logs"]]
    agent_turns = {t["text"][:11]: t["interrupted"] for t in logs
                   if t.get("kind") == "turn" and t["role"] == "agent"}
    assert agent_turns == {GREETING[:11]: True, LONG_ANSWER[:11]: True, ANSWER[:11]: False}, \
        f"logs: {json.dumps(logs, indent=1)}\n{seen}"


# --- refusals ------------------------------------------------------------------------------


def init_conversation(server, agent_id: str) -> str:
    with server.client() as client:
        response = client.post("/v1/voice-agents/conversation-init", json={
            "voiceAgentId": agent_id, "params": {}, "voiceEnablement": True, "tools": []})
    assert response.status_code == 200, response.text
    return response.json()["data"]["jobId"]


def test_a_bad_key_on_the_socket_is_an_error_then_close(server, llm):
    job_id = init_conversation(server, create_agent(server, llm))
    assert_refused(socket_url(server, job_id, "not-a-key"), "a bad api_key")
    assert get_conversation(server, job_id)["status"] == "PENDING"  # still free for its owner


def test_an_unknown_job_is_an_error_then_close(server):
    assert_refused(socket_url(server, str(uuid.uuid4()), server.key), "an unknown jobId")


def test_a_second_socket_for_one_conversation_is_refused(server, llm, sdk_folder):
    agent_id = create_agent(server, llm)
    with NodeConversation(server.base_url, server.key, folder=sdk_folder) as conversation:
        job_id = conversation.step("start", timeout=30, agentId=agent_id)["jobId"]
        conversation.wait("sdk:answerReceived", TURN_TIMEOUT)
        assert_refused(socket_url(server, job_id, server.key), "a second socket")
        assert not conversation.named("socket:close"), "the first socket was closed"
        conversation.step("end", timeout=20)


def test_a_bad_key_at_init_is_the_sdks_error(server, llm, sdk_folder):
    agent_id = create_agent(server, llm)
    with NodeConversation(server.base_url, "not-a-key", folder=sdk_folder) as conversation:
        index = conversation.send_step("start", agentId=agent_id)
        done = conversation.wait("step:done", 30, lambda r: r["index"] == index)
        assert done["ok"] is False and "jobId" in done["error"]
        assert conversation.named("sdk:error"), conversation.describe()
        assert not conversation.named("socket:open")
