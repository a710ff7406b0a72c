"""Two small processors of hams' own in a conversation's pipeline.

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
    Frame,
    InputTransportMessageFrame,
    LLMContextFrame,
    OutputTransportMessageUrgentFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

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
        await self.push_frame(OutputTransportMessageUrgentFrame(message={
            "event": "error", "content": text, "messageKey": "BAD_FRAME"}))


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
        if found:
            frame.context.add_message({"role": "system", "content": KNOWLEDGE_PREFIX + ":\n\n"
                                       + "\n\n---\n\n".join(found)})
