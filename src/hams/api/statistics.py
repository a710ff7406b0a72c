"""API Statistics Routes: the caller's project usage over a period, as numbers and as a chart."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from hams.api.deps import PrincipalDep, SessionDep, get_principal
from hams.api.envelope import ok
from hams.api.jobs import check_project
from hams.services import statistics

router = APIRouter(tags=["Statistics"], dependencies=[Depends(get_principal)])

START = Query(None, alias="startPeriod", description="Epoch ms, ISO date or datetime")
END = Query(None, alias="endPeriod", description="Epoch ms, ISO date or datetime (exclusive)")
PROJECT = Query(None, alias="projectId")


@router.get("/v1/projects/statistics/numbers")
def statistics_numbers(session: SessionDep, principal: PrincipalDep,
                       start: str | None = START, end: str | None = END,
                       project_id: str | None = PROJECT) -> dict:
    """Tokens, transcription minutes, cost and requests in the period (default: this month)."""
    check_project(principal, project_id)
    within = statistics.period(start, end)
    return ok(statistics.numbers(session, principal.project_id, within))


@router.get("/v1/projects/statistics/chart")
def statistics_chart(session: SessionDep, principal: PrincipalDep,
                     start: str | None = START, end: str | None = END,
                     project_id: str | None = PROJECT) -> dict:
    """The same figures per day, or per hour when the period is under two days."""
    check_project(principal, project_id)
    within = statistics.period(start, end)
    return ok(statistics.chart(session, principal.project_id, within))
