"""Queue wake-ups: a new job wakes idle workers, a finished job its waiters.

Only a shortcut: the same facts are always found by polling the database, just later. One
``QueueSignals`` per database engine (``signals_for``), so two databases in one process (tests,
replicas) never wake each other. Within a process the queue signals after commit; across
processes ``queue.wakeups`` carries the same two events (PostgreSQL NOTIFY, or Redis) and its
listener feeds them into this process's ``QueueSignals``, so waiters need not know where a
wake-up came from.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hams.db.session import Database

if TYPE_CHECKING:
    from hams.queue.wakeups import Publisher

RECENTLY_FINISHED = 10_000


class QueueSignals:
    def __init__(self, publisher: Publisher | None = None) -> None:
        self._condition = threading.Condition()
        self._created = 0
        self._finished: OrderedDict[str, None] = OrderedDict()
        self.publisher = publisher
        """Tells other processes (``queue.wakeups``); None: this process only."""
        self.origin = uuid.uuid4().hex[:12]
        """Marks what this engine published, so its own listener can skip the echo."""

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
    """The wake-ups of the database ``source`` uses (a ``Database``, or a session of one). On
    PostgreSQL they publish by NOTIFY unless ``queue.wakeups`` was told otherwise: a NOTIFY
    nobody listens to costs nothing, and a process that only creates jobs (an API replica)
    then wakes the workers of every other process."""
    engine = source.engine if isinstance(source, Database) else source.get_bind().engine
    with _by_engine_lock:
        signals = _by_engine.get(engine)
        if signals is None:
            signals = _by_engine[engine] = QueueSignals(_default_publisher(engine))
        return signals


def _default_publisher(engine: Engine) -> Publisher | None:
    if engine.dialect.name != "postgresql":
        return None
    from hams.queue.wakeups import PostgresPublisher

    return PostgresPublisher()
