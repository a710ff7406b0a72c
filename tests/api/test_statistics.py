"""Statistics routes on SQLite and PostgreSQL: shapes, periods, buckets, the caller's project.

Ledger rows are written with known times, so every figure and every bucket is exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hams.db.models import UsageRecord
from hams.runtime import Runtime
from hams.services import statistics
from tests.factories import api_client, make_principal

NUMBERS = "/v1/projects/statistics/numbers"
CHART = "/v1/projects/statistics/chart"
DAY = datetime(2025, 3, 10, tzinfo=UTC)


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def add(runtime: Runtime, project_id: str, at: datetime, kind: str, *, seconds: float = 0.0,
        characters: int = 0, tokens: int = 0, cost: float = 0.0, job_id: str | None = None
        ) -> None:
    with runtime.db.session() as session:
        session.add(UsageRecord(project_id=project_id, kind=kind, created_at=at, job_id=job_id,
                                audio_seconds=seconds, characters=characters, tokens=tokens,
                                cost=cost))


def seed(runtime: Runtime, project_id: str) -> None:
    """Three days of use: day 1 at 09:xx and 15:xx, day 3 at 00:00; none on day 2."""
    add(runtime, project_id, DAY + timedelta(hours=9), "transcription", seconds=90,
        cost=0.015, job_id="job-1")
    add(runtime, project_id, DAY + timedelta(hours=9, minutes=30), "realtime_stt", seconds=30,
        cost=0.005)
    add(runtime, project_id, DAY + timedelta(hours=15), "tts", characters=400, seconds=20,
        cost=0.04, job_id="job-2")
    add(runtime, project_id, DAY + timedelta(hours=15, minutes=59), "realtime_tts",
        characters=100, seconds=5, cost=0.01)
    add(runtime, project_id, DAY + timedelta(days=2), "ai_content", tokens=1234,
        characters=800, cost=0.2, job_id="job-3")


def test_numbers_are_the_ledger_sums_in_the_period(runtime):
    with api_client(runtime) as client:
        seed(runtime, client.project.id)
        other = make_principal(runtime)
        add(runtime, other.project_id, DAY + timedelta(hours=10), "transcription", seconds=600,
            tokens=5, cost=9.0)  # another project's use is never counted
        add(runtime, client.project.id, DAY + timedelta(days=5), "transcription",
            seconds=600, cost=9.0)  # after the period
        answer = client.get(NUMBERS, params={
            "startPeriod": ms(DAY), "endPeriod": ms(DAY + timedelta(days=3)),
            "projectId": client.project.id})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["messageKey"] == "OPERATION_SUCCESSFUL"
    data = body["data"]
    assert data["tokens"] == {"value": 1234, "unit": "tokens"}
    assert data["transcription"] == {"value": 2.0, "unit": "minutes"}  # (90 + 30) s
    assert data["price"] == {"value": pytest.approx(0.27), "unit": "USD"}
    assert data["requests"] == {"value": "5", "unit": "requests"}
    assert data["tts"] == {"characters": 500, "seconds": 25.0}
    assert data["realtime"] == {"requests": 2, "sttSeconds": 30.0, "ttsCharacters": 100,
                                "ttsSeconds": 5.0}
    assert data["byKind"]["ai_content"] == {"requests": 1, "audioSeconds": 0.0,
                                            "characters": 800, "tokens": 1234, "cost": 0.2}


def test_iso_dates_datetimes_and_epoch_ms_give_the_same_period(runtime):
    with api_client(runtime) as client:
        seed(runtime, client.project.id)
        forms = [
            {"startPeriod": "2025-03-10", "endPeriod": "2025-03-10"},  # the whole day
            {"startPeriod": "2025-03-10T00:00:00Z", "endPeriod": "2025-03-11T00:00:00Z"},
            {"startPeriod": "2025-03-10T02:00:00+02:00", "endPeriod": "2025-03-11T00:00:00"},
            {"startPeriod": ms(DAY), "endPeriod": ms(DAY + timedelta(days=1))},
            {"startPeriod": "20250310", "endPeriod": "20250310"},  # ISO basic dates
        ]
        answers = [client.get(NUMBERS, params=form).json()["data"] for form in forms]
    assert {a["requests"]["value"] for a in answers} == {"4"}
    assert {a["startPeriod"] for a in answers} == {"2025-03-10T00:00:00.000Z"}
    assert {a["endPeriod"] for a in answers} == {"2025-03-11T00:00:00.000Z"}


@pytest.mark.parametrize("params, field", [
    ({"startPeriod": "yesterday", "endPeriod": "2025-03-10"}, "startPeriod"),
    ({"startPeriod": "2025-03-10", "endPeriod": "2025-02-30"}, "endPeriod"),
    ({"startPeriod": "2025-03-12", "endPeriod": "2025-03-10"}, "endPeriod"),  # reversed
    ({"startPeriod": ms(DAY), "endPeriod": ms(DAY)}, "endPeriod"),  # empty
    ({"startPeriod": "1990-01-01", "endPeriod": "2025-01-01"}, "endPeriod"),  # too long
    ({"startPeriod": "1741564800", "endPeriod": "2025-03-11"}, "startPeriod"),  # seconds
])
@pytest.mark.parametrize("path", [NUMBERS, CHART])
def test_bad_or_reversed_periods_are_400(runtime, path, params, field):
    with api_client(runtime) as client:
        answer = client.get(path, params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["success"] is False and body["messageKey"] == "VALIDATION_ERROR"
    assert body["data"][0]["field"] == field


@pytest.mark.parametrize("path", [NUMBERS, CHART])
def test_another_projects_id_is_not_found(runtime, path):
    other = make_principal(runtime)
    with api_client(runtime) as client:
        answer = client.get(path, params={"projectId": other.project_id})
        unauthenticated = client.get(path, headers={"Authorization": "Token wrong"})
    assert answer.status_code == 404 and answer.json()["messageKey"] == "NOT_FOUND"
    assert unauthenticated.status_code == 401


def test_an_end_alone_covers_the_month_it_ends_in(runtime):
    with api_client(runtime) as client:
        data = client.get(NUMBERS, params={"endPeriod": "2024-01-31"}).json()["data"]
    assert (data["startPeriod"], data["endPeriod"]) == ("2024-01-01T00:00:00.000Z",
                                                        "2024-02-01T00:00:00.000Z")


def test_without_a_period_the_numbers_cover_this_month(runtime):
    now = datetime.now(UTC)
    with api_client(runtime) as client:
        add(runtime, client.project.id, now - timedelta(seconds=1), "realtime_tts",
            characters=7)
        data = client.get(NUMBERS).json()["data"]
    assert data["tts"]["characters"] == 7
    assert data["startPeriod"] == now.strftime("%Y-%m-01T00:00:00.000Z")


def test_chart_has_a_bucket_per_day_zeros_included(runtime):
    with api_client(runtime) as client:
        seed(runtime, client.project.id)
        answer = client.get(CHART, params={"startPeriod": "2025-03-09",
                                           "endPeriod": "2025-03-12", "projectId":
                                           client.project.id})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    days = ["2025-03-09", "2025-03-10", "2025-03-11", "2025-03-12"]
    assert data["interval"] == "day"
    for name in ("cost", "requests", "transcription", "tokens"):
        assert [p["date"] for p in data[name]] == [f"{d}T00:00:00.000Z" for d in days]
    assert [p["value"] for p in data["requests"]] == [0, 4, 0, 1]
    assert [p["value"] for p in data["transcription"]] == [0, 2.0, 0, 0]
    assert [p["value"] for p in data["tokens"]] == [0, 0, 0, 1234]
    assert [p["value"] for p in data["cost"]] == pytest.approx([0, 0.07, 0, 0.2])
    assert {p["unit"] for p in data["cost"]} == {"USD"}
    assert {p["unit"] for p in data["transcription"]} == {"minutes"}


def test_chart_under_two_days_has_a_bucket_per_hour(runtime):
    with api_client(runtime) as client:
        seed(runtime, client.project.id)
        start = DAY + timedelta(hours=8, minutes=30)  # not on the hour: its hour is the first
        answer = client.get(CHART, params={"startPeriod": start.isoformat(),
                                           "endPeriod": ms(DAY + timedelta(hours=16))})
    data = answer.json()["data"]
    assert data["interval"] == "hour"
    assert [p["date"][11:13] for p in data["requests"]] == [f"{h:02d}" for h in range(8, 16)]
    by_hour = {p["date"][11:13]: p["value"] for p in data["requests"]}
    assert by_hour == {"08": 0, "09": 2, "10": 0, "11": 0, "12": 0, "13": 0, "14": 0, "15": 2}
    minutes = {p["date"][11:13]: p["value"] for p in data["transcription"]}
    assert minutes["09"] == 2.0 and sum(minutes.values()) == 2.0


def test_a_period_of_exactly_two_days_is_charted_by_day():
    two_days = statistics.period("2025-03-10", "2025-03-11")
    just_under = statistics.period(ms(DAY), ms(DAY + timedelta(days=2) - timedelta(hours=1)))
    assert not two_days.hourly and len(statistics.buckets(two_days)) == 2
    assert just_under.hourly and len(statistics.buckets(just_under)) == 47
