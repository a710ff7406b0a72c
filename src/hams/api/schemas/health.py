"""Answers of the liveness and readiness routes (not in the Hamsa envelope: load balancers
and orchestrators read them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hams.api.schemas.common import ResponseModel
from hams.engines.models import ModelStatus


class Health(ResponseModel):
    status: Literal["ok"] = "ok"
    version: str


class SttModelStatus(ResponseModel):
    """What serves one public model, whether it speaks more than English, and why not."""

    configured: str
    servedBy: str | None
    state: Literal["loaded", "fallback", "not loaded", "unavailable"]
    multilingual: bool | None
    reason: str | None
    fix: str | None

    @classmethod
    def from_status(cls, status: ModelStatus) -> SttModelStatus:
        return cls(configured=status.configured, servedBy=status.served_by,
                   state=status.state, multilingual=status.multilingual,
                   reason=status.reason, fix=status.fix)


class Readiness(ResponseModel):
    """GET /ready, with 200 when ready and 503 when not (the same body)."""

    status: Literal["ready", "not ready"]
    database: bool
    schemaCurrent: bool
    stt: dict[str, SttModelStatus] = Field(description="Per public model name")
