"""Errors the SDK raises, one class per kind of failure a caller handles differently.

    HamsError                     base: .status_code, .message_key, .message, .body,
                                  .retry_after
    ├── APIConnectionError        no answer: DNS, refused connection, reset, TLS
    │   └── APITimeoutError       no answer within the client's timeout
    ├── BadRequestError           400 / 422 (VALIDATION_ERROR, UNSUPPORTED_LANGUAGE, ...)
    ├── AuthenticationError       401 UNAUTHORIZED: missing, unknown, revoked or expired key
    ├── PermissionDeniedError     403
    ├── NotFoundError             404 NOT_FOUND (also another project's job)
    ├── ConflictError             409 CONFLICT, IDEMPOTENCY_KEY_REUSED, a finished job
    ├── PayloadTooLargeError      413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMediaError     415 UNSUPPORTED_MEDIA
    ├── RateLimitError            429 (.retry_after in seconds, from Retry-After)
    ├── ServerError               5xx
    ├── JobTimeout                a job still running when wait_for_job gave up (also a
    │   │                         TimeoutError; .job is the job as last seen)
    │   └── KnowledgeItemTimeout  a knowledge-base item still PROCESSING when waiting gave
    │                             up (.item as last seen; .job its job, None if unknown)
    └── JobFailed                 Job.raise_for_status() on a FAILED job (.job)

HTTP errors carry the Hamsa envelope's ``messageKey`` and ``message``; WebSocket ``error``
frames become the same classes, chosen by their ``messageKey`` (``status_code`` is then None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hams.client.models import Job, KnowledgeItem


class HamsError(Exception):
    """Base of every error the SDK raises on purpose."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 message_key: str | None = None, body: Any = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.message_key = message_key
        self.body = body
        self.retry_after = retry_after  # seconds, from Retry-After (429, and 503 may send it)

    def __str__(self) -> str:
        parts = [str(self.status_code)] if self.status_code else []
        if self.message_key:
            parts.append(self.message_key)
        return f"{' '.join(parts)}: {self.message}" if parts else self.message


class APIConnectionError(HamsError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """No answer within the client's timeout."""


class BadRequestError(HamsError):
    """The server refused the request as sent (400, or 422 from other servers)."""


class AuthenticationError(HamsError):
    """The API key is missing, unknown, revoked or expired (401)."""


class PermissionDeniedError(HamsError):
    """The key may not do this (403; Hamsa's cloud uses it, hams answers 404 instead)."""


class NotFoundError(HamsError):
    """No such resource in the key's project, or a route the server does not have (404)."""


class ConflictError(HamsError):
    """The resource's state forbids it, or an idempotency key was reused with another body."""


class PayloadTooLargeError(HamsError):
    """The upload or audio exceeds a server limit (413)."""


class UnsupportedMediaError(HamsError):
    """The media does not decode as audio (415)."""


class RateLimitError(HamsError):
    """Too many requests, or the realtime pool is full (429); retry after ``retry_after``."""


class ServerError(HamsError):
    """The server failed (5xx); worth retrying."""


class JobTimeout(HamsError, TimeoutError):
    """The job had not finished when waiting for it ran out of time; it keeps running."""

    def __init__(self, message: str, *, job: Job):
        super().__init__(message, message_key="JOB_TIMEOUT")
        self.job = job


class KnowledgeItemTimeout(JobTimeout):
    """A knowledge-base item was still PROCESSING when waiting for it ran out of time; it
    keeps being processed. ``.item`` is the item as last seen, ``.job`` the job processing it
    (None on a server whose items name no job)."""

    def __init__(self, message: str, *, item: KnowledgeItem, job: Job | None = None):
        HamsError.__init__(self, message, message_key="JOB_TIMEOUT")
        self.item = item
        self.job = job  # type: ignore[assignment]


class JobFailed(HamsError):
    """A job ended FAILED (raised by ``Job.raise_for_status()``, never by waiting itself)."""

    def __init__(self, message: str, *, job: Job):
        super().__init__(message, message_key="JOB_FAILED")
        self.job = job


_BY_STATUS: dict[int, type[HamsError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError,
    415: UnsupportedMediaError, 422: BadRequestError, 429: RateLimitError,
}
_BY_KEY: dict[str, type[HamsError]] = {
    "UNAUTHORIZED": AuthenticationError, "NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError, "IDEMPOTENCY_KEY_REUSED": ConflictError,
    "PAYLOAD_TOO_LARGE": PayloadTooLargeError, "UNSUPPORTED_MEDIA": UnsupportedMediaError,
    "TOO_MANY_REQUESTS": RateLimitError, "REALTIME_BUSY": RateLimitError,
    "INTERNAL_ERROR": ServerError, "SERVICE_UNAVAILABLE": ServerError,
    "ENGINE_UNAVAILABLE": ServerError,
}


def error_for(message: str, *, status_code: int | None = None, message_key: str | None = None,
              body: Any = None, retry_after: float | None = None) -> HamsError:
    """The error class for a status code, or for a message key when there is no status (the
    WebSocket); anything unknown is a plain HamsError."""
    if status_code is not None:
        cls = _BY_STATUS.get(status_code) or (ServerError if status_code >= 500 else HamsError)
    else:
        cls = _BY_KEY.get(message_key or "") or (
            BadRequestError if message_key else HamsError)
    return cls(message, status_code=status_code, message_key=message_key, body=body,
               retry_after=retry_after)
