"""A bounded pool for realtime inference: a fixed number of threads and a short waiting line.

Realtime callers are better served by a quick "busy, retry in a second" than by a queue that
grows without bound: memory, threads and latency all stay bounded. ``run`` admits a call only
while fewer than ``workers + queue`` are admitted; the rest get ``TooManyRequests``.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from hams.errors import TooManyRequests

T = TypeVar("T")


class InferencePool:
    """``await pool.run(fn, *args)`` runs ``fn`` on one of ``workers`` threads, or refuses."""

    def __init__(self, workers: int, queue: int, retry_after: float = 1.0):
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after = retry_after
        self._admitted = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def admitted(self) -> int:
        """Calls running or waiting now."""
        return self._admitted

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._admitted >= self.capacity:
                raise TooManyRequests(
                    f"The realtime speech service is busy ({self.capacity} requests in "
                    f"progress); retry in {self.retry_after:g} s, or raise "
                    "HAMS_REALTIME_POOL_SIZE / HAMS_REALTIME_QUEUE_SIZE",
                    retry_after=self.retry_after, message_key="REALTIME_BUSY")
            self._admitted += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers,
                                                    thread_name_prefix="hams-realtime")
            executor = self._executor
        try:
            future = executor.submit(functools.partial(fn, *args))
        except RuntimeError:  # shut down meanwhile
            self._release()
            raise
        # Released when the work ends, not when the caller stops waiting: a cancelled caller
        # leaves its inference running, and that still occupies the pool.
        future.add_done_callback(lambda _: self._release())
        return await asyncio.wrap_future(future)

    def _release(self, *_: object) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
