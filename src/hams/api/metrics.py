"""GET /metrics: Prometheus' text format, without an API key (it shows no tenant's data).

Left out of the OpenAPI document: it is for the operator's scraper, not a Hamsa client.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hams import metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def read_metrics(request: Request) -> Response:
    """This process's metrics and the database's queue depth and webhook backlog."""
    return Response(metrics.exposition(request.app.state.metrics_registry),
                    media_type=metrics.CONTENT_TYPE)
