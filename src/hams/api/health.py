"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hams import __version__
from hams.api.deps import RuntimeDep
from hams.db.migrate import is_current

router = APIRouter(tags=["Health"])


@router.get("/health")
def health() -> dict:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/ready")
def ready(runtime: RuntimeDep) -> JSONResponse:
    """Ready to serve: the database answers and its schema is current."""
    database = runtime.db.ping()
    schema = database and is_current(runtime.db)
    ok = database and schema
    return JSONResponse({"status": "ready" if ok else "not ready", "database": database,
                         "schemaCurrent": schema}, status_code=200 if ok else 503)
