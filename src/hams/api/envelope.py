"""The Hamsa error envelope ``{success, message, messageKey, data}`` (answers are shaped by
the wire models in ``api/schemas/common.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

from hams.errors import HamsError, ValidationFailed


def error_response(error: HamsError) -> JSONResponse:
    body = {"success": False, "message": error.message, "messageKey": error.message_key,
            "data": error.data}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


def validation_failed(errors: Sequence[Any], subject: str = "request",
                      whole: str = "body") -> ValidationFailed:
    """Pydantic's errors as one ValidationFailed: every field at fault in ``data``, the first
    five in the message. ``whole`` names the input itself when no field is to blame."""
    fields = [{"field": _field_name(e), "message": e["msg"]} for e in errors]
    summary = "; ".join(f"{f['field'] or whole}: {f['message']}" for f in fields[:5])
    return ValidationFailed(f"Invalid {subject}: {summary}", data=fields)


def _field_name(error: Any) -> str:
    """``mediaUrl`` or ``srtOptions.maxCharsPerLine``; the body as a whole for broken JSON."""
    if error.get("type") == "json_invalid":
        return "body"
    return ".".join(str(part) for part in error["loc"] if part not in ("body", "query"))
