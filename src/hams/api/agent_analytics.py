"""Agent analytics: overview, performance and satisfaction of voice-agent conversations over a
period, computed from the conversation records (``services/agent_analytics.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from hams.api.deps import READ, PrincipalDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.conversations import (
    AnalyticsOverview,
    AnalyticsPerformance,
    AnalyticsSatisfaction,
)
from hams.services import agent_analytics
from hams.services.agent_analytics import AnalyticsQuery

router = APIRouter(tags=["Agent analytics"])
BASE = "/v1/agent-analytics"
ERRORS = error_responses(*AUTHENTICATED)
Period = Literal["LAST_HOUR", "TODAY", "YESTERDAY", "THIS_WEEK", "THIS_MONTH", "CUSTOM"]


def analytics_query(
    voiceAgentId: Annotated[str | None, Query(max_length=100,
                                              description="One agent (omit: all)")] = None,
    period: Period = "TODAY",
    startPeriod: Annotated[str | None, Query(max_length=40, description=(
        "Epoch ms (or an ISO 8601 date or datetime); required with CUSTOM"))] = None,
    endPeriod: Annotated[str | None, Query(max_length=40, description=(
        "Epoch ms (or an ISO 8601 date or datetime), exclusive; required with CUSTOM"))] = None,
    timeDifference: Annotated[str, Query(max_length=10, description=(
        'The caller\'s local time minus UTC, in hours ("3" = UTC+3, "-5", "5.5")'))] = "0",
) -> AnalyticsQuery:
    return AnalyticsQuery(voice_agent_id=voiceAgentId, period=period,
                          start_period=startPeriod, end_period=endPeriod,
                          time_difference=timeDifference)


QueryDep = Annotated[AnalyticsQuery, Depends(analytics_query)]


@router.get(BASE + "/overview", dependencies=[READ],
            response_model=Envelope[AnalyticsOverview], responses=ERRORS)
def overview(session: SessionDep, principal: PrincipalDep,
             query: QueryDep) -> Envelope[AnalyticsOverview]:
    """Sessions, durations, messages and calls over time in the period."""
    view = agent_analytics.overview(session, principal, query)
    return Envelope[AnalyticsOverview](data=AnalyticsOverview.of(view))


@router.get(BASE + "/performance", dependencies=[READ],
            response_model=Envelope[AnalyticsPerformance], responses=ERRORS)
def performance(session: SessionDep, principal: PrincipalDep,
                query: QueryDep) -> Envelope[AnalyticsPerformance]:
    """Latency by stage (speech recognition, LLM, speech synthesis) and the failed share."""
    view = agent_analytics.performance(session, principal, query)
    return Envelope[AnalyticsPerformance](data=AnalyticsPerformance.of(view))


@router.get(BASE + "/satisfaction", dependencies=[READ],
            response_model=Envelope[AnalyticsSatisfaction], responses=ERRORS)
def satisfaction(session: SessionDep, principal: PrincipalDep,
                 query: QueryDep) -> Envelope[AnalyticsSatisfaction]:
    """The sentiment of the period's analysed sessions (survey scores are null in hams)."""
    view = agent_analytics.satisfaction(session, principal, query)
    return Envelope[AnalyticsSatisfaction](data=AnalyticsSatisfaction.of(view))
