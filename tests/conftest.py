"""Shared fixtures: databases (SQLite, PostgreSQL), local HTTP servers, speech, a real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from hams.runtime import Runtime, build_runtime
from hams.settings import Settings
from tests.factories import api_client
from tests.helpers.http import LocalHttpServer, WebhookReceiver
from tests.helpers.postgres import fresh_database
from tests.helpers.server import ServerProcess, start_server
from tests.helpers.speech import SPEECH_SENTENCES, synthesize_speech

pytest_plugins = ["tests.helpers.seaweedfs"]  # the `seaweedfs` fixture: one store per run
TEST_DATABASE_ENV = "HAMS_TEST_DATABASE_URL"
TEST_REDIS_ENV = "HAMS_TEST_REDIS_URL"
_STRAY = [k for k in os.environ if k.startswith("HAMS_") and not k.startswith("HAMS_TEST_")]
PG_BASE_URL = os.environ.get(TEST_DATABASE_ENV)
for _key in _STRAY:  # settings must come from the tests, never from the caller's shell
    del os.environ[_key]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    if not PG_BASE_URL:
        if os.environ.get("CI"):
            pytest.fail(f"{TEST_DATABASE_ENV} must be set in CI")
        pytest.skip(f"{TEST_DATABASE_ENV} not set")
    with fresh_database(PG_BASE_URL) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis that rate-limit tests share counters in; keys carry a per-test prefix."""
    url = os.environ.get(TEST_REDIS_ENV, "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get(TEST_REDIS_ENV):
            pytest.fail(f"{TEST_REDIS_ENV}={url} does not answer: {exc}")
        pytest.skip(f"no Redis at {url} ({TEST_REDIS_ENV} not set)")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (never FLUSHALL)."""
    prefix = f"hams-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _truncate_all(runtime: Runtime) -> None:
    with runtime.db.engine.begin() as conn:
        conn.execute(text("TRUNCATE webhook_attempts, webhook_deliveries, idempotency_keys, "
                          "uploads, jobs, api_keys, projects CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL, on empty tables."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hams.db'}"
    url = request.getfixturevalue("postgres_url")
    runtime = build_runtime(Settings(database_url=url, data_dir=tmp_path))
    _truncate_all(runtime)
    runtime.db.dispose()
    return url


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings for in-process tests: bundled tiny.en (fast, English only), local servers
    allowed, short timings."""
    values = dict(data_dir=tmp_path / "data", stt_model="bundled-tiny.en",
                  allow_private_urls=True, lease_seconds=30, retry_backoff_seconds=0.05,
                  worker_poll_seconds=0.05, webhook_backoff_seconds=0.05,
                  shutdown_grace_seconds=5)
    values.update(overrides)
    return Settings(**values)


@contextmanager
def built_runtime(tmp_path: Path, **overrides) -> Iterator[Runtime]:
    """A runtime on ``make_settings(tmp_path, **overrides)``; its connections closed after."""
    rt = build_runtime(make_settings(tmp_path, **overrides))
    try:
        yield rt
    finally:
        rt.db.dispose()


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with built_runtime(tmp_path, database_url=database_url) as rt:
        yield rt


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    with built_runtime(tmp_path) as rt:
        yield rt


@pytest.fixture
def api(runtime: Runtime) -> Iterator[TestClient]:
    """The app in process as a new project's key (``api_client``), on the test's ``runtime``:
    a module that overrides ``runtime`` gets its own settings here too."""
    with api_client(runtime) as client:
        yield client


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """English sentences spoken by the Piper voice from the offline extra, as a WAV file."""
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    synthesize_speech(SPEECH_SENTENCES, path)
    return path


@pytest.fixture(scope="session")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHttpServer]:
    server = LocalHttpServer(tmp_path_factory.mktemp("media"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `hams serve` process (SQLite, bundled tiny.en) shared by the e2e tests."""
    process = start_server(tmp_path_factory.mktemp("server"), workers=2, env={
        "HAMS_ALLOW_PRIVATE_URLS": "true",
        "HAMS_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "HAMS_WEBHOOK_MAX_ATTEMPTS": "5",
        "HAMS_RETRY_BACKOFF_SECONDS": "0.2",
        "HAMS_MEDIA_MAX_BYTES": str(8 * 1024 * 1024),
        "HAMS_STT_PRICE_PER_MINUTE": '{"Hamsa-General-V2.0": 0.6}',
    })
    yield process
    process.stop()
