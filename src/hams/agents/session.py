"""One live conversation from the socket's opening to its record's end, and the per-process
host that holds the live ones (capacity, leases, terminate requests from any replica).

The conversation ends once, by the first of: the SDK's ``stop`` or hang-up (COMPLETED), the
agent's ``end_call`` (COMPLETED), the caller silent after every poke (COMPLETED), the terminate
route or ``maxCallDuration`` (TERMINATED), or an error (FAILED). Whatever ends it, the
recording, the metrics and the usage are written in one transaction with the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import WebSocket
from pipecat.frames.frames import (
    LLMRunFrame,
    OutputTransportMessageUrgentFrame,
    TTSSpeakFrame,
)
from pipecat.workers.runner import WorkerRunner
from starlette.concurrency import run_in_threadpool

from hams.agents.pipeline import (
    AgentPipeline,
    Engines,
    build_pipeline,
    make_analyzers,
)
from hams.agents.recorder import RecordingWriter
from hams.agents.tools import ClientToolBridge, ToolCallRecord, ToolKit, knowledge_excerpts
from hams.db.models import utcnow
from hams.db.session import Database
from hams.sealing import SecretBox
from hams.services import conversations
from hams.services.conversations import ConversationEnd, LogEntry, Usage
from hams.services.keys import Principal
from hams.services.knowledge_search import EmbedderSource
from hams.services.live_conversations import LiveStart, log_and_notify
from hams.storage import BlobStorage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    """The per-process parts a conversation needs, unpacked from the Runtime at the edge."""

    db: Database
    storage: BlobStorage
    secrets: SecretBox
    embedder: EmbedderSource
    engines: Engines


@dataclass
class Outcome:
    status: str | None = None
    reason: str = ""


class LiveConversation:
    def __init__(self, websocket: WebSocket, principal: Principal, start: LiveStart,
                 parts: Parts) -> None:
        self.ws = websocket
        self.principal = principal
        self.job_id = start.job.id
        self.plan = start.plan
        self.start = start
        self.parts = parts
        self.outcome = Outcome()
        self.started = time.monotonic()
        self.started_at = utcnow()
        self.lines: list[str] = []
        self.pokes_used = 0
        self.marks_sent = self.marks_played = 0
        self.unlogged_answer: str | None = None
        self.finished = False
        self._log_lock = asyncio.Lock()  # entries written one at a time, in order
        self.pipeline: AgentPipeline | None = None
        self.recording = RecordingWriter(parts.storage, self.recording_key)
        self._ending = asyncio.Event()

    @property
    def recording_key(self) -> str:
        return f"jobs/{self.job_id}/recording.wav"

    # ---- running -----------------------------------------------------------------------

    async def run(self) -> None:
        kit = ToolKit(db=self.parts.db, principal=self.principal,
                      settings=self.parts.engines.settings, secrets=self.parts.secrets,
                      embedder=self.parts.embedder, log=self._tool_called,
                      client=ClientToolBridge(self.parts.engines.settings.agent_tool_timeout_seconds),
                      end_call=self._agent_ended,
                      say=functools.partial(self.say, remember=False))
        items = self.plan.knowledge_item_ids
        excerpts = None
        if items and not self.plan.agentic_rag:
            async def excerpts(text: str) -> list[str]:
                return await knowledge_excerpts(kit, text, items)
        limit = asyncio.create_task(self._limit_duration())
        try:
            analyzers = await run_in_threadpool(make_analyzers, self.plan)
            self.pipeline = p = build_pipeline(
                self.ws, self.plan, self.parts.engines, analyzers=analyzers,
                web_tools=self.start.web_tools, replacements=self.start.replacements, kit=kit,
                on_stop=self._client_stopped, on_mark=self._mark, on_answer=self._answered,
                on_spoken=self._spoken, excerpts=excerpts)
            self._handlers(p)
            runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
            await runner.add_workers(p.worker)
            await runner.run()
        except Exception as exc:  # noqa: BLE001 - a broken pipeline fails the call, recorded
            log.exception("conversation %s failed", self.job_id)
            self._decide("FAILED", f"The conversation failed: {type(exc).__name__}: {exc}")
        finally:
            limit.cancel()
            kit.client.cancel_all()
            await self._finish()

    def _handlers(self, p: AgentPipeline) -> None:
        @p.worker.event_handler("on_pipeline_error")
        async def failed(worker: Any, frame: Any) -> None:
            if getattr(frame, "fatal", False):
                await self.end("FAILED", f"The conversation failed: {frame.error}")
            else:  # a turn lost (an engine or the LLM failed once); the call goes on
                log.warning("conversation %s: %s", self.job_id, frame.error)
                await self.send({"event": "info", "type": "warning",
                                 "content": str(frame.error)[:500]})

        @p.worker.event_handler("on_pipeline_timeout")
        async def stuck(worker: Any, frame: Any) -> None:
            self._decide("FAILED", f"The pipeline did not finish ({type(frame).__name__})")

        @p.transport.event_handler("on_client_connected")
        async def connected(transport: Any, client: Any) -> None:
            await p.audio.start_recording()
            await self._greet()

        @p.transport.event_handler("on_client_disconnected")
        async def disconnected(transport: Any, client: Any) -> None:
            await self.end("COMPLETED", "The caller hung up")

        @p.user.event_handler("on_user_turn_stopped")
        async def user_said(aggregator: Any, strategy: Any, message: Any) -> None:
            text = (message.content or "").strip()
            if not text:
                return
            self.lines.append(f"User: {text}")
            await self.send({"event": "transcription", "content": text})
            await self._log(LogEntry(kind="turn", role="user", text=text,
                                     started_at=_parsed(message.timestamp), ended_at=utcnow()))

        @p.assistant.event_handler("on_assistant_turn_stopped")
        async def agent_said(aggregator: Any, message: Any) -> None:
            # what was spoken; cut before its first sentence was heard, what it was saying
            text = (message.content or "").strip() or (
                self.unlogged_answer if message.interrupted else "") or ""
            self.unlogged_answer = None
            if text:
                await self._agent_turn(text, bool(message.interrupted),
                                       _parsed(message.timestamp))

        @p.user.event_handler("on_user_turn_idle")
        async def idle(aggregator: Any) -> None:
            await self._poke()

        @p.audio.event_handler("on_audio_data")
        async def recorded(processor: Any, audio: bytes, sample_rate: int,
                           channels: int) -> None:
            self.recording.append(audio, sample_rate, channels)

    async def _greet(self) -> None:
        plan = self.plan
        if plan.wait_for_user or not plan.greeting:
            return
        assert self.pipeline is not None
        if plan.greeting_is_prompt:
            self.pipeline.context.add_message({"role": "system", "content": (
                f"Open the call now, following this instruction: {plan.greeting}")})
            await self.pipeline.worker.queue_frame(LLMRunFrame())
        else:
            await self.say(plan.greeting)

    async def say(self, text: str, *, remember: bool = True) -> None:
        """Speak ``text`` as the agent (greeting, pokes, a web tool's messages), shown as an
        ``answer`` event; ``remember`` adds it to the LLM's context (a tool's message is
        not: it would split the tool call from its result)."""
        assert self.pipeline is not None
        if remember:
            await self._expect_turn(text)
        await self.send({"event": "answer", "content": text})
        await self.pipeline.worker.queue_frame(TTSSpeakFrame(text, append_to_context=remember))

    async def send(self, message: dict[str, Any]) -> None:
        if self.pipeline is not None and not self.finished:
            await self.pipeline.worker.queue_frame(OutputTransportMessageUrgentFrame(
                message=message))

    async def _answered(self, text: str) -> None:
        await self._expect_turn(text)
        await self.send({"event": "answer", "content": text})

    async def _expect_turn(self, text: str) -> None:
        """The agent is about to say ``text``: logged when its turn ends, or, if Pipecat never
        ends that turn (cut before a word was heard), as interrupted once the next begins."""
        if self.unlogged_answer:
            await self._agent_turn(self.unlogged_answer, True, None)
        self.unlogged_answer = text

    async def _agent_turn(self, text: str, interrupted: bool, started_at: datetime | None
                          ) -> None:
        self.lines.append(f"Agent: {text}")
        await self._log(LogEntry(kind="turn", role="agent", text=text, started_at=started_at,
                                 ended_at=utcnow(), interrupted=interrupted))

    async def _spoken(self) -> None:
        """The agent's audio has all been sent: a ``mark`` the SDK echoes once it played."""
        self.marks_sent += 1
        await self.send({"event": "mark", "streamSid": "WEBSDK",
                         "mark": {"name": f"agent-{self.marks_sent}"}})

    async def _mark(self, name: str) -> None:
        """The SDK played the agent's audio up to the mark ``name``."""
        if name.startswith("agent-"):
            self.marks_played += 1

    async def _poke(self) -> None:
        if self.pokes_used < len(self.plan.poke_messages):
            message = self.plan.poke_messages[self.pokes_used]
            self.pokes_used += 1
            await self._log(LogEntry(kind="event", role="agent", text=message,
                                     payload={"event": "poke", "number": self.pokes_used}))
            await self.say(message)
        else:
            await self.end("COMPLETED", f"The caller was silent for "
                           f"{self.plan.inactivity_seconds:g} s after every poke message")

    async def _limit_duration(self) -> None:
        if self.plan.max_duration_seconds <= 0:
            return
        await asyncio.sleep(self.plan.max_duration_seconds)
        await self.end("TERMINATED",
                       f"maxCallDuration ({self.plan.max_duration_seconds:g} s) reached")

    async def _client_stopped(self) -> None:
        await self.end("COMPLETED", "The caller ended the call")

    async def _agent_ended(self) -> None:
        """``end_call``: the goodbye already queued plays out, then the pipeline ends."""
        self._decide("COMPLETED", "The agent ended the call (smartCallEnd)")

    async def _tool_called(self, record: ToolCallRecord) -> None:
        await self._log(LogEntry(kind="tool", role="tool", text=record.name, payload={
            "toolType": record.kind, "name": record.name, "arguments": record.arguments,
            "result": record.result, "durationMs": record.duration_ms,
            "error": record.error}))

    # ---- ending --------------------------------------------------------------------------

    def _decide(self, status: str, reason: str) -> bool:
        if self.outcome.status is not None:
            return False
        self.outcome = Outcome(status, reason)
        return True

    async def end(self, status: str, reason: str) -> None:
        """End the call now (hang-up, stop, terminate, time limit, silence)."""
        if not self._decide(status, reason) or self.pipeline is None:
            return
        await self.pipeline.audio.stop_recording()
        await self.pipeline.worker.cancel(reason=reason)

    async def _finish(self) -> None:
        self.finished = True
        if self.outcome.status is None:
            self._decide("COMPLETED", "The conversation ended")
        p = self.pipeline
        with contextlib.suppress(Exception):
            if p is not None:
                await p.audio.stop_recording()
        try:
            self.recording.stop()
            recorded = await run_in_threadpool(self.recording.close)  # an upload, on S3
        except Exception:  # noqa: BLE001 - the call's end is recorded, without its audio
            log.exception("conversation %s: its recording could not be stored", self.job_id)
            recorded = False
        if self.unlogged_answer:  # the call ended while the agent was still saying it
            await self._agent_turn(self.unlogged_answer, True, None)
            self.unlogged_answer = None
        metrics = p.observer.performance_metrics() if p else {}
        if p is not None:
            metrics["sttMs"] = _average(p.usage.stt_latencies_ms)
            metrics["ttsFirstAudioMs"] = _average(p.usage.tts_first_audio_ms)
            metrics["agentUtterances"] = self.marks_sent
            metrics["agentUtterancesPlayed"] = self.marks_played  # marks the SDK echoed
        usage = Usage(stt_model=p.stt_model if p else None,
                      stt_seconds=p.usage.stt_seconds if p else 0.0,
                      tts_model=p.tts_model if p else None,
                      tts_characters=p.usage.tts_characters if p else 0,
                      llm_model=self.plan.llm.model,
                      llm_tokens=p.observer.llm_tokens if p else 0)
        end = ConversationEnd(status=self.outcome.status, reason=self.outcome.reason,
                              call_duration=time.monotonic() - self.started,
                              transcript="\n".join(self.lines), performance_metrics=metrics,
                              usage=usage, recording_key=self.recording_key if recorded
                              else None)
        try:
            await run_in_threadpool(self._write_end, end)
        except Exception:  # noqa: BLE001 - the sweep fails it later; never lose the socket
            log.exception("conversation %s: its end could not be recorded", self.job_id)
        with contextlib.suppress(Exception):
            await self.ws.close(code=1000)

    def _write_end(self, end: ConversationEnd) -> None:
        with self.parts.db.session() as session:
            conversations.end_conversation(session, self.job_id, end,
                                           settings=self.parts.engines.settings)

    async def _log(self, entry: LogEntry) -> None:
        try:
            async with self._log_lock:
                await run_in_threadpool(log_and_notify, self.parts.db, self.job_id, entry)
        except Exception:  # noqa: BLE001 - a log line lost must not end the call
            log.exception("conversation %s: a log entry could not be written", self.job_id)


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _parsed(timestamp: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(timestamp) if timestamp else None
    except ValueError:
        return None
