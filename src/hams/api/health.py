"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hams import __version__
from hams.api.deps import RuntimeDep
from hams.api.schemas.common import error_responses
from hams.api.schemas.health import Health, Readiness, SttModelStatus
from hams.services.health import readiness

router = APIRouter(tags=["Health"])
ERRORS = error_responses(413, 500)  # no parameters; only a body over the limit, or a fault
NOT_READY = {503: {"model": Readiness, "description": "Not ready: the database does not "
                   "answer or its schema is not current (the same body as 200)"}}


@router.get("/health", response_model=Health, responses=ERRORS)
def health() -> Health:
    """The process is up."""
    return Health(version=__version__)


@router.get("/ready", response_model=Readiness, responses={**ERRORS, **NOT_READY})
def ready(runtime: RuntimeDep, response: Response) -> Readiness:
    """Ready to serve: the database answers and its schema is current. ``stt`` tells, per public
    model, what serves it; a fallback is reported, not a reason to take the server out."""
    state = readiness(runtime.db, settings=runtime.settings, models=runtime.models)
    if not state.ready:
        response.status_code = 503
    return Readiness(status="ready" if state.ready else "not ready", database=state.database,
                     schemaCurrent=state.schema_current,
                     stt={name: SttModelStatus.from_status(status)
                          for name, status in state.stt.items()})
