"""Concurrent calls that can share work, gathered into batches: one decode serves them all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(eq=False)
class _Call:
    key: Hashable
    item: Any
    weight: float
    arrived: float
    done: bool = False
    result: Any = None
    error: BaseException | None = None


class Batcher:
    """Gathers concurrent calls with the same key and runs them as one batch.

    The first caller waits at most ``wait_seconds`` for others (less once ``capacity`` is
    reached); calls that arrive while a batch runs are taken by the next one without waiting,
    since they have already waited. Whichever caller is free runs the next batch, so there is
    no thread of its own to start or stop. One batch runs at a time: on a CPU two would only
    share its cores, on a GPU one bigger batch is what makes it fast.
    """

    def __init__(self, run: Callable[[Sequence[Any]], list[Any]], *, capacity: float,
                 wait_seconds: float):
        self._run = run
        self.capacity = capacity
        self.wait_seconds = wait_seconds
        self._pending: list[_Call] = []
        self._running = False
        self._cond = threading.Condition()
        self.batches_run = 0  # for tests

    def submit(self, key: Hashable, item: Any, weight: float = 1.0) -> Any:
        """``run``'s result for ``item``, decoded with others of the same ``key`` whose
        weights (with this one's) fit ``capacity``; a call heavier than that runs alone."""
        call = _Call(key, item, weight, time.monotonic())
        with self._cond:
            self._pending.append(call)
            self._cond.notify_all()
            while not call.done:
                if self._running:
                    self._cond.wait()
                    continue
                batch, wait = self._next_batch()
                if not batch:
                    self._cond.wait(timeout=wait)
                    continue
                self._running = True
                self.batches_run += 1
                self._cond.release()
                try:
                    self._run_batch(batch)
                finally:
                    self._cond.acquire()
                    self._running = False
                    self._cond.notify_all()
        if call.error is not None:
            raise call.error
        return call.result

    def _next_batch(self) -> tuple[list[_Call], float]:
        """The oldest call's group, once it is full or has waited enough; else how long to
        wait. Calls of other keys keep their place for the batch after."""
        oldest = self._pending[0]
        batch, load = [], 0.0
        for call in self._pending:
            if call.key != oldest.key:
                continue
            if batch and load + call.weight > self.capacity:
                break
            batch.append(call)
            load += call.weight
        full = load >= self.capacity or len(batch) < sum(
            1 for c in self._pending if c.key == oldest.key)
        left = oldest.arrived + self.wait_seconds - time.monotonic()
        if not full and left > 0:
            return [], left
        for call in batch:
            self._pending.remove(call)
        return batch, 0.0

    def _run_batch(self, batch: list[_Call]) -> None:
        """Runs outside the lock; a failed batch is retried one call at a time, so one bad
        input fails only its own caller."""
        try:
            results = self._run([call.item for call in batch])
        except Exception as exc:  # noqa: BLE001 - told to each caller, or retried alone
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for call in batch:
                    self._run_batch([call])
            results = None
        if results is not None:
            for call, result in zip(batch, results, strict=True):
                call.result = result
        for call in batch:
            call.done = True
