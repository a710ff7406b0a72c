"""Rate limits per API key: counters in the database (SQLite and PostgreSQL) and in Redis, and
the answers the app gives when a key is over its limit (Hamsa envelope, OpenAI shape, WebSocket).

The limiter's clock is fixed here, so window boundaries are exact; the e2e tests use real time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
import redis
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from hams.api.deps import RateClass, current_principal
from hams.app import create_app
from hams.db.models import Job, RateLimitCounter
from hams.errors import TooManyRequests
from hams.ratelimit import DatabaseCounters, RateLimiter, RedisCounters
from hams.runtime import Runtime
from hams.services.keys import Principal
from hams.settings import Settings
from hams.worker.runner import Worker
from tests.factories import api_client, make_key, make_principal, make_project

WINDOW_START = 1_700_000_040  # a multiple of 60: a window starts here


class Clock:
    """A settable clock for the limiter, in epoch seconds."""

    def __init__(self, now: float = WINDOW_START + 15):
        self.now = now

    def __call__(self) -> float:
        return self.now


def limited(runtime: Runtime, clock: Clock, **settings: object) -> Runtime:
    """The runtime with rate-limit settings applied and the limiter on ``clock``."""
    changed = runtime.settings.model_copy(update=settings)
    limiter = dataclasses.replace(RateLimiter.from_settings(changed, runtime.db), clock=clock)
    return dataclasses.replace(runtime, settings=changed, rate_limiter=limiter)


def refusal(limiter: RateLimiter, principal: Principal, route: str) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as caught:
        limiter.check(principal, route)
    return caught.value


def stored_counts(runtime: Runtime, key_id: str) -> dict[tuple[str, int], int]:
    """The database counters of one key (other tests' keys share the PostgreSQL table)."""
    with runtime.db.session() as session:
        rows = session.scalars(select(RateLimitCounter)
                               .where(RateLimitCounter.api_key_id == key_id)).all()
        return {(row.route_class, row.window_start): row.count for row in rows}


# --- the limiter on database counters --------------------------------------------------------


def test_database_counters_refuse_over_the_limit_until_the_next_window(runtime: Runtime):
    clock = Clock()
    limiter = limited(runtime, clock, rate_limit_per_minute=3).rate_limiter
    principal = make_principal(runtime)
    for _ in range(3):
        limiter.check(principal, "jobs")

    error = refusal(limiter, principal, "jobs")
    assert (error.status_code, error.message_key, error.retry_after) == (429, "RATE_LIMITED", 45)
    assert error.data == {"retryAfter": 45, "limit": 3, "windowSeconds": 60,
                          "routeClass": "jobs"}
    clock.now = WINDOW_START + 59.5
    assert refusal(limiter, principal, "jobs").retry_after == 1  # never 0

    clock.now = WINDOW_START + 60  # the next window
    for _ in range(3):
        limiter.check(principal, "jobs")
    refusal(limiter, principal, "jobs")
    assert stored_counts(runtime, principal.api_key_id) == {("jobs", WINDOW_START): 5,
                                      ("jobs", WINDOW_START + 60): 4}


def test_each_key_and_route_class_has_its_own_count(runtime: Runtime):
    limiter = limited(runtime, Clock(), rate_limit_per_minute=1).rate_limiter
    first, second = make_principal(runtime), make_principal(runtime)
    limiter.check(first, "jobs")
    limiter.check(first, "read")
    limiter.check(first, "realtime")
    limiter.check(second, "jobs")
    for route in ("jobs", "read", "realtime"):
        refusal(limiter, first, route)
    refusal(limiter, second, "jobs")


def test_overrides_per_route_class(runtime: Runtime):
    limiter = limited(runtime, Clock(), rate_limit_per_minute=2,
                      rate_limits={"realtime": 1, "read": 0}).rate_limiter
    principal = make_principal(runtime)
    for _ in range(20):
        limiter.check(principal, "read")  # 0: this class is not limited
    limiter.check(principal, "realtime")
    assert refusal(limiter, principal, "realtime").data["limit"] == 1
    limiter.check(principal, "jobs")
    limiter.check(principal, "jobs")
    assert refusal(limiter, principal, "jobs").data["limit"] == 2
    # unlimited: nothing written
    assert ("read", WINDOW_START) not in stored_counts(runtime, principal.api_key_id)


def test_off_by_default_and_writes_nothing(runtime: Runtime):
    principal = make_principal(runtime)
    for _ in range(50):
        runtime.rate_limiter.check(principal, "jobs")
    assert stored_counts(runtime, principal.api_key_id) == {}


def test_concurrent_increments_count_every_request_once(runtime: Runtime):
    """Four replicas' worth of threads bump one counter: each sees a distinct count."""
    counters = DatabaseCounters(runtime.db)
    key_id = make_principal(runtime).api_key_id
    seen: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def bump() -> None:
        start.wait()
        for _ in range(25):
            count = counters.increment(key_id, "jobs", WINDOW_START)
            with lock:
                seen.append(count)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(seen) == list(range(1, 101))
    assert stored_counts(runtime, key_id) == {("jobs", WINDOW_START): 100}


def test_worker_sweep_deletes_windows_long_past(runtime: Runtime):
    counters = DatabaseCounters(runtime.db)
    key_id = make_principal(runtime).api_key_id
    now = int(runtime.rate_limiter.clock())
    current = now // 60 * 60
    for window_start in (current - 3600, current - 180, current - 60, current):
        counters.increment(key_id, "jobs", window_start)
    Worker(runtime).sweep()
    assert sorted(w for _, w in stored_counts(runtime, key_id)) == [current - 60, current]


def test_api_processes_prune_old_windows_without_a_worker(runtime: Runtime):
    counters = DatabaseCounters(runtime.db, window_seconds=60)
    key_id = make_principal(runtime).api_key_id
    for window_start in (WINDOW_START - 3600, WINDOW_START - 60, WINDOW_START):
        counters.increment(key_id, "jobs", window_start)
    assert sorted(w for _, w in stored_counts(runtime, key_id)) == [WINDOW_START - 60,
                                                                   WINDOW_START]


# --- Redis -----------------------------------------------------------------------------------


def test_redis_counters_are_shared_by_replicas(runtime: Runtime, redis_url: str,
                                                redis_prefix: str):
    """Two limiters (two API replicas) on one Redis: the limit is for both together."""
    clock = Clock()
    replicas = [limited(runtime, clock, rate_limit_per_minute=4, redis_url=redis_url,
                        redis_key_prefix=redis_prefix).rate_limiter for _ in range(2)]
    assert all(isinstance(r.counters, RedisCounters) for r in replicas)
    principal = make_principal(runtime)
    for index in range(4):
        replicas[index % 2].check(principal, "jobs")
    assert refusal(replicas[0], principal, "jobs").retry_after == 45
    refusal(replicas[1], principal, "jobs")

    client = redis.Redis.from_url(redis_url)
    key = f"{redis_prefix}ratelimit:{principal.api_key_id}:jobs:{WINDOW_START}"
    assert int(client.get(key)) == 6
    assert 60 < client.ttl(key) <= 120  # gone two windows later, with no sweep
    assert stored_counts(runtime, principal.api_key_id) == {}  # nothing in the database


def test_unreachable_redis_lets_requests_through_and_says_so(
        sqlite_runtime: Runtime, caplog: pytest.LogCaptureFixture):
    closed_port = "redis://127.0.0.1:1/0"
    limiter = limited(sqlite_runtime, Clock(), rate_limit_per_minute=1,
                      redis_url=closed_port).rate_limiter
    principal = make_principal(sqlite_runtime)
    with caplog.at_level("WARNING", logger="hams.ratelimit"):
        for _ in range(5):
            limiter.check(principal, "jobs")  # fail open: no 429, no 500
    warnings = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert len(warnings) == 1  # said once, then requests pass without waiting on Redis


# --- through the app -------------------------------------------------------------------------


@pytest.fixture
def client(sqlite_runtime: Runtime) -> Iterator[TestClient]:
    runtime = limited(sqlite_runtime, Clock(), rate_limit_per_minute=2)
    with api_client(runtime) as client:
        client.runtime = runtime
        yield client


def jobs_of(runtime: Runtime, project_id: str) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(Job)
                              .where(Job.project_id == project_id))


def test_over_the_limit_is_a_429_envelope_and_creates_no_job(client: TestClient):
    body = {"voiceId": "Emma", "text": "Hello there."}
    for _ in range(2):
        assert client.post("/v1/jobs/text-to-speech", json=body).status_code == 200
    refused = client.post("/v1/jobs/text-to-speech", json=body,
                          headers={"Idempotency-Key": "retry-me-later"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert refused.json() == {
        "success": False, "messageKey": "RATE_LIMITED",
        "message": "Rate limit exceeded: 2 jobs requests per 60 s for this API key; "
                   "retry in 45 s",
        "data": {"retryAfter": 45, "limit": 2, "windowSeconds": 60, "routeClass": "jobs"}}
    assert jobs_of(client.runtime, client.project.id) == 2
    assert client.get("/v1/projects/by-api-key").status_code == 200  # reads count apart


def test_behind_a_root_path_requests_keep_their_route_class(sqlite_runtime: Runtime):
    runtime = limited(sqlite_runtime, Clock(), rate_limit_per_minute=2)
    key_id, secret = make_key(runtime, make_project(runtime))
    with TestClient(create_app(runtime.settings, runtime=runtime), root_path="/hams",
                    headers={"Authorization": f"Token {secret}"}) as client:
        client.post("/hams/v1/realtime/tts", json={"text": "Hi.", "speaker": "Emma"})
    assert {c for c, _ in stored_counts(runtime, key_id)} == {"realtime"}


def test_health_and_unauthenticated_requests_are_not_limited_by_key(client: TestClient):
    for _ in range(5):
        assert client.get("/health").status_code == 200
        assert client.get("/v1/jobs/ai-content", headers={"Authorization": "Token nope"}
                          ).status_code == 401
    assert client.get("/v1/projects/by-api-key").status_code == 200


def test_openai_routes_answer_429_in_openai_shape(client: TestClient):
    for _ in range(2):
        assert client.get("/v1/models").status_code == 200
    refused = client.get("/v1/models")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "45"
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("requests", "rate_limited")
    assert "x-should-retry" not in refused.headers  # the openai package retries after the wait


def test_websocket_counts_the_connection_and_each_request(client: TestClient):
    with client.websocket_connect("/v1/realtime/ws") as ws:  # 1st realtime request
        assert ws.receive_json()["type"] == "info"
        ws.send_json({"type": "tts", "payload": {"text": "", "speaker": "Emma"}})  # 2nd
        assert ws.receive_json()["payload"]["messageKey"] != "RATE_LIMITED"
        ws.send_json({"type": "tts", "payload": {"text": "Hi", "speaker": "Emma"}})  # 3rd
        error = ws.receive_json()
        assert error == {"type": "error", "payload": {
            "message": "Rate limit exceeded: 2 realtime requests per 60 s for this API key; "
                       "retry in 45 s", "messageKey": "RATE_LIMITED", "retryAfter": 45}}
    with client.websocket_connect("/v1/realtime/ws") as ws:  # over the limit at connect
        assert ws.receive_json()["payload"]["messageKey"] == "RATE_LIMITED"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1013


ROUTE_CLASS_CASES = [
    ("POST", "/v1/jobs/transcribe", "jobs"),
    ("POST", "/v1/media", "jobs"),
    ("POST", "/v1/audio/transcriptions", "jobs"),
    ("DELETE", "/v1/jobs/0b6c2c34-8f7d-4b6e-9a55-0d3c2b1f9e01", "jobs"),
    ("GET", "/v1/jobs", "read"),
    ("POST", "/v1/jobs/all", "read"),
    ("GET", "/v1/models", "read"),
    ("POST", "/v1/realtime/stt", "realtime"),
    ("GET", "/v1/realtime/ws", "realtime"),
    ("POST", "/v1/audio/speech", "realtime"),
]


# --- the class is the route's declaration (RateClass), not its URL ----------------------------


def dependency_calls(dependant: Dependant) -> list[object]:
    """Every dependency a route runs, nested ones included, once per declaration."""
    calls = []
    for dependency in dependant.dependencies:
        calls.append(dependency.call)
        calls.extend(dependency_calls(dependency))
    return calls


def http_routes(runtime: Runtime) -> list[RouteContext]:
    """The app's HTTP routes as served: prefixes and router dependencies applied."""
    app = create_app(runtime.settings, runtime=runtime)
    return [route for route in iter_route_contexts(app.routes)
            if isinstance(route.original_route, APIRoute)]


def declared_classes(route: RouteContext) -> list[str]:
    return [call.name for call in dependency_calls(route.dependant)
            if isinstance(call, RateClass)]


def authenticates(route: RouteContext) -> bool:
    """A route that reads the caller's key: a RateClass, or the key it found."""
    return any(isinstance(call, RateClass) or call is current_principal
               for call in dependency_calls(route.dependant))


def test_every_authenticated_route_declares_exactly_one_rate_class(sqlite_runtime: Runtime):
    routes = http_routes(sqlite_runtime)
    undeclared = {f"{sorted(route.methods)} {route.path}": declared_classes(route)
                  for route in routes if authenticates(route)
                  if len(declared_classes(route)) != 1}
    assert undeclared == {}
    assert sum(authenticates(route) for route in routes) > 20  # the check saw the routes


@pytest.mark.parametrize(("method", "path", "expected"),
                         [case for case in ROUTE_CLASS_CASES if not case[1].endswith("/ws")])
def test_declared_rate_classes_keep_the_classes_urls_gave(
        sqlite_runtime: Runtime, method: str, path: str, expected: str):
    """Declaring classes changes no request's class (the WebSocket counts its own)."""
    [route] = [route for route in http_routes(sqlite_runtime)
               if method in route.methods and route.path_regex.match(path)]
    assert declared_classes(route) == [expected]


def test_unknown_route_class_or_negative_limit_is_refused_at_start():
    with pytest.raises(ValidationError, match="unknown route class uploads"):
        Settings(rate_limits={"uploads": 5})
    with pytest.raises(ValidationError, match="0 \\(unlimited\\) or more"):
        Settings(rate_limits={"jobs": -1})
