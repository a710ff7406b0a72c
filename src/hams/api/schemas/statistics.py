"""Answers of the statistics routes: Hamsa's figures (``{value, unit}``) and hams' own."""

from __future__ import annotations

from typing import Literal

from hams.api.schemas.common import Number, ResponseModel, iso
from hams.services.statistics import CURRENCY, Chart, KindTotals, Usage


class Figure(ResponseModel):
    value: Number
    unit: str


class RequestCount(ResponseModel):
    value: str  # a string, as Hamsa's
    unit: Literal["requests"] = "requests"


class TtsFigures(ResponseModel):
    characters: int
    seconds: Number


class RealtimeFigures(ResponseModel):
    requests: int
    sttSeconds: Number
    ttsCharacters: int
    ttsSeconds: Number


class KindFigures(ResponseModel):
    requests: int
    audioSeconds: Number
    characters: int
    tokens: int
    cost: Number

    @classmethod
    def from_totals(cls, kind: KindTotals) -> KindFigures:
        return cls(requests=kind.requests, audioSeconds=round(kind.audio_seconds, 3),
                   characters=kind.characters, tokens=kind.tokens, cost=round(kind.cost, 6))


class StatisticsNumbers(ResponseModel):
    """GET /v1/projects/statistics/numbers: Hamsa's four figures, then hams' breakdown."""

    tokens: Figure
    transcription: Figure
    price: Figure
    requests: RequestCount
    tts: TtsFigures
    realtime: RealtimeFigures
    byKind: dict[str, KindFigures]
    startPeriod: str
    endPeriod: str

    @classmethod
    def from_usage(cls, usage: Usage) -> StatisticsNumbers:
        totals, kinds = usage.totals, usage.totals.kinds
        stt, tts = kinds.get("realtime_stt"), kinds.get("realtime_tts")
        return cls(
            tokens=Figure(value=totals.tokens, unit="tokens"),
            transcription=Figure(value=round(totals.stt_seconds / 60, 4), unit="minutes"),
            price=Figure(value=round(totals.cost, 6), unit=CURRENCY),
            requests=RequestCount(value=str(totals.requests)),
            tts=TtsFigures(characters=totals.tts_characters,
                           seconds=round(totals.tts_seconds, 3)),
            realtime=RealtimeFigures(
                requests=(stt.requests if stt else 0) + (tts.requests if tts else 0),
                sttSeconds=round(stt.audio_seconds, 3) if stt else 0.0,
                ttsCharacters=tts.characters if tts else 0,
                ttsSeconds=round(tts.audio_seconds, 3) if tts else 0.0),
            byKind={name: KindFigures.from_totals(kind) for name, kind in kinds.items()},
            startPeriod=iso(usage.period.start), endPeriod=iso(usage.period.end))


class ChartPoint(ResponseModel):
    date: str
    value: Number
    unit: str


class StatisticsChart(ResponseModel):
    """GET /v1/projects/statistics/chart: one point per hour or day in every series."""

    cost: list[ChartPoint]
    requests: list[ChartPoint]
    transcription: list[ChartPoint]
    tokens: list[ChartPoint]
    interval: Literal["hour", "day"]

    @classmethod
    def from_chart(cls, chart: Chart) -> StatisticsChart:
        dates = [iso(bucket.start) for bucket in chart.buckets]
        pairs = list(zip(dates, chart.buckets, strict=True))
        return cls(
            cost=[ChartPoint(date=d, value=round(b.cost, 6), unit=CURRENCY) for d, b in pairs],
            requests=[ChartPoint(date=d, value=b.requests, unit="requests") for d, b in pairs],
            transcription=[ChartPoint(date=d, value=round(b.stt_seconds / 60, 4),
                                      unit="minutes") for d, b in pairs],
            tokens=[ChartPoint(date=d, value=b.tokens, unit="tokens") for d, b in pairs],
            interval="hour" if chart.period.hourly else "day")
