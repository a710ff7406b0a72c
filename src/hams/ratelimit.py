"""Per-API-key rate limits: fixed windows counted in the database, or in Redis when configured.

The mechanism only: which class a route belongs to is the route's own declaration (the
``RateClass`` dependency in ``api/deps.py``). Every authenticated request counts once in its
class; a request that makes the count pass the class's limit is refused with 429
``RATE_LIMITED`` and a Retry-After reaching the end of the window. The refusal comes before
the handler runs, so a refused request never creates a job. Counters live where every API
replica sees them: the ``rate_limit_counters`` table (one short upsert per request) or Redis
(INCR + EXPIRE in one MULTI). An unreachable Redis lets requests through (logged): the limit
protects the server, it must not become an outage.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hams.db.models import RateLimitCounter
from hams.db.session import Database
from hams.errors import TooManyRequests
from hams.settings import ROUTE_CLASSES, Settings

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5
REDIS_RETRY_SECONDS = 5.0  # after a failure, let requests through without asking Redis
counters_table = RateLimitCounter.__table__


class Caller(Protocol):
    """Whom a request counts for: an authenticated key (``services.keys.Principal``)."""

    @property
    def api_key_id(self) -> str: ...


class Counters(Protocol):
    """Where counts are kept; ``None`` means "cannot count right now" (the request passes)."""

    def increment(self, api_key_id: str, route_class: str, window_start: int,
                  session: Session | None = None) -> int | None: ...


class DatabaseCounters:
    """One row per key, class and window in ``rate_limit_counters``, bumped atomically.

    With ``window_seconds``, the first request of each new window (per process) also deletes
    the windows before the last one, so an API-only deployment (no worker sweeping) keeps the
    table small too.
    """

    def __init__(self, db: Database, window_seconds: int | None = None):
        self.db = db
        self.window_seconds = window_seconds
        self._pruned_window: int | None = None
        self._insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert

    def increment(self, api_key_id: str, route_class: str, window_start: int,
                  session: Session | None = None) -> int:
        """Count in ``session`` when the caller has one open (authentication's), else in a
        transaction of its own: on SQLite each transaction is one more turn at the write lock."""
        if session is not None:
            return self._increment(session, api_key_id, route_class, window_start)
        with self.db.session() as own:
            return self._increment(own, api_key_id, route_class, window_start)

    def _increment(self, session: Session, api_key_id: str, route_class: str,
                   window_start: int) -> int:
        statement = self._insert(counters_table).values(
            api_key_id=api_key_id, route_class=route_class, window_start=window_start, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=["api_key_id", "route_class", "window_start"],
            set_={"count": counters_table.c.count + 1},
        ).returning(counters_table.c.count)
        if self.window_seconds and window_start != self._pruned_window:
            self._pruned_window = window_start
            delete_old_counters(session, before=window_start - self.window_seconds)
        return session.execute(statement).scalar_one()


class RedisCounters:
    """One Redis key per key, class and window, expiring after two windows."""

    def __init__(self, url: str, prefix: str, window_seconds: int):
        self.client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self.prefix = prefix
        self.ttl = 2 * window_seconds
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def key(self, api_key_id: str, route_class: str, window_start: int) -> str:
        return f"{self.prefix}ratelimit:{api_key_id}:{route_class}:{window_start}"

    def increment(self, api_key_id: str, route_class: str, window_start: int,
                  session: Session | None = None) -> int | None:
        """``session`` is not used: Redis counts outside the database."""
        if time.monotonic() < self._skip_until:
            return None
        key = self.key(api_key_id, route_class, window_start)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                count, _ = pipe.incr(key).expire(key, self.ttl).execute()
        except redis.RedisError as exc:
            self._back_off(exc)
            return None
        return int(count)

    def _back_off(self, exc: Exception) -> None:
        """Fail open, and for a few seconds do not make every request wait on a dead Redis."""
        with self._lock:
            if time.monotonic() < self._skip_until:
                return
            self._skip_until = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning("rate limits not enforced: Redis is unreachable (%s); requests pass "
                    "until it answers again", exc)


@dataclass(frozen=True)
class RateLimiter:
    """The limit of each route class and the counters that enforce them."""

    limits: dict[str, int]  # 0 = not limited
    window_seconds: int
    counters: Counters
    clock: Callable[[], float] = time.time  # epoch seconds; every replica's must agree (NTP)

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> RateLimiter:
        counters: Counters = (
            RedisCounters(settings.redis_url, settings.redis_key_prefix,
                          settings.rate_limit_window_seconds)
            if settings.redis_url else DatabaseCounters(db, settings.rate_limit_window_seconds))
        limits = {name: settings.rate_limits.get(name, settings.rate_limit_per_minute)
                  for name in ROUTE_CLASSES}
        return cls(limits, settings.rate_limit_window_seconds, counters)

    def check(self, principal: Caller, route_class: str) -> None:
        """Count one request of ``principal``'s key; TooManyRequests once over the limit."""
        refusal = self.count(principal, route_class)
        if refusal is not None:
            raise refusal

    def count(self, principal: Caller, route_class: str,
              session: Session | None = None) -> TooManyRequests | None:
        """Count one request (in ``session`` if given, with database counters); the refusal
        to raise once over the limit, returned so that the caller's transaction, and the
        count in it, can commit first."""
        limit = self.limits.get(route_class, 0)
        if not limit:
            return None
        now = self.clock()
        window_start = int(now) // self.window_seconds * self.window_seconds
        count = self.counters.increment(principal.api_key_id, route_class, window_start,
                                        session)
        if count is None or count <= limit:
            return None
        retry_after = max(1, math.ceil(window_start + self.window_seconds - now))
        error = TooManyRequests(
            f"Rate limit exceeded: {limit} {route_class} requests per {self.window_seconds} s "
            f"for this API key; retry in {retry_after} s",
            retry_after=retry_after, message_key="RATE_LIMITED")
        error.data.update(limit=limit, windowSeconds=self.window_seconds,
                          routeClass=route_class)
        return error


def delete_old_counters(session: Session, before: int) -> int:
    """Drop database counters of windows that started before ``before`` (epoch seconds)."""
    result = session.execute(delete(counters_table).where(
        counters_table.c.window_start < before))
    return result.rowcount
