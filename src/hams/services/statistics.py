"""Usage statistics from the ledger: totals over a period (numbers) and a series per day, or
per hour for periods under two days (chart). Used by the statistics routes and ``hams usage``.

Periods are half-open, [start, end). ``startPeriod``/``endPeriod`` may be epoch milliseconds
(what Hamsa's clients send, as strings), ISO 8601 datetimes (no zone = UTC) or ISO dates; a
date as the end means the whole of that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hams.db.models import Project, UsageRecord, utcnow
from hams.errors import ValidationFailed
from hams.services.keys import Principal, check_project
from hams.services.quotas import month_start
from hams.services.usage import STT_KINDS, TTS_KINDS

HOURLY_BELOW = timedelta(days=2)
MAX_BUCKETS = 3700  # ten years of days
CURRENCY = "USD"
_DIGITS = re.compile(r"^\d{1,15}$")
_EPOCH_MS_DIGITS = 11  # 100000000000 ms is 1973: fewer digits are seconds, or a compact date


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def hourly(self) -> bool:
        return self.end - self.start < HOURLY_BELOW


def parse_instant(value: str, field: str, *, is_end: bool = False) -> datetime:
    """An aware UTC datetime from epoch milliseconds, an ISO datetime or an ISO date."""
    text = value.strip()
    try:
        if _DIGITS.match(text) and len(text) >= _EPOCH_MS_DIGITS:
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        if _DIGITS.match(text) and len(text) != 8:  # 8 digits: an ISO basic date, 20250131
            raise _invalid(field, f"{field} {value!r} looks like epoch seconds; send epoch "
                           "milliseconds or an ISO 8601 date")
        if len(text) in (8, 10):
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if is_end else start
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise _invalid(field, f"{field} must be epoch milliseconds or an ISO 8601 date or "
                       f"datetime, not {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period(start: str | None, end: str | None, now: datetime | None = None) -> Period:
    """The period asked for; a missing end is the first of next UTC month, a missing start
    the first of the month the period ends in."""
    now = now or utcnow()
    this_month = month_start(now)
    finish = (parse_instant(end, "endPeriod", is_end=True) if end
              else (this_month + timedelta(days=32)).replace(day=1))
    # without a start, the month the period ends in (this month when neither is given)
    begin = (parse_instant(start, "startPeriod") if start
             else month_start(finish - timedelta(microseconds=1)))
    if finish <= begin:
        raise _invalid("endPeriod", "endPeriod must be after startPeriod")
    if (finish - begin) / timedelta(days=1) > MAX_BUCKETS:
        raise _invalid("endPeriod", f"The period is longer than {MAX_BUCKETS} days")
    return Period(begin, finish)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, data=[{"field": field, "message": message}])


@dataclass(frozen=True)
class KindTotals:
    """One kind of ledger event (transcription, realtime_tts...) in a period."""

    requests: int
    audio_seconds: float
    characters: int
    tokens: int
    cost: float


@dataclass
class Totals:
    """What a project (or the whole server) used in a period."""

    requests: int = 0
    stt_seconds: float = 0.0
    tts_characters: int = 0
    tts_seconds: float = 0.0
    tokens: int = 0
    cost: float = 0.0
    kinds: dict[str, KindTotals] = field(default_factory=dict)  # by ledger kind


def _ledger(project_id: str | None, within: Period):
    query = select().select_from(UsageRecord).where(UsageRecord.created_at >= within.start,
                                                    UsageRecord.created_at < within.end)
    return query if project_id is None else query.where(UsageRecord.project_id == project_id)


def totals_by_project(session: Session, within: Period,
                      project_id: str | None = None) -> dict[str, Totals]:
    """Totals per project id, with a breakdown by kind of event."""
    rows = session.execute(_ledger(project_id, within).add_columns(
        UsageRecord.project_id, UsageRecord.kind, func.count(), func.sum(UsageRecord.audio_seconds),
        func.sum(UsageRecord.characters), func.sum(UsageRecord.tokens),
        func.sum(UsageRecord.cost)).group_by(UsageRecord.project_id, UsageRecord.kind)).all()
    result: dict[str, Totals] = {}
    for project, kind, count, seconds, characters, tokens, cost in rows:
        totals = result.setdefault(project, Totals())
        seconds, characters, tokens, cost = (seconds or 0.0, int(characters or 0),
                                             int(tokens or 0), cost or 0.0)
        totals.kinds[kind] = KindTotals(count, seconds, characters, tokens, cost)
        totals.requests += count
        totals.tokens += tokens
        totals.cost += cost
        if kind in STT_KINDS:
            totals.stt_seconds += seconds
        if kind in TTS_KINDS:
            totals.tts_characters += characters
            totals.tts_seconds += seconds
    return result


@dataclass(frozen=True)
class Usage:
    """What one project used in a period."""

    totals: Totals
    period: Period


def project_usage(session: Session, principal: Principal, *, start: str | None,
                  end: str | None, project_id: str | None = None) -> Usage:
    """The caller's project over the period asked for (default: this month)."""
    check_project(principal, project_id)
    within = period(start, end)
    own = principal.project_id
    return Usage(totals_by_project(session, within, own).get(own) or Totals(), within)


@dataclass(frozen=True)
class Bucket:
    """One hour or day of a chart."""

    start: datetime
    requests: int = 0
    cost: float = 0.0
    stt_seconds: float = 0.0
    tokens: int = 0


@dataclass(frozen=True)
class Chart:
    period: Period
    buckets: list[Bucket]


def project_chart(session: Session, principal: Principal, *, start: str | None,
                  end: str | None, project_id: str | None = None) -> Chart:
    """Requests, cost, transcription seconds and tokens per bucket, every bucket present."""
    check_project(principal, project_id)
    within = period(start, end)
    hourly = within.hourly
    label = _bucket_label(session, hourly)
    stt = case((UsageRecord.kind.in_(STT_KINDS), UsageRecord.audio_seconds), else_=0.0)
    rows = session.execute(_ledger(principal.project_id, within).add_columns(
        label, func.count(), func.sum(UsageRecord.cost), func.sum(stt),
        func.sum(UsageRecord.tokens)).group_by(label)).all()
    found = {key: (count, cost or 0.0, seconds or 0.0, int(tokens or 0))
             for key, count, cost, seconds, tokens in rows}
    return Chart(within, [Bucket(moment, *found.get(_label(moment, hourly), (0, 0.0, 0.0, 0)))
                          for moment in buckets(within)])


def buckets(within: Period) -> list[datetime]:
    """The start of every hour (period under two days) or day that overlaps the period."""
    step = timedelta(hours=1) if within.hourly else timedelta(days=1)
    current = within.start.replace(minute=0, second=0, microsecond=0)
    if not within.hourly:
        current = current.replace(hour=0)
    result = []
    while current < within.end:
        result.append(current)
        current += step
    return result


def _label(moment: datetime, hourly: bool) -> str:
    return moment.strftime("%Y-%m-%d %H" if hourly else "%Y-%m-%d")


def _bucket_label(session: Session, hourly: bool):
    """The same text label as ``_label``, computed by the database (stored times are UTC)."""
    column = UsageRecord.created_at
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24" if hourly else "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H" if hourly else "%Y-%m-%d", column)


def usage_report(session: Session, within: Period,
                 project_name: str | None = None) -> list[tuple[Project, Usage]]:
    """Every project (or the one named) with its usage over the period, for ``hams usage``."""
    query = select(Project).order_by(Project.name)
    if project_name is not None:
        query = query.where(Project.name == project_name)
    projects = session.scalars(query).all()
    only = projects[0].id if project_name is not None and projects else None
    totals = totals_by_project(session, within, only)
    return [(p, Usage(totals.get(p.id) or Totals(), within)) for p in projects]
