"""Agent analytics from the conversation records: overview (sessions, durations, messages,
calls over time), performance (latency stages, errors) and satisfaction (sentiment).

A session is a VOICE_AGENTS job of the caller's project (one agent's, or all) created in the
period. Periods are read in the caller's local time, ``timeDifference`` hours from UTC
(local = UTC + timeDifference: "-3" is UTC−3, "5.5" is UTC+5:30): TODAY is the caller's
calendar day, THIS_WEEK starts on Monday, THIS_MONTH on the 1st, LAST_HOUR is the 60 minutes
before now, CUSTOM is [startPeriod, endPeriod). What hams cannot know (surveys: CSAT, NPS,
first-call resolution) is None, never a made-up figure. ``docs/conversations.md`` lists
every figure and what it is computed from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from statistics import fmean
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hams.db.models import Conversation, ConversationLog, Job, utcnow
from hams.errors import ValidationFailed
from hams.services.conversations import JOB_TYPE
from hams.services.keys import Principal
from hams.services.statistics import MAX_BUCKETS, parse_instant

PERIODS = ("LAST_HOUR", "TODAY", "YESTERDAY", "THIS_WEEK", "THIS_MONTH", "CUSTOM")
HOURLY_PERIODS = ("LAST_HOUR", "TODAY", "YESTERDAY")
MAX_OFFSET_HOURS = 14  # UTC−12 … UTC+14 are the offsets in use
SHORT_CALL_SECONDS, LONG_CALL_SECONDS = 60, 300  # short < 60 s ≤ medium ≤ 300 s < long
SENTIMENTS = ("negative", "neutral", "positive")
# performance_metrics["average"] keys: milliseconds from the end of the user's speech
TRANSCRIPT_MS = "endOfSpeechToTranscriptMs"
LLM_FIRST_TOKEN_MS = "endOfSpeechToLlmFirstTokenMs"
FIRST_AUDIO_MS = "endOfSpeechToFirstAudioMs"


@dataclass(frozen=True)
class AnalyticsQuery:
    """The routes' parameters as sent (checked by :func:`window`)."""

    voice_agent_id: str | None = None
    period: str = "TODAY"
    start_period: str | None = None
    end_period: str | None = None
    time_difference: str = "0"


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC; buckets by the hour or the day in the caller's ``offset``."""

    start: datetime
    end: datetime
    offset: timedelta
    hourly: bool

    def buckets(self) -> list[datetime]:
        """The start (UTC) of every local hour or day that overlaps the window."""
        local = self.start + self.offset
        current = local.replace(minute=0, second=0, microsecond=0)
        if not self.hourly:
            current = current.replace(hour=0)
        step = timedelta(hours=1) if self.hourly else timedelta(days=1)
        found = []
        while current - self.offset < self.end:
            found.append(current - self.offset)
            current += step
        return found

    def bucket_of(self, moment: datetime) -> datetime:
        local = moment + self.offset
        local = local.replace(minute=0, second=0, microsecond=0)
        return (local if self.hourly else local.replace(hour=0)) - self.offset


def window(query: AnalyticsQuery, now: datetime | None = None) -> Window:
    """The period asked for, in UTC; a bad value → 400 naming the parameter."""
    now = now or utcnow()
    offset = _offset(query.time_difference)
    if query.period not in PERIODS:
        raise ValidationFailed.at_field("period", f"use {', '.join(PERIODS)}")
    hourly = query.period in HOURLY_PERIODS
    if query.period == "CUSTOM":
        for name, value in (("startPeriod", query.start_period),
                            ("endPeriod", query.end_period)):
            if not value:
                raise ValidationFailed.at_field(name, "is required when period is CUSTOM")
        start = parse_instant(query.start_period, "startPeriod")
        end = parse_instant(query.end_period, "endPeriod", is_end=True)
        if end <= start:
            raise ValidationFailed.at_field("endPeriod", "must be after startPeriod")
        if end - start > timedelta(days=MAX_BUCKETS):
            raise ValidationFailed.at_field("endPeriod",
                                            f"the period is longer than {MAX_BUCKETS} days")
        return Window(start, end, offset, hourly=False)
    if query.period == "LAST_HOUR":
        return Window(now - timedelta(hours=1), now, offset, hourly=True)
    today = (now + offset).replace(hour=0, minute=0, second=0, microsecond=0) - offset
    day = timedelta(days=1)
    if query.period == "TODAY":
        return Window(today, today + day, offset, hourly)
    if query.period == "YESTERDAY":
        return Window(today - day, today, offset, hourly)
    if query.period == "THIS_WEEK":
        monday = today - (now + offset).weekday() * day
        return Window(monday, monday + 7 * day, offset, hourly)
    first = today - ((now + offset).day - 1) * day  # THIS_MONTH
    following = (first + offset + 32 * day).replace(day=1) - offset
    return Window(first, following, offset, hourly)


def _offset(text: str) -> timedelta:
    try:
        hours = float(text)
    except ValueError:
        hours = math.nan
    if not math.isfinite(hours) or abs(hours) > MAX_OFFSET_HOURS:
        raise ValidationFailed.at_field(
            "timeDifference", f"must be hours from UTC between -{MAX_OFFSET_HOURS} and "
            f"{MAX_OFFSET_HOURS}, e.g. \"3\", \"-5\" or \"5.5\" (got {text!r})")
    return timedelta(minutes=round(hours * 60))


def _sessions(principal: Principal, query: AnalyticsQuery, within: Window, *columns):
    """``columns`` of the period's sessions (job joined with its conversation record)."""
    statement = (select(*columns).select_from(Job)
                 .join(Conversation, Conversation.job_id == Job.id)
                 .where(*_scope(principal, query),
                        Job.created_at >= within.start, Job.created_at < within.end))
    return statement


def _scope(principal: Principal, query: AnalyticsQuery) -> list:
    conditions = [Job.project_id == principal.project_id, Job.type == JOB_TYPE]
    if query.voice_agent_id:
        conditions.append(Conversation.voice_agent_id == query.voice_agent_id)
    return conditions


def _ratio(part: float, whole: float, digits: int = 2) -> float:
    return round(part / whole, digits) if whole else 0


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


# ---- overview -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    window: Window
    live_sessions: int
    total_sessions: int
    average_session_duration: float  # seconds, over sessions with a measured duration
    average_messages_per_session: float  # turns, over sessions that connected
    total_session_duration: float
    average_words_per_ai_response: float
    forwarded: int
    calls_over_time: list[tuple[datetime, int]]
    short_calls: int
    medium_calls: int
    long_calls: int


def overview(session: Session, principal: Principal, query: AnalyticsQuery,
             now: datetime | None = None) -> Overview:
    within = window(query, now)
    rows = session.execute(_sessions(principal, query, within, Job.created_at, Job.status,
                                     Conversation.connected_at,
                                     Conversation.call_duration)).all()
    live = session.scalar(select(func.count()).select_from(Job).join(
        Conversation, Conversation.job_id == Job.id).where(
        *_scope(principal, query), Job.status == "IN_PROGRESS")) or 0
    turns = session.execute(_sessions(principal, query, within, ConversationLog.role,
                                      ConversationLog.text)
                            .join(ConversationLog, ConversationLog.job_id == Job.id)
                            .where(ConversationLog.kind == "turn",
                                   ConversationLog.role.in_(("user", "agent")))).all()
    durations = [float(d) for *_, d in rows if d and d > 0]
    connected = sum(1 for _, _, connected_at, _ in rows if connected_at is not None)
    answers = [text or "" for role, text in turns if role == "agent"]
    per_bucket: dict[datetime, int] = {}
    for created_at, *_ in rows:
        key = within.bucket_of(created_at)
        per_bucket[key] = per_bucket.get(key, 0) + 1
    total_duration = round(sum(durations), 3)
    return Overview(
        window=within, live_sessions=live, total_sessions=len(rows),
        average_session_duration=_ratio(total_duration, len(durations), 3),
        average_messages_per_session=_ratio(len(turns), connected),
        total_session_duration=total_duration,
        average_words_per_ai_response=_ratio(sum(len(t.split()) for t in answers),
                                             len(answers)),
        forwarded=sum(1 for _, status, *_ in rows if status == "FORWARDED"),
        calls_over_time=[(start, per_bucket.get(start, 0)) for start in within.buckets()],
        short_calls=sum(1 for d in durations if d < SHORT_CALL_SECONDS),
        medium_calls=sum(1 for d in durations if SHORT_CALL_SECONDS <= d <= LONG_CALL_SECONDS),
        long_calls=sum(1 for d in durations if d > LONG_CALL_SECONDS))


# ---- performance ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Performance:
    window: Window
    asr_ms: float | None  # end of speech → final transcript
    llm_ms: float | None  # final transcript → the LLM's first token
    tts_ms: float | None  # first token → first agent audio
    latency_ms: float | None  # end of speech → first agent audio
    measured_sessions: int
    error_percentage: float | None  # FAILED sessions, % of the period's


def performance(session: Session, principal: Principal, query: AnalyticsQuery,
                now: datetime | None = None) -> Performance:
    """Each session's averaged stages (its ``performanceMetrics.average``), averaged over
    the period's sessions that have them: every session weighs the same."""
    within = window(query, now)
    rows = session.execute(_sessions(principal, query, within, Job.status,
                                     Conversation.performance_metrics)).all()
    asr, llm, tts, latency = [], [], [], []
    for _, metrics in rows:
        average = (metrics or {}).get("average") if isinstance(metrics, dict) else None
        if not isinstance(average, dict):
            continue
        transcript, token, audio = (_ms(average.get(k)) for k in (
            TRANSCRIPT_MS, LLM_FIRST_TOKEN_MS, FIRST_AUDIO_MS))
        for values, value in ((asr, transcript), (latency, audio),
                              (llm, _between(transcript, token)), (tts, _between(token, audio))):
            if value is not None:
                values.append(value)
    failed = sum(1 for status, _ in rows if status == "FAILED")
    return Performance(
        window=within, asr_ms=_mean(asr), llm_ms=_mean(llm), tts_ms=_mean(tts),
        latency_ms=_mean(latency), measured_sessions=len(latency),
        error_percentage=_percent(failed, len(rows)))


def _ms(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _between(earlier: float | None, later: float | None) -> float | None:
    return None if earlier is None or later is None else later - earlier


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 1) if values else None


# ---- satisfaction ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Satisfaction:
    window: Window
    sentiments: dict[str, int]  # negative, neutral, positive: sessions analysed as such
    escalation_rate: float | None  # FORWARDED sessions, % of the period's
    analysed_sessions: int


def satisfaction(session: Session, principal: Principal, query: AnalyticsQuery,
                 now: datetime | None = None) -> Satisfaction:
    """Sentiment from each session's ``callAnalysis.sentiment`` (the post-call analysis)."""
    within = window(query, now)
    rows = session.execute(_sessions(principal, query, within, Job.status,
                                     Conversation.call_analysis)).all()
    counts = dict.fromkeys(SENTIMENTS, 0)
    for _, analysis in rows:
        sentiment = analysis.get("sentiment") if isinstance(analysis, dict) else None
        if isinstance(sentiment, str) and sentiment.lower() in counts:
            counts[sentiment.lower()] += 1
    forwarded = sum(1 for status, _ in rows if status == "FORWARDED")
    return Satisfaction(window=within, sentiments=counts,
                        escalation_rate=_percent(forwarded, len(rows)),
                        analysed_sessions=sum(counts.values()))


def local_time(moment: datetime, within: Window) -> datetime:
    """``moment`` in the caller's offset (how buckets are labelled)."""
    return moment.astimezone(timezone(within.offset))
