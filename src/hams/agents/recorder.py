"""What a conversation leaves behind, measured as it happens: the latency of each reply (an
observer of the pipeline's frames), the LLM's tokens, the agent's spoken text as ``answer``
events, and the recording of both sides (user left, agent right) written to a temporary file
second by second, so memory stays bounded however long the call, and stored when it ends.

Latency is measured from the end of the user's speech (the VAD's stop, less the silence it
waited to be sure) to the final transcript, to the LLM's first token and to the first agent
audio sent to the client — the three stages of ``performanceMetrics``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMUsageMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection

if TYPE_CHECKING:
    from hams.storage import BlobStorage

STAGES = ("endOfSpeechToTranscriptMs", "endOfSpeechToLlmFirstTokenMs",
          "endOfSpeechToFirstAudioMs")
MAX_SEEN = 4096  # frame ids remembered to count each frame once (it is pushed per hop)


class TurnObserver(BaseObserver):
    """Per-turn latency, LLM tokens, each complete LLM answer handed to ``on_answer``, and
    ``on_spoken`` called each time the agent's audio has all been sent."""

    def __init__(self, on_answer: Callable[[str], Awaitable[None]],
                 on_spoken: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self._on_spoken = on_spoken
        self.turns: list[dict[str, Any]] = []
        self.llm_tokens = 0
        self._on_answer = on_answer
        self._seen: dict[int, None] = {}
        self._speech_end: float | None = None
        self._current: dict[str, Any] | None = None
        self._answer: list[str] | None = None
        self._tasks: set[asyncio.Task] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _first_time(self, frame_id: int) -> bool:
        if frame_id in self._seen:
            return False
        self._seen[frame_id] = None
        if len(self._seen) > MAX_SEEN:
            self._seen.pop(next(iter(self._seen)))
        return True

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if data.direction == FrameDirection.UPSTREAM:  # a broadcast's sibling: seen below
            return
        if not isinstance(frame, VADUserStoppedSpeakingFrame | TranscriptionFrame
                          | LLMFullResponseStartFrame | LLMTextFrame | LLMFullResponseEndFrame
                          | BotStartedSpeakingFrame | BotStoppedSpeakingFrame | MetricsFrame):
            return
        if not self._first_time(frame.id):
            return
        now = time.monotonic()
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speech_end = now - frame.stop_secs
            self._current = {"speechEndedAt": self._speech_end}
        elif isinstance(frame, TranscriptionFrame) and self._current is not None:
            self._current.setdefault("transcriptAt", now)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._answer = []
        elif isinstance(frame, LLMTextFrame):
            if self._current is not None:
                self._current.setdefault("llmFirstTokenAt", now)
            if self._answer is not None:
                self._answer.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            text = "".join(self._answer or []).strip()
            self._answer = None
            if text:  # its own task: writing the log must not delay the timings
                self._spawn(self._on_answer(text))
        elif isinstance(frame, BotStartedSpeakingFrame) and self._current is not None:
            self._close_turn(now)
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._spawn(self._on_spoken())
        elif isinstance(frame, MetricsFrame):
            for item in frame.data:
                if isinstance(item, LLMUsageMetricsData):
                    self.llm_tokens += item.value.total_tokens or 0

    def _close_turn(self, audio_at: float) -> None:
        turn, self._current = self._current, None
        start = turn["speechEndedAt"]

        def since(key: str) -> float | None:
            return round((turn[key] - start) * 1000, 1) if key in turn else None

        self.turns.append({"endOfSpeechToTranscriptMs": since("transcriptAt"),
                           "endOfSpeechToLlmFirstTokenMs": since("llmFirstTokenAt"),
                           "endOfSpeechToFirstAudioMs": round((audio_at - start) * 1000, 1)})

    def performance_metrics(self) -> dict[str, Any]:
        average = {}
        for stage in STAGES:
            values = [t[stage] for t in self.turns if t.get(stage) is not None]
            average[stage] = round(statistics.fmean(values), 1) if values else None
        return {"turns": self.turns, "average": average, "turnCount": len(self.turns)}


class RecordingWriter:
    """Both sides of the call as a 16 kHz stereo PCM16 WAV, appended as audio arrives to a
    temporary file (the system's, never the data directory) and stored under ``key`` when
    the call ends; the temporary file is removed either way."""

    def __init__(self, storage: BlobStorage, key: str) -> None:
        self.storage = storage
        self.key = key
        self._path: Path | None = None
        self._file: wave.Wave_write | None = None
        self.closed = False

    def append(self, audio: bytes, sample_rate: int, channels: int) -> None:
        if not audio or self.closed:
            return
        if self._file is None:
            fd, name = tempfile.mkstemp(prefix="hams-recording-", suffix=".wav")
            os.close(fd)
            self._path = Path(name)
            self._file = wave.open(name, "wb")  # noqa: SIM115 - open for the call
            self._file.setnchannels(channels)
            self._file.setsampwidth(2)
            self._file.setframerate(sample_rate)
        self._file.writeframes(audio)

    def stop(self) -> None:
        """No more audio: call it on the event loop before ``close`` runs in a thread, so no
        ``append`` writes to the file while it is being closed."""
        self.closed = True

    def close(self) -> bool:
        """Store what was recorded (blocking: call it off the event loop); True when
        something was."""
        self.closed = True
        if self._file is None or self._path is None:
            return False
        try:
            self._file.close()
            self.storage.write_file(self.key, self._path)
        finally:
            self._file = None
            self._path.unlink(missing_ok=True)
        return True
