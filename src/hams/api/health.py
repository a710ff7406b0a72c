"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hams import __version__
from hams.api.deps import RuntimeDep
from hams.db.migrate import is_current
from hams.engines.models import SttModels
from hams.settings import PUBLIC_STT_MODELS, Settings

router = APIRouter(tags=["Health"])


@router.get("/health")
def health() -> dict:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/ready")
def ready(runtime: RuntimeDep) -> JSONResponse:
    """Ready to serve: the database answers and its schema is current. ``stt`` tells, per public
    model, what serves it; a fallback is reported, not a reason to take the server out."""
    database = runtime.db.ping()
    schema = database and is_current(runtime.db)
    ok = database and schema
    return JSONResponse({"status": "ready" if ok else "not ready", "database": database,
                         "schemaCurrent": schema, "stt": stt_status(runtime.settings,
                                                                    runtime.models)},
                        status_code=200 if ok else 503)


def stt_status(settings: Settings, models: SttModels) -> dict[str, dict]:
    """Configured model, what serves it, whether it speaks more than English, and why not."""
    report = {}
    for public in PUBLIC_STT_MODELS:
        status = models.status(settings.engine_model_for(public))
        report[public] = {"configured": status.configured, "servedBy": status.served_by,
                          "state": status.state, "multilingual": status.multilingual,
                          "reason": status.reason, "fix": status.fix}
    return report
