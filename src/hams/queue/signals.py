"""In-process wake-ups for the queue: a new job wakes idle workers, a finished job its waiters.

Only a shortcut: processes that do not share memory (API replicas, remote workers) still find
the same facts by polling the database, just later. One ``QueueSignals`` per database engine
(``signals_for``), so two databases in one process (tests, replicas) never wake each other.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hams.db.session import Database

RECENTLY_FINISHED = 10_000


class QueueSignals:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._created = 0
        self._finished: OrderedDict[str, None] = OrderedDict()

    def work_token(self) -> int:
        """Read before looking for work; ``wait_for_work`` returns at once if it went stale."""
        with self._condition:
            return self._created

    def job_created(self) -> None:
        with self._condition:
            self._created += 1
            self._condition.notify_all()

    def wait_for_work(self, token: int, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._created != token, timeout)

    def wake_all(self) -> None:
        self.job_created()

    def job_finished(self, job_id: str) -> None:
        with self._condition:
            self._finished[job_id] = None
            while len(self._finished) > RECENTLY_FINISHED:
                self._finished.popitem(last=False)

    def finished(self, job_id: str) -> bool:
        with self._condition:
            return job_id in self._finished


_by_engine: WeakKeyDictionary[Engine, QueueSignals] = WeakKeyDictionary()
_by_engine_lock = threading.Lock()


def signals_for(source: Database | Session) -> QueueSignals:
    """The wake-ups of the database ``source`` uses (a ``Database``, or a session of one)."""
    engine = source.engine if isinstance(source, Database) else source.get_bind().engine
    with _by_engine_lock:
        signals = _by_engine.get(engine)
        if signals is None:
            signals = _by_engine[engine] = QueueSignals()
        return signals
