"""A bounded pool for realtime inference: a fixed number of threads and a short waiting line.

Realtime callers are better served by a quick "busy, retry in a second" than by a queue that
grows without bound: memory, threads and latency all stay bounded. A call (``run``) or a
stream (``stream``) is admitted only while fewer than ``workers + queue`` are admitted; the
rest get ``TooManyRequests``. Speech recognition and synthesis share the pool.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from hams import metrics
from hams.errors import TooManyRequests

T = TypeVar("T")
_DONE = object()


class InferencePool:
    """``await pool.run(fn, *args)`` runs ``fn`` on one of ``workers`` threads, or refuses;
    ``async for item in pool.stream(iterator)`` pulls a blocking iterator the same way."""

    def __init__(self, workers: int, queue: int, retry_after: float = 1.0):
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after = retry_after
        self._admitted = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        metrics.realtime_capacity(self.capacity)

    @property
    def admitted(self) -> int:
        """Calls and streams running or waiting now."""
        return self._admitted

    def _admit(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._admitted >= self.capacity:
                metrics.realtime_refused()
                raise TooManyRequests(
                    f"The realtime speech service is busy ({self.capacity} requests in "
                    f"progress); retry in {self.retry_after:g} s, or raise "
                    "HAMS_REALTIME_POOL_SIZE / HAMS_REALTIME_QUEUE_SIZE",
                    retry_after=self.retry_after, message_key="REALTIME_BUSY")
            self._admitted += 1
            metrics.realtime_admitted()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers,
                                                    thread_name_prefix="hams-realtime")
            return self._executor

    def _release(self, *_: object) -> None:
        with self._lock:
            self._admitted -= 1
            metrics.realtime_released()

    def _release_after(self, future: Future | None) -> None:
        """Release when ``future`` ends, not when its caller stops waiting: a cancelled caller
        leaves its inference running, and that still occupies the pool."""
        if future is None or future.done():
            self._release()
        else:
            future.add_done_callback(self._release)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        executor = self._admit()
        future: Future | None = None
        try:
            future = executor.submit(functools.partial(fn, *args))
            return await asyncio.wrap_future(future)
        finally:
            self._release_after(future)

    async def stream(self, items: Iterator[T]) -> AsyncIterator[T]:
        """Admitted once (at the first item), then each item is made on a pool thread."""
        executor = self._admit()
        future: Future | None = None
        try:
            while True:
                future = executor.submit(next, items, _DONE)
                item = await asyncio.wrap_future(future)
                if item is _DONE:
                    return
                yield item  # type: ignore[misc]
        finally:
            self._release_after(future)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
