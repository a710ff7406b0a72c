"""Wake-ups across processes: a job created in an API replica wakes idle workers elsewhere at
once, and a job finished by a worker wakes the long-poll waiters of every replica.

Two events on one channel, ``c <origin>`` (a job became runnable) and ``f <origin> <job id>``
(a job ended). On PostgreSQL they go by ``NOTIFY`` inside the transaction that makes them true
(PostgreSQL delivers it only on commit, and merges duplicates of one transaction); on SQLite
with REDIS_URL (replicas on one host) by Redis pub/sub after commit. One listener thread per
process and database (a LISTEN connection, or a Redis subscription) turns them back into
``QueueSignals`` events. Polling stays the safety net: a listener that loses its connection
logs it, retries with backoff, and meanwhile the queue runs at the poll interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import Session

from hams.db.session import Database, after_commit, on_dispose
from hams.queue.signals import QueueSignals, signals_for
from hams.settings import Settings

log = logging.getLogger(__name__)
CHANNEL = "hams_queue"
CREATED, FINISHED = "c", "f"
LISTEN_TIMEOUT_SECONDS = 0.5  # how soon a listener notices it was stopped
REDIS_TIMEOUT_SECONDS = 2.0
REDIS_PUBLISH_TIMEOUT_SECONDS = 0.5  # after a commit, on the request's time
REDIS_PAUSE_SECONDS = 10
PING_SECONDS = 30.0
BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 30)


class Publisher(Protocol):
    def publish(self, session: Session, message: str) -> None:
        """Send ``message`` to other processes when ``session`` commits, never on rollback."""


class PostgresPublisher:
    """NOTIFY in the caller's transaction: sent exactly when, and only if, it commits."""

    _notify = select(func.pg_notify(CHANNEL, bindparam("message", type_=String())))

    def publish(self, session: Session, message: str) -> None:
        session.execute(self._notify, {"message": message})


class RedisPublisher:
    """PUBLISH after commit; an unreachable Redis costs the wake-up, never the request: after
    a failure it is not tried again for REDIS_PAUSE_SECONDS, so a Redis that swallows packets
    delays one commit by its timeout, not every commit."""

    def __init__(self, url: str, channel: str):
        import redis

        self.channel = channel
        self.client = redis.Redis.from_url(url, socket_timeout=REDIS_PUBLISH_TIMEOUT_SECONDS,
                                           socket_connect_timeout=REDIS_PUBLISH_TIMEOUT_SECONDS)
        self._paused_until = 0.0

    def publish(self, session: Session, message: str) -> None:
        after_commit(session, lambda: self._send(message))

    def _send(self, message: str) -> None:
        import redis

        if time.monotonic() < self._paused_until:
            return  # polling covers it meanwhile
        try:
            self.client.publish(self.channel, message)
        except redis.RedisError as exc:
            self._paused_until = time.monotonic() + REDIS_PAUSE_SECONDS
            log.warning("queue wake-ups not published to Redis for %d s: %s",
                        REDIS_PAUSE_SECONDS, exc)


def publish_created(session: Session, signals: QueueSignals) -> None:
    if signals.publisher is not None:
        signals.publisher.publish(session, f"{CREATED} {signals.origin}")


def publish_finished(session: Session, signals: QueueSignals, job_id: str) -> None:
    if signals.publisher is not None:
        signals.publisher.publish(session, f"{FINISHED} {signals.origin} {job_id}")


def deliver(signals: QueueSignals, message: str) -> None:
    """Turn a message from another process into this process's signal; skip our own echo."""
    kind, _, rest = message.partition(" ")
    origin, _, job_id = rest.partition(" ")
    if origin == signals.origin:
        return
    if kind == CREATED:
        signals.job_created()
    elif kind == FINISHED and job_id:
        signals.job_finished(job_id)


class Listener:
    """One daemon thread that receives the other processes' wake-ups, reconnecting with
    backoff; after each (re)connect it wakes the workers once, for anything it missed."""

    def __init__(self, source: str, signals: QueueSignals,
                 receive: Callable[[threading.Event, Callable[[str], None]], None]):
        self.source = source
        self.signals = signals
        self._receive = receive
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.failures = 0  # losses since the last connection
        self._thread = threading.Thread(target=self._run, name="hams-queue-wakeups",
                                        daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._receive(self._stop, self._on_message)
            except Exception as exc:  # noqa: BLE001 - the queue must outlive the listener
                self.connected.clear()
                delay = BACKOFF_SECONDS[min(self.failures, len(BACKOFF_SECONDS) - 1)]
                self.failures += 1
                log.warning("queue wake-up listener lost its connection (%s); retrying in "
                            "%.1f s, polling meanwhile", exc, delay)
                self._stop.wait(delay)

    def _on_message(self, message: str) -> None:
        if message == "":  # (re)connected: whatever was sent meanwhile is lost, so look now
            log.info("queue wake-ups: listening on %s", self.source)
            self.failures = 0  # the next loss starts its backoff short again
            self.connected.set()
            self.signals.job_created()
            return
        deliver(self.signals, message)


def _postgres_receiver(url: str) -> Callable[[threading.Event, Callable[[str], None]], None]:
    def receive(stop: threading.Event, on_message: Callable[[str], None]) -> None:
        import psycopg

        # TCP keepalives and a ping now and then: a connection cut without a word (a
        # partition, a failover) is noticed and replaced, not waited on for ever
        with psycopg.connect(url, autocommit=True, connect_timeout=5, keepalives=1,
                             keepalives_idle=30, keepalives_interval=10,
                             keepalives_count=3) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            on_message("")
            pinged = time.monotonic()
            while not stop.is_set():
                for notify in conn.notifies(timeout=LISTEN_TIMEOUT_SECONDS):
                    on_message(notify.payload)
                if time.monotonic() - pinged > PING_SECONDS:
                    conn.execute("SELECT 1")
                    pinged = time.monotonic()

    return receive


def _redis_receiver(url: str, channel: str
                    ) -> Callable[[threading.Event, Callable[[str], None]], None]:
    def receive(stop: threading.Event, on_message: Callable[[str], None]) -> None:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                      health_check_interval=10)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel)
            on_message("")
            while not stop.is_set():
                message = pubsub.get_message(timeout=LISTEN_TIMEOUT_SECONDS)
                if message and message["type"] == "message":
                    data = message["data"]
                    on_message(data.decode() if isinstance(data, bytes) else data)
        finally:
            pubsub.close()
            client.close()

    return receive


_listeners: dict[int, Listener] = {}
_listeners_lock = threading.Lock()


def start_wakeups(db: Database, settings: Settings) -> Listener | None:
    """Publish and receive this database's wake-ups across processes, as the settings say:
    PostgreSQL → NOTIFY/LISTEN; SQLite with REDIS_URL → Redis; otherwise, or with
    QUEUE_NOTIFY off, this process only. Once per database; stopped when it is disposed."""
    signals = signals_for(db)
    receiver = None
    if not settings.queue_notify:
        signals.publisher = None
    elif db.dialect == "postgresql":
        signals.publisher = PostgresPublisher()
        receiver = _postgres_receiver(db.engine.url.set(drivername="postgresql")
                                      .render_as_string(hide_password=False))
        source = "PostgreSQL"
    elif settings.redis_url:
        channel = f"{settings.redis_key_prefix}{CHANNEL}"
        signals.publisher = RedisPublisher(settings.redis_url, channel)
        receiver = _redis_receiver(settings.redis_url, channel)
        source = "Redis"
    if receiver is None:
        return None
    with _listeners_lock:
        listener = _listeners.get(id(signals))
        if listener is not None and listener.alive:
            return listener
        listener = _listeners[id(signals)] = Listener(source, signals, receiver).start()

    def stop() -> None:
        with _listeners_lock:
            if _listeners.get(id(signals)) is listener:
                del _listeners[id(signals)]
        listener.stop()

    on_dispose(db, stop)
    return listener
