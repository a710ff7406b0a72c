"""hams' own processors in a conversation's pipeline, run through Pipecat's test harness:
the knowledge base's excerpts join the context before the LLM runs, the reply is held until
``responseDelay`` after the end of speech, and the SDK's control messages are acted on."""

from __future__ import annotations

import asyncio
import time

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    InputTransportMessageFrame,
    LLMContextFrame,
    OutputTransportMessageUrgentFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.tests.utils import run_test

from hams.agents.processors import (
    KNOWLEDGE_PREFIX,
    BargeInStart,
    ConversationControl,
    TurnPreparation,
)
from hams.agents.tools import ClientToolBridge


def test_knowledge_joins_the_context_and_the_reply_waits_for_the_response_delay():
    asked: list[str] = []

    async def excerpts(text: str) -> list[str]:
        asked.append(text)
        return ["The desk opens at nine.", "It closes at five."]

    context = LLMContext([{"role": "user", "content": "When do you open?"}])

    async def scenario() -> float:
        began = time.monotonic()
        preparation = TurnPreparation(response_delay=0.4, excerpts=excerpts)
        await run_test(preparation, frames_to_send=[
            VADUserStoppedSpeakingFrame(stop_secs=0.0), LLMContextFrame(context)],
            expected_down_frames=[VADUserStoppedSpeakingFrame, LLMContextFrame])
        return time.monotonic() - began

    assert asyncio.run(scenario()) >= 0.4
    assert asked == ["When do you open?"]
    added = context.get_messages()[-1]
    assert added["role"] == "system" and added["content"].startswith(KNOWLEDGE_PREFIX)
    assert "opens at nine" in added["content"] and "closes at five" in added["content"]
    # the next turn's excerpts replace these: the context does not grow turn by turn
    context.add_message({"role": "user", "content": "And on Friday?"})
    asyncio.run(scenario())
    excerpt_messages = [m for m in context.get_messages() if m["role"] == "system"]
    assert len(excerpt_messages) == 1 and asked[-1] == "And on Friday?"


def test_control_messages_are_acted_on_and_bad_frames_answered():
    stopped, marks = [], []

    async def on_stop() -> None:
        stopped.append(True)

    async def on_mark(name: str) -> None:
        marks.append(name)

    control = ConversationControl(tools=ClientToolBridge(1.0), on_stop=on_stop,
                                  on_mark=on_mark)
    down, up = asyncio.run(run_test(control, frames_to_send=[
        InputTransportMessageFrame(message={"event": "mark", "mark": {"name": "turn-1"}}),
        InputTransportMessageFrame(message={"event": "tools_response", "tools_response": [
            {"id": "call_unknown", "function": {"name": "x", "response": "y"}}]}),
        InputTransportMessageFrame(message={"event": "malformed", "reason": "not JSON"}),
        InputTransportMessageFrame(message={"event": "stop"})],
        expected_down_frames=[OutputTransportMessageUrgentFrame] * 4))
    assert stopped == [True] and marks == ["turn-1"]
    sent = [frame.message for frame in down]
    assert sent[0]["event"] == "error" and "no pending tool call" in sent[0]["content"]
    # the same as info, which the SDK 0.3.1 hands to the application
    assert sent[1] == {**sent[0], "event": "info", "type": "error"}
    assert sent[2] == {"event": "error", "content": "not JSON", "messageKey": "BAD_FRAME"}


def test_speech_starts_a_turn_at_once_but_must_last_to_cut_the_agent():
    async def scenario() -> list[str]:
        started: list[str] = []
        strategy = BargeInStart(min_seconds=0.5, vad_start_seconds=0.2)

        async def on_started(*_: object, **__: object) -> None:
            started.append("turn")

        strategy.add_event_handler("on_user_turn_started", on_started)
        await strategy.process_frame(VADUserStartedSpeakingFrame())  # the agent is silent
        assert started == ["turn"]
        await strategy.process_frame(BotStartedSpeakingFrame())
        await strategy.process_frame(VADUserStartedSpeakingFrame())  # a cough over the agent
        await asyncio.sleep(0.1)
        await strategy.process_frame(VADUserStoppedSpeakingFrame())
        await asyncio.sleep(0.4)
        assert started == ["turn"]
        await strategy.process_frame(VADUserStartedSpeakingFrame())  # speech that lasts
        await asyncio.sleep(0.45)
        return started

    assert asyncio.run(scenario()) == ["turn", "turn"]
