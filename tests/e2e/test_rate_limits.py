"""Rate limits through real `hams serve` processes: over the limit a key gets 429 with
Retry-After until its window ends; two servers sharing PostgreSQL and Redis share one limit.

Windows are a few seconds long (HAMS_RATE_LIMIT_WINDOW_SECONDS), and a test starts its burst
early in a window, so that no burst straddles two.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from hams.db.models import RateLimitCounter
from hams.db.session import Database
from hams.settings import Settings
from tests.conftest import PG_BASE_URL, TEST_DATABASE_ENV
from tests.helpers.postgres import fresh_database
from tests.helpers.server import ServerProcess, start_server

PROBE = "/v1/projects/by-api-key"  # a cheap authenticated read


def start_of_window(window: int, need: float) -> None:
    """Return when at least ``need`` seconds of the current window are left (waits for the
    next window otherwise): servers and this test share the machine's clock."""
    left = window - time.time() % window
    if left < need:
        time.sleep(left + 0.05)


def assert_rate_limited(response: httpx.Response, limit: int, window: int) -> int:
    """The 429 as the issue asks: Retry-After within the window and the Hamsa envelope."""
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window
    body = response.json()
    assert body["success"] is False and body["messageKey"] == "RATE_LIMITED"
    assert body["data"] == {"retryAfter": retry_after, "limit": limit, "windowSeconds": window,
                            "routeClass": "read"}
    return retry_after


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_server(tmp_path, workers=0, env={"HAMS_RATE_LIMIT_PER_MINUTE": "3",
                                                     "HAMS_RATE_LIMIT_WINDOW_SECONDS": "3"})
    yield server
    server.stop()


def test_over_the_limit_until_the_window_ends(limited_server: ServerProcess):
    with limited_server.client() as client:
        start_of_window(3, need=2.0)
        for _ in range(3):
            assert client.get(PROBE).status_code == 200
        retry_after = assert_rate_limited(client.get(PROBE), limit=3, window=3)
        assert client.get("/health").status_code == 200  # never limited
        time.sleep(retry_after)  # waiting for the window to end, as a client would
        assert client.get(PROBE).status_code == 200


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """An empty PostgreSQL database, so the first server creates the one key both will use."""
    if not PG_BASE_URL:
        pytest.skip(f"{TEST_DATABASE_ENV} not set")
    with fresh_database(PG_BASE_URL, "hams_limits") as url:
        yield url


def test_two_servers_sharing_redis_share_the_limit(tmp_path: Path, fresh_postgres: str,
                                                   redis_url: str, redis_prefix: str):
    env = {"HAMS_DATABASE_URL": fresh_postgres, "HAMS_REDIS_URL": redis_url,
           "HAMS_REDIS_KEY_PREFIX": redis_prefix, "HAMS_RATE_LIMIT_PER_MINUTE": "4",
           "HAMS_RATE_LIMIT_WINDOW_SECONDS": "6"}
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = start_server(tmp_path / "one", workers=0, env=env)
    two = start_server(tmp_path / "two", workers=0, env=env)
    try:
        assert one.key and not two.key  # one database: the second found the default project
        with one.client() as first, two.client(one.key) as second:
            start_of_window(6, need=3.0)
            for client in (first, second, first, second):
                assert client.get(PROBE).status_code == 200
            assert_rate_limited(first.get(PROBE), limit=4, window=6)
            assert_rate_limited(second.get(PROBE), limit=4, window=6)
    finally:
        one.stop()
        two.stop()
    client = redis.Redis.from_url(redis_url)
    [key] = client.keys(f"{redis_prefix}ratelimit:*:read:*")
    assert int(client.get(key)) == 6  # both servers counted into one key
    database = Database(Settings(database_url=fresh_postgres).resolved_database_url)
    with database.session() as session:  # and nothing into the database
        assert session.scalar(select(func.count()).select_from(RateLimitCounter)) == 0
    database.dispose()
