"""The Hamsa envelope ``{success, message, messageKey, data}`` for answers and errors."""

from __future__ import annotations

import math
from typing import Any

from fastapi.responses import JSONResponse

from hams.errors import HamsError, TooManyRequests


def ok(data: Any, message: str = "Operation completed successfully",
       message_key: str = "OPERATION_SUCCESSFUL", **extra: Any) -> dict[str, Any]:
    return {"success": True, "message": message, "messageKey": message_key, **extra,
            "data": data}


def error_response(error: HamsError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"success": False, "message": error.message, "messageKey": error.message_key,
            "data": error.data}
    if isinstance(error, TooManyRequests):
        headers = {**(headers or {}), "Retry-After": str(max(1, math.ceil(error.retry_after)))}
    return JSONResponse(body, status_code=error.status_code, headers=headers)
