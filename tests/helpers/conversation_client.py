"""A client of the voice SDK's socket written from its protocol (spec hamsa-clients §1b), for
tests that need exact control of what is sent and when (pokes, limits, malformed frames,
restarts). The real SDK is driven in tests/e2e/test_voice_sdk.py; this speaks the same frames.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

FRAME_SAMPLES = 128  # the SDK's worklet posts one render quantum: 8 ms at 16 kHz


@dataclass
class SdkSocket:
    url: str
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    media_bytes: int = 0
    closed: tuple[int | None, str] | None = None

    async def __aenter__(self) -> SdkSocket:
        self.ws = await websockets.connect(self.url, max_size=None)
        self.started = time.monotonic()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("event") == "media":
                    self.media_bytes += len(base64.b64decode(message["media"]["payload"]))
                self.events.append((time.monotonic() - self.started, message))
        except websockets.ConnectionClosed:
            pass
        self.closed = (self.ws.close_code, self.ws.close_reason or "")

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def start(self) -> None:
        await self.send({"event": "start", "streamSid": "WEBSDK"})

    async def speak(self, samples: np.ndarray, *, pace: float = 1.0) -> None:
        """16 kHz float samples as the SDK sends its microphone: one frame per 8 ms."""
        began = time.monotonic()
        for index, start in enumerate(range(0, len(samples), FRAME_SAMPLES)):
            chunk = samples[start:start + FRAME_SAMPLES].astype("<f4").tobytes()
            await self.send({"event": "media", "streamSid": "WEBSDK",
                             "media": {"payload": base64.b64encode(chunk).decode()}})
            wait = began + (index + 1) * FRAME_SAMPLES / 16_000 / pace - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

    async def silence(self, seconds: float) -> None:
        await self.speak(np.zeros(int(seconds * 16_000), dtype=np.float32))

    def of(self, event: str) -> list[dict[str, Any]]:
        return [m for _, m in self.events if m.get("event") == event]

    async def wait_for(self, event: str, timeout: float, *, count: int = 1,
                       keep_talking: bool = False) -> list[dict[str, Any]]:
        """Wait for ``count`` messages of ``event``; with ``keep_talking``, send silence
        meanwhile, as an open microphone does."""
        deadline = time.monotonic() + timeout
        while len(self.of(event)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event} within {timeout} s; got "
                                     f"{[m.get('event') for _, m in self.events]}")
            if self.closed and event != "closed":
                raise AssertionError(f"socket closed {self.closed} before {event}; got "
                                     f"{[m for _, m in self.events if m['event'] != 'media']}")
            if keep_talking:
                await self.silence(0.2)
            else:
                await asyncio.sleep(0.05)
        return self.of(event)

    async def wait_closed(self, timeout: float, *, keep_talking: bool = False) -> tuple:
        deadline = time.monotonic() + timeout
        while self.closed is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the socket stayed open for {timeout} s")
            if keep_talking:
                try:
                    await self.silence(0.2)
                except websockets.ConnectionClosed:
                    await asyncio.sleep(0.05)
            else:
                await asyncio.sleep(0.05)
        return self.closed
