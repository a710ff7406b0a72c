"""Which rate-limit class a request falls in, by its URL: the fallback for a route that does
not declare its ``RateClass`` yet (``api/deps.py``); the limiter itself is ``hams.ratelimit``."""

from __future__ import annotations

REALTIME_PREFIXES = ("/v1/realtime/", "/v1/audio/speech")  # answered now, not queued
READ_POSTS = frozenset({"/v1/jobs/all"})  # Hamsa lists jobs with a POST


def route_class(method: str, path: str) -> str:
    """``realtime`` for synthesis/recognition answered now, ``read`` for reads, else ``jobs``
    (creating jobs and uploads, cancel, delete, dictionaries)."""
    if path.startswith(REALTIME_PREFIXES):
        return "realtime"
    if method in ("GET", "HEAD") or path in READ_POSTS:
        return "read"
    return "jobs"
