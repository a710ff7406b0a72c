"""The shapes every route shares: the Hamsa envelope around an answer, the error envelope, and
the ``responses=`` a route declares so the OpenAPI document names every status it can answer."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DataT = TypeVar("DataT")
Number = int | float  # kept as computed or stored: an int 0 stays 0, a float 0.0 stays 0.0


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and a Z, the way Hamsa writes times."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def absent(value: object) -> bool:
    """``exclude_if`` for fields the wire leaves out, rather than sends as null."""
    return value is None


class WireModel(BaseModel):
    """Base of request bodies: unknown fields are ignored, since real Hamsa clients send
    extras (e.g. ``diarization``)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


HEADER_SAFE = r"^[^\r\n\x00]*$"  # sent as an HTTP header: no line breaks
NO_NUL = r"^[^\x00]*$"  # stored in a text column: PostgreSQL cannot hold NUL


def finite_json(value: Any) -> Any:
    """Free-form JSON that every database stores: no NaN or Infinity (Python's json writes
    them, PostgreSQL refuses them)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError as exc:
        raise ValueError("numbers must be finite (no NaN or Infinity)") from exc
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(finite_json)]


class WebhookAuth(WireModel):
    """The header a job's webhook is sent with (``authKey: authSecret``)."""

    authKey: str = Field("", max_length=500, pattern=HEADER_SAFE)
    authSecret: str = Field("", max_length=2000, pattern=HEADER_SAFE)


class ResponseModel(BaseModel):
    """Base of the answer models: fields are the wire's own names, in the wire's order."""

    model_config = ConfigDict(from_attributes=True)


class Envelope(ResponseModel, Generic[DataT]):
    """``{success, message, messageKey, data}``: how every Hamsa answer is wrapped."""

    success: bool = True
    message: str = "Operation completed successfully"
    messageKey: str = "OPERATION_SUCCESSFUL"
    data: DataT


class ErrorEnvelope(ResponseModel):
    """Every Hamsa-route error: ``data`` holds the fields at fault, or details such as jobId."""

    success: bool = False
    message: str
    messageKey: str
    data: Any = None


class OpenAIErrorBody(ResponseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(ResponseModel):
    """OpenAI's error shape, on the OpenAI-compatible routes."""

    error: OpenAIErrorBody


STATUS_MEANINGS = {
    400: "Bad request: a field at fault (VALIDATION_ERROR) or input that cannot be used",
    401: "Missing, unknown, revoked or expired API key",
    402: "The project's monthly quota is spent",
    404: "Not found (another project's resource is not found either)",
    405: "Method not allowed on this path (the Allow header names the ones that are)",
    409: "Conflict with the resource's state, or an Idempotency-Key reused with another body",
    413: "Request body, media or text over its limit",
    415: "Media that cannot be decoded",
    429: "Over the key's rate limit, or the realtime capacity is full (Retry-After)",
    500: "Unexpected error (details only in the server log)",
    501: "A documented route whose capability hams does not have yet (the message says what)",
    502: "A service hams calls (the LLM endpoint) failed",
    503: "A model or engine is not available (the message says what to configure)",
    504: "The job did not finish within the wait",
}
COMMON = (400, 413, 500)  # any route with a body or parameters; any route at all
AUTHENTICATED = (*COMMON, 401, 429, 503)  # behind an API key (checked in the database)


def error_responses(*statuses: int, openai: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: each status with the error model it answers."""
    model = OpenAIError if openai else ErrorEnvelope
    return {status: {"model": model, "description": STATUS_MEANINGS[status]}
            for status in sorted(set(statuses))}
