"""Agent analytics from known conversation records: every figure of overview, performance and
satisfaction is asserted exactly; periods, offsets and buckets; bad input; the project and
agent boundaries. On SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hams.errors import ValidationFailed
from hams.services.agent_analytics import AnalyticsQuery, window
from hams.services.conversations import LogEntry
from tests.api.test_conversation_records import DAY, Calls, calls_of, fault, ms, ok, turn
from tests.factories import api_client, make_principal

BASE = "/v1/agent-analytics/"
# [DAY, DAY + 2 days) in UTC, read by a caller at UTC+3
CUSTOM = {"period": "CUSTOM", "startPeriod": str(ms(DAY)),
          "endPeriod": str(ms(DAY + timedelta(days=2))), "timeDifference": "3"}


def metrics(transcript: int, first_token: int, first_audio: int) -> dict:
    average = {"endOfSpeechToTranscriptMs": transcript,
               "endOfSpeechToLlmFirstTokenMs": first_token,
               "endOfSpeechToFirstAudioMs": first_audio}
    return {"turns": [average], "average": average}


def seed(calls: Calls) -> dict[str, str]:
    """Four calls in the period (three of agent X, one of Y), one live now, one before.

    A  X  09:10  COMPLETED 30 s   4 turns (agent: 4 + 3 words)  100/300/700 ms  positive
    B  X  09:40  COMPLETED 120 s  2 turns (agent: 2 words)      200/600/1100 ms negative
    C  Y  15:00  TERMINATED 400 s 1 turn  (agent: 5 words)      no metrics      neutral
    D  X  +1d 02:00 FAILED, never connected (0 s)
    E  X  live now (IN_PROGRESS), outside the period;  F  X  the day before the period
    """
    t = DAY + timedelta(hours=9, minutes=10)
    a = calls.finished(agent_id="X", created_at=t, seconds=30.0,
                       performance_metrics=metrics(100, 300, 700), entries=(
                           turn("user", "hi", t), turn("agent", "hello how are you", t),
                           LogEntry(kind="tool", role="tool", payload={"name": "f"}),
                           turn("user", "fine", t), turn("agent", "good to hear", t),
                           LogEntry(kind="event", role="system", text="poke sent")))
    t = DAY + timedelta(hours=9, minutes=40)
    b = calls.finished(agent_id="X", created_at=t, seconds=120.0,
                       performance_metrics=metrics(200, 600, 1100), entries=(
                           turn("user", "where is it", t), turn("agent", "one two", t)))
    t = DAY + timedelta(hours=15)
    c = calls.finished(agent_id="Y", created_at=t, seconds=400.0, status="TERMINATED",
                       entries=(turn("agent", "x y z w v", t, interrupted=True),))
    d = calls.start(agent_id="X", created_at=DAY + timedelta(days=1, hours=2))
    calls.end(d, "FAILED", 0.0, reason="The conversation's socket never opened")
    for job_id, sentiment in ((a, "positive"), (b, "Negative"), (c, "neutral")):
        calls.set(job_id, call_analysis={"summary": "...", "sentiment": sentiment})
    e = calls.start(agent_id="X")
    calls.open(e)
    f = calls.finished(agent_id="X", created_at=DAY - timedelta(hours=1), seconds=999.0)
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}


def test_analytics_figures_from_known_records(api, runtime):
    seed(calls_of(api))
    stranger = Calls(runtime, make_principal(runtime))  # another project's calls never count
    stranger.finished(agent_id="X", created_at=DAY + timedelta(hours=10), seconds=50.0,
                      status="FAILED")
    stranger.open(stranger.start(agent_id="X"))

    overview = ok(api.get(BASE + "overview", params=CUSTOM))
    assert overview == {
        "liveSessionsNumber": 1,  # E, now, whatever the period
        "totalSessionsNumber": 4,  # A, B, C, D
        "averageSessionDuration": 183.333,  # (30 + 120 + 400) / 3 measured
        "averageMessagesPerSession": 2.33,  # 7 turns / 3 connected sessions
        "totalSessionDuration": 550.0,
        "averageWordsPerAiResponse": 3.5,  # (4 + 3 + 2 + 5) / 4 agent turns
        "forwardToHumanAgent": 0,
        "callsOverTime": [  # local days at UTC+3 overlapping the period
            {"timeBucket": "2025-03-10T00:00:00.000+03:00", "count": "3"},
            {"timeBucket": "2025-03-11T00:00:00.000+03:00", "count": "1"},
            {"timeBucket": "2025-03-12T00:00:00.000+03:00", "count": "0"},
        ],
        "callsByDurationBuckets": {"shortDurationBucketCalls": 1,
                                   "mediumDurationBucketCalls": 1,
                                   "longDurationBucketCalls": 1},
        "startPeriod": "2025-03-10T00:00:00.000Z", "endPeriod": "2025-03-12T00:00:00.000Z",
        "interval": "day",
    }
    performance = ok(api.get(BASE + "performance", params=CUSTOM))
    assert performance == {
        "avgAsrProcessingTime": 150.0,  # (100 + 200) / 2
        "avgLlmResponseTime": 300.0,  # ((300 - 100) + (600 - 200)) / 2
        "avgTtsGenerationTime": 450.0,  # ((700 - 300) + (1100 - 600)) / 2
        "latency": 900.0,  # (700 + 1100) / 2
        "sessionsHaveErrorsPercentage": 25.0,  # D of four
        "measuredSessions": 2,
        "startPeriod": "2025-03-10T00:00:00.000Z", "endPeriod": "2025-03-12T00:00:00.000Z",
    }
    satisfaction = ok(api.get(BASE + "satisfaction", params=CUSTOM))
    assert satisfaction == {
        "csatScore": None, "escalationRate": 0.0, "firstCallResolutionPercentage": None,
        "npsScore": None, "sentimentDistribution": {"negative": 1, "neutral": 1, "positive": 1},
        "analysedSessions": 3,
        "startPeriod": "2025-03-10T00:00:00.000Z", "endPeriod": "2025-03-12T00:00:00.000Z",
    }

    # one agent
    only_y = {**CUSTOM, "voiceAgentId": "Y"}
    overview = ok(api.get(BASE + "overview", params=only_y))
    assert (overview["liveSessionsNumber"], overview["totalSessionsNumber"]) == (0, 1)
    assert overview["averageSessionDuration"] == 400.0
    assert overview["averageMessagesPerSession"] == 1.0
    assert overview["averageWordsPerAiResponse"] == 5.0
    assert overview["callsByDurationBuckets"]["longDurationBucketCalls"] == 1
    assert [b["count"] for b in overview["callsOverTime"]] == ["1", "0", "0"]
    performance = ok(api.get(BASE + "performance", params=only_y))
    assert performance["latency"] is None and performance["measuredSessions"] == 0
    assert performance["sessionsHaveErrorsPercentage"] == 0.0
    satisfaction = ok(api.get(BASE + "satisfaction", params=only_y))
    assert satisfaction["sentimentDistribution"] == {"negative": 0, "neutral": 1,
                                                     "positive": 0}


def test_an_empty_period_has_zero_counts_and_no_measures(api):
    seed(calls_of(api))
    empty = {"period": "CUSTOM", "startPeriod": "2024-01-01", "endPeriod": "2024-01-03"}
    overview = ok(api.get(BASE + "overview", params=empty))
    assert overview["totalSessionsNumber"] == 0 and overview["liveSessionsNumber"] == 1
    assert overview["averageSessionDuration"] == 0 and overview["totalSessionDuration"] == 0
    assert overview["averageMessagesPerSession"] == 0
    assert [b["timeBucket"] for b in overview["callsOverTime"]] == [  # a date: its whole day
        "2024-01-01T00:00:00.000+00:00", "2024-01-02T00:00:00.000+00:00",
        "2024-01-03T00:00:00.000+00:00"]
    assert overview["endPeriod"] == "2024-01-04T00:00:00.000Z"
    performance = ok(api.get(BASE + "performance", params=empty))
    assert {k: performance[k] for k in ("avgAsrProcessingTime", "avgLlmResponseTime",
                                        "avgTtsGenerationTime", "latency",
                                        "sessionsHaveErrorsPercentage")} == dict.fromkeys(
        ("avgAsrProcessingTime", "avgLlmResponseTime", "avgTtsGenerationTime", "latency",
         "sessionsHaveErrorsPercentage"))
    satisfaction = ok(api.get(BASE + "satisfaction", params=empty))
    assert satisfaction["escalationRate"] is None


def test_the_default_period_is_today_by_the_hour(api):
    calls = calls_of(api)
    calls.finished(seconds=61.0)  # now
    overview = ok(api.get(BASE + "overview"))
    assert overview["interval"] == "hour" and len(overview["callsOverTime"]) == 24
    assert overview["totalSessionsNumber"] == 1
    assert sum(int(b["count"]) for b in overview["callsOverTime"]) == 1
    assert overview["callsByDurationBuckets"]["mediumDurationBucketCalls"] == 1
    last_hour = ok(api.get(BASE + "overview", params={"period": "LAST_HOUR",
                                                      "timeDifference": "-5"}))
    assert last_hour["totalSessionsNumber"] == 1
    assert all(b["timeBucket"].endswith(":00:00.000-05:00") for b in last_hour["callsOverTime"])
    assert ok(api.get(BASE + "overview", params={"period": "YESTERDAY"}))[
        "totalSessionsNumber"] == 0


NOW = datetime(2025, 3, 12, 22, 30, tzinfo=UTC)  # a Wednesday; Thursday 01:30 at UTC+3


@pytest.mark.parametrize(("period", "offset", "start", "end", "hourly"), [
    ("LAST_HOUR", "0", NOW - timedelta(hours=1), NOW, True),
    ("TODAY", "0", datetime(2025, 3, 12, tzinfo=UTC), datetime(2025, 3, 13, tzinfo=UTC), True),
    ("TODAY", "3", datetime(2025, 3, 12, 21, tzinfo=UTC), datetime(2025, 3, 13, 21, tzinfo=UTC),
     True),
    ("YESTERDAY", "3", datetime(2025, 3, 11, 21, tzinfo=UTC),
     datetime(2025, 3, 12, 21, tzinfo=UTC), True),
    ("TODAY", "-5.5", datetime(2025, 3, 12, 5, 30, tzinfo=UTC),
     datetime(2025, 3, 13, 5, 30, tzinfo=UTC), True),
    ("THIS_WEEK", "0", datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC),
     False),
    ("THIS_MONTH", "0", datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC),
     False),
    ("THIS_MONTH", "3", datetime(2025, 2, 28, 21, tzinfo=UTC),
     datetime(2025, 3, 31, 21, tzinfo=UTC), False),
])
def test_periods_are_read_in_the_callers_local_time(period, offset, start, end, hourly):
    within = window(AnalyticsQuery(period=period, time_difference=offset), now=NOW)
    assert (within.start, within.end, within.hourly) == (start, end, hourly)
    buckets = within.buckets()
    assert buckets[0] <= start < buckets[0] + timedelta(hours=1 if hourly else 24)
    assert len(buckets) == {"LAST_HOUR": 2, "TODAY": 24, "YESTERDAY": 24, "THIS_WEEK": 7,
                            "THIS_MONTH": 31}[period]


def test_a_december_month_ends_in_january():
    within = window(AnalyticsQuery(period="THIS_MONTH"),
                    now=datetime(2025, 12, 31, 23, 0, tzinfo=UTC))
    assert (within.start, within.end) == (datetime(2025, 12, 1, tzinfo=UTC),
                                          datetime(2026, 1, 1, tzinfo=UTC))


BAD_VALUES = [
    ({"period": "LAST_YEAR"}, "period"),
    ({"period": "CUSTOM"}, "startPeriod"),
    ({"period": "CUSTOM", "startPeriod": str(ms(DAY))}, "endPeriod"),
    ({"period": "CUSTOM", "startPeriod": str(ms(DAY)), "endPeriod": str(ms(DAY))},
     "endPeriod"),
    ({"period": "CUSTOM", "startPeriod": "1741564800", "endPeriod": str(ms(DAY))},
     "startPeriod"),  # epoch seconds, not milliseconds
    ({"period": "CUSTOM", "startPeriod": "soon", "endPeriod": str(ms(DAY))}, "startPeriod"),
    ({"timeDifference": "three"}, "timeDifference"),
    ({"timeDifference": "15"}, "timeDifference"),
    ({"timeDifference": "nan"}, "timeDifference"),
    ({"voiceAgentId": "x" * 101}, "voiceAgentId"),
]


@pytest.mark.parametrize("route", ["overview", "performance", "satisfaction"])
def test_bad_values_are_refused_naming_the_field(sqlite_runtime, route):
    """Checked before any query: one database is enough."""
    with api_client(sqlite_runtime) as api:
        refused = [fault(api.get(BASE + route, params=params)) for params, _ in BAD_VALUES]
    assert refused == [("VALIDATION_ERROR", [field]) for _, field in BAD_VALUES]


def test_window_refuses_what_the_route_would():
    with pytest.raises(ValidationFailed) as refused:
        window(AnalyticsQuery(period="CUSTOM", start_period="2025-01-01",
                              end_period="2040-01-01"))
    assert refused.value.data[0]["field"] == "endPeriod"
