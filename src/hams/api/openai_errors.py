"""OpenAI's error shape ``{"error": {message, type, param, code}}`` for the OpenAI-compatible
routes, so the openai package raises its own classes; every other route keeps the Hamsa envelope.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from hams.errors import HamsError

OPENAI_PREFIXES = ("/v1/audio/", "/v1/models/")
PARAMS = {"UNKNOWN_VOICE": "voice", "UNSUPPORTED_DIALECT": "voice", "TEXT_TOO_LONG": "input",
          "UNSUPPORTED_LANGUAGE": "language", "UNSUPPORTED_MEDIA": "file",
          "PAYLOAD_TOO_LARGE": "file", "MODEL_NOT_FOUND": "model"}
"""The request field a kind of error is about, when the error does not name one itself."""


def is_openai_path(path: str) -> bool:
    return path == "/v1/models" or path.startswith(OPENAI_PREFIXES)


def openai_error_response(error: HamsError) -> JSONResponse:
    """The error as OpenAI writes it; ``x-should-retry: false`` stops the openai package from
    sending again what cannot succeed (or would redo a job that already had its attempts)."""
    # OpenAI answers 400 for a file it cannot read; the openai package then raises
    # BadRequestError, which is what code written for it catches
    status = 400 if error.status_code == 415 else error.status_code
    body = {"message": error.message, "type": _error_type(status), "param": _param(error),
            "code": "invalid_api_key" if status == 401 else error.message_key.lower()}
    headers = error.headers
    if not error.retryable:
        headers["x-should-retry"] = "false"
    if isinstance(error.data, dict) and error.data.get("jobId"):
        headers["X-Job-Id"] = str(error.data["jobId"])  # the job the request made
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _error_type(status: int) -> str:
    if status == 429:
        return "requests"
    if status == 402:
        return "insufficient_quota"
    return "server_error" if status >= 500 else "invalid_request_error"


def _param(error: HamsError) -> str | None:
    data: Any = error.data
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # validation: the first field at fault
    if isinstance(data, dict) and data.get("field"):
        return str(data["field"])
    return PARAMS.get(error.message_key)
