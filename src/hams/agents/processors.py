"""Small pieces of hams' own in a conversation's pipeline: two processors and a turn-start
strategy (``BargeInStart``, minInterruptionDuration over the agent's voice).

``ConversationControl`` (after the transport's input) acts on the SDK's control messages:
``tools_response`` answers client tool calls, ``stop`` ends the call, ``mark`` is noted, a
malformed frame gets an ``error`` event (the call goes on). ``TurnPreparation`` (between the
user's turn and the LLM) adds the knowledge base's excerpts for the user's words to the
context and holds the reply until ``responseDelay`` has passed since the user stopped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputTransportMessageFrame,
    LLMContextFrame,
    OutputTransportMessageUrgentFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start import BaseUserTurnStartStrategy

from hams.agents.tools import ClientToolBridge

KNOWLEDGE_PREFIX = "Knowledge base excerpts for the caller's last words"


class ConversationControl(FrameProcessor):
    def __init__(self, *, tools: ClientToolBridge, on_stop: Callable[[], Awaitable[None]],
                 on_mark: Callable[[str], Awaitable[None]]) -> None:
        super().__init__()
        self._tools = tools
        self._on_stop = on_stop
        self._on_mark = on_mark

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputTransportMessageFrame):
            await self.push_frame(frame, direction)
            return
        message: dict[str, Any] = frame.message
        event = message.get("event")
        if event == "tools_response":
            if not self._tools.answered(message.get("tools_response")):
                await self._error("tools_response answers no pending tool call (check id)")
        elif event == "stop":
            await self._on_stop()
        elif event == "mark":
            mark = message.get("mark")
            await self._on_mark(str(mark.get("name")) if isinstance(mark, dict) else "")
        elif event == "malformed":
            await self._error(message.get("reason") or "malformed frame")

    async def _error(self, text: str) -> None:
        """An ``error`` event, and the same as ``info`` (the SDK 0.3.1 passes only ``info`` on
        to the application)."""
        error = {"event": "error", "content": text, "messageKey": "BAD_FRAME"}
        for message in (error, {**error, "event": "info", "type": "error"}):
            await self.push_frame(OutputTransportMessageUrgentFrame(message=message))


class TurnPreparation(FrameProcessor):
    def __init__(self, *, response_delay: float,
                 excerpts: Callable[[str], Awaitable[list[str]]] | None) -> None:
        super().__init__()
        self._delay = response_delay
        self._excerpts = excerpts
        self._user_stopped = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._user_stopped = time.monotonic() - frame.stop_secs
        elif isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
            if self._excerpts is not None:
                await self._add_knowledge(frame)
            wait = self._delay - (time.monotonic() - self._user_stopped)
            if self._user_stopped and wait > 0:
                await asyncio.sleep(wait)
        await self.push_frame(frame, direction)

    async def _add_knowledge(self, frame: LLMContextFrame) -> None:
        messages = frame.context.get_messages()
        said = next((m.get("content") for m in reversed(messages)
                     if isinstance(m, dict) and m.get("role") == "user"), None)
        if not isinstance(said, str) or not said.strip():
            return
        found = await self._excerpts(said)
        # one excerpts message at a time: the last turn's goes, so the context stays bounded
        kept = [m for m in frame.context.get_messages()
                if not (isinstance(m, dict) and m.get("role") == "system"
                        and str(m.get("content", "")).startswith(KNOWLEDGE_PREFIX))]
        if found:
            kept.append({"role": "system", "content": KNOWLEDGE_PREFIX + ":\n\n"
                         + "\n\n---\n\n".join(found)})
        frame.context.set_messages(kept)


class BargeInStart(BaseUserTurnStartStrategy):
    """The caller's turn starts when the VAD hears speech; over the agent's voice, only once
    it has lasted ``minInterruptionDuration``. A short "yes" while the agent is silent is a
    turn at once; a cough over the agent's answer does not cut it."""

    def __init__(self, *, min_seconds: float, vad_start_seconds: float) -> None:
        super().__init__()
        self._wait = max(0.0, min_seconds - vad_start_seconds)
        self._bot_speaking = False
        self._pending: asyncio.Task | None = None

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
            if self._pending is not None:  # still talking, and now the agent is silent
                self._cancel()
                await self.trigger_user_turn_started()
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            if not self._bot_speaking or not self._wait:
                await self.trigger_user_turn_started()
                return ProcessFrameResult.STOP
            self._cancel()
            self._pending = asyncio.get_running_loop().create_task(self._after_wait())
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._cancel()  # too short to interrupt
        return ProcessFrameResult.CONTINUE

    async def _after_wait(self) -> None:
        await asyncio.sleep(self._wait)
        self._pending = None
        await self.trigger_user_turn_started()

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    async def handle_user_turn_started(self) -> None:
        self._cancel()  # the turn has started, by this strategy or another way
        await super().handle_user_turn_started()

    async def cleanup(self) -> None:
        self._cancel()
        await super().cleanup()
