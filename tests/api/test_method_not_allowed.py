"""A 405 says, in the Allow header and the envelope, which methods the path does take."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/v1/jobs/transcribe", ["POST"]),
    ("GET", "/v1/jobs/transcribe", ["POST"]),
    ("PUT", "/v2/jobs", ["GET", "POST"]),  # two routes on one path: both are named
    ("POST", "/v1/jobs/00000000-0000-0000-0000-000000000000", ["DELETE"]),
    ("GET", "/v1/media", ["POST"]),
    ("POST", "/health", ["GET"]),
])
def test_405_names_the_methods_the_path_takes(api, method, path, allow):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == ", ".join(allow)
    assert response.json() == {
        "success": False, "messageKey": "METHOD_NOT_ALLOWED", "data": {"allow": allow},
        "message": f"{method} is not allowed on this path; use {', '.join(allow)}"}


def test_405_on_an_openai_route_keeps_the_openai_shape(api):
    response = api.get("/v1/audio/transcriptions")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
