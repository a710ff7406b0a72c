"""API Statistics Routes: the caller's project usage over a period, as numbers and as a chart."""

from __future__ import annotations

from fastapi import APIRouter, Query

from hams.api.deps import READ, PrincipalDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.statistics import StatisticsChart, StatisticsNumbers
from hams.services import statistics

router = APIRouter(tags=["Statistics"])
ERRORS = error_responses(*AUTHENTICATED, 404, 503)  # 404: a projectId not the key's own

START = Query(None, alias="startPeriod", description="Epoch ms, ISO date or datetime")
END = Query(None, alias="endPeriod", description="Epoch ms, ISO date or datetime (exclusive)")
PROJECT = Query(None, alias="projectId")
NumbersAnswer = Envelope[StatisticsNumbers]
ChartAnswer = Envelope[StatisticsChart]


@router.get("/v1/projects/statistics/numbers", dependencies=[READ],
            response_model=NumbersAnswer, responses=ERRORS)
def statistics_numbers(session: SessionDep, principal: PrincipalDep,
                       start: str | None = START, end: str | None = END,
                       project_id: str | None = PROJECT) -> NumbersAnswer:
    """Tokens, transcription minutes, cost and requests in the period (default: this month)."""
    usage = statistics.project_usage(session, principal, start=start, end=end,
                                     project_id=project_id)
    return NumbersAnswer(data=StatisticsNumbers.from_usage(usage))


@router.get("/v1/projects/statistics/chart", dependencies=[READ], response_model=ChartAnswer,
            responses=ERRORS)
def statistics_chart(session: SessionDep, principal: PrincipalDep,
                     start: str | None = START, end: str | None = END,
                     project_id: str | None = PROJECT) -> ChartAnswer:
    """The same figures per day, or per hour when the period is under two days."""
    chart = statistics.project_chart(session, principal, start=start, end=end,
                                     project_id=project_id)
    return ChartAnswer(data=StatisticsChart.from_chart(chart))
