"""Paging values past a 64-bit integer are a 400 naming the field, never a database error."""

from __future__ import annotations

import pytest

HUGE = 99_999_999_999_999_999_999  # past 2**63: the database cannot take it as an offset

LIST_ROUTES = [
    ("POST", "/v1/jobs/all", "params", "skip"),
    ("POST", "/v1/jobs/all", "params", "take"),
    ("POST", "/v1/jobs/all", "json", "skip"),
    ("POST", "/v1/jobs/all", "json", "take"),
    ("GET", "/v2/jobs", "params", "page"),
    ("GET", "/v2/jobs", "params", "perPage"),
    ("GET", "/v1/tts/voices", "params", "skip"),
    ("GET", "/v1/tts/voices", "params", "take"),
    ("GET", "/v2/tts/voices", "params", "page"),
    ("GET", "/v2/tts/voices", "params", "perPage"),
    ("GET", "/v2/tts/histories", "params", "page"),
    ("GET", "/v2/tts/histories", "params", "perPage"),
    ("GET", "/v1/projects/statistics/numbers", "params", "startPeriod"),
    ("GET", "/v1/projects/statistics/chart", "params", "endPeriod"),
]


@pytest.mark.parametrize("value", [HUGE, -HUGE])
@pytest.mark.parametrize("method, path, where, field", LIST_ROUTES)
def test_huge_list_parameter_is_a_validation_error(api, method, path, where, field, value):
    response = api.request(method, path, **{where: {field: value}})
    assert response.status_code == 400, response.text
    envelope = response.json()
    assert envelope["success"] is False and envelope["messageKey"] == "VALIDATION_ERROR"
    assert [f["field"] for f in envelope["data"]] == [field]
    assert field in envelope["message"]
