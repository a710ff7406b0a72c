"""Domain errors, rendered as the Hamsa envelope by one handler in ``app.py``.

    HamsError                      500 INTERNAL_ERROR (base; never shown with internals)
    ├── BadRequest                 400 BAD_REQUEST
    │   ├── ValidationFailed       400 VALIDATION_ERROR (carries the fields at fault)
    │   ├── UnsupportedLanguage    400 UNSUPPORTED_LANGUAGE
    │   ├── UrlRefused             400 URL_REFUSED (SSRF guard, bad scheme)
    │   └── MediaFetchFailed       400 MEDIA_FETCH_FAILED (404, timeout, connection error)
    ├── Unauthorized               401 UNAUTHORIZED
    ├── PaymentRequired            402 QUOTA_EXCEEDED (a monthly quota; the key names which,
    │                                  e.g. QUOTA_TTS_CHARACTERS_EXCEEDED)
    ├── NotFound                   404 NOT_FOUND (also anything outside the caller's project)
    ├── MethodNotAllowed           405 METHOD_NOT_ALLOWED (carries allow, sent as Allow)
    ├── Conflict                   409 CONFLICT
    │   └── IdempotencyKeyReused   409 IDEMPOTENCY_KEY_REUSED
    ├── PayloadTooLarge            413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMedia           415 UNSUPPORTED_MEDIA (does not decode as audio)
    ├── TooManyRequests            429 TOO_MANY_REQUESTS (carries retry_after, sent as
    │                                  Retry-After)
    ├── ContentGenerationFailed    502 AI_CONTENT_FAILED (the LLM answered with something
    │                                  unusable, e.g. malformed JSON)
    ├── ServiceUnavailable         503 SERVICE_UNAVAILABLE (retryable: also an LLM that keeps
    │                                  answering 429/5xx)
    ├── EngineUnavailable          503 ENGINE_UNAVAILABLE (a model that cannot load; says what
    │                                  to configure)
    ├── NotAvailableYet            501 NOT_IMPLEMENTED (a documented route whose capability
    │                                  hams does not have yet; the message says what is missing)
    ├── JobStillRunning            504 JOB_STILL_RUNNING (a request that waits for its job gave
    │                                  up at its limit; the job goes on)
    └── JobFailed                  the status of the failure's own kind (a job a request
                                       waited for ended FAILED)

``retryable`` tells the worker whether a failure is worth another attempt: bad input is not.
"""

from __future__ import annotations

import math
from typing import Any


class HamsError(Exception):
    """Base of every error hams raises on purpose."""

    status_code = 500
    message_key = "INTERNAL_ERROR"
    retryable = True

    def __init__(self, message: str, *, message_key: str | None = None, data: Any = None):
        super().__init__(message)
        self.message = message
        if message_key:
            self.message_key = message_key
        self.data = data

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers its response carries, in either error shape (envelope or OpenAI)."""
        return {}


class BadRequest(HamsError):
    """The request cannot be served as sent."""

    status_code = 400
    message_key = "BAD_REQUEST"
    retryable = False

    @classmethod
    def at_field(cls, field: str, message: str, *, message_key: str | None = None
                 ) -> BadRequest:
        """This error blaming one field of the request, named in the message and in ``data``
        as request validation names the fields at fault."""
        return cls(f"{field}: {message}", message_key=message_key,
                   data=[{"field": field, "message": message}])


class ValidationFailed(BadRequest):
    """A field is missing, of the wrong type or out of range."""

    message_key = "VALIDATION_ERROR"


class UnsupportedLanguage(BadRequest):
    """The model asked for cannot transcribe the language asked for."""

    message_key = "UNSUPPORTED_LANGUAGE"


class UrlRefused(BadRequest):
    """A URL the server would fetch or post to is not allowed (scheme, private address)."""

    message_key = "URL_REFUSED"


class MediaFetchFailed(BadRequest):
    """The media URL could not be downloaded (HTTP error, timeout, connection refused)."""

    message_key = "MEDIA_FETCH_FAILED"


class Unauthorized(HamsError):
    """No API key, or one that is unknown, revoked or expired."""

    status_code = 401
    message_key = "UNAUTHORIZED"
    retryable = False


class PaymentRequired(HamsError):
    """The project's monthly quota would be exceeded; ``data`` says which, used and limit."""

    status_code = 402
    message_key = "QUOTA_EXCEEDED"
    retryable = False


class NotFound(HamsError):
    """Nothing by that id in the caller's project."""

    status_code = 404
    message_key = "NOT_FOUND"
    retryable = False


class MethodNotAllowed(HamsError):
    """The path exists, but not for this method; ``allow`` lists the methods it takes."""

    status_code = 405
    message_key = "METHOD_NOT_ALLOWED"
    retryable = False

    def __init__(self, message: str, *, allow: list[str]):
        super().__init__(message, data={"allow": allow})
        self.allow = allow

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)}


class Conflict(HamsError):
    """The resource is in a state that does not allow the operation."""

    status_code = 409
    message_key = "CONFLICT"
    retryable = False


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key was sent with a different body."""

    message_key = "IDEMPOTENCY_KEY_REUSED"


class PayloadTooLarge(HamsError):
    """A body, upload or media file is over its configured limit."""

    status_code = 413
    message_key = "PAYLOAD_TOO_LARGE"
    retryable = False


class UnsupportedMedia(HamsError):
    """The file does not decode as audio or video."""

    status_code = 415
    message_key = "UNSUPPORTED_MEDIA"
    retryable = False


class TooManyRequests(HamsError):
    """More than the server (or the caller's limit) takes right now; try again shortly."""

    status_code = 429
    message_key = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, *, retry_after: float = 1.0,
                 message_key: str | None = None):
        super().__init__(message, message_key=message_key, data={"retryAfter": retry_after})
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class ContentGenerationFailed(HamsError):
    """The language model answered, but not with what was asked (malformed or empty JSON)."""

    status_code = 502
    message_key = "AI_CONTENT_FAILED"
    retryable = False


class ServiceUnavailable(HamsError):
    """A dependency (database, storage) is not reachable right now."""

    status_code = 503
    message_key = "SERVICE_UNAVAILABLE"


class EngineUnavailable(HamsError):
    """A model could not be loaded; the message says which setting to change."""

    status_code = 503
    message_key = "ENGINE_UNAVAILABLE"
    retryable = False


class NotAvailableYet(HamsError):
    """A documented Hamsa route whose capability hams does not have yet (e.g. placing phone
    calls); the message names what is missing, so a client knows it is not a bad request."""

    status_code = 501
    message_key = "NOT_IMPLEMENTED"
    retryable = False


class JobStillRunning(HamsError):
    """A request that waits for its job reached its limit; the job goes on and can be read."""

    status_code = 504
    message_key = "JOB_STILL_RUNNING"
    retryable = False  # sending the request again would start the work again

    def __init__(self, message: str, *, job_id: str):
        super().__init__(message, data={"jobId": job_id})
        self.job_id = job_id


class JobFailed(HamsError):
    """A job a request waited for failed: its recorded error, with the status of its kind.

    Not retryable: the worker already made every attempt the job was worth.
    """

    retryable = False

    def __init__(self, message: str, *, job_id: str, message_key: str | None):
        super().__init__(message, message_key=message_key or HamsError.message_key,
                         data={"jobId": job_id})
        self.status_code = status_for_key(self.message_key)
        self.job_id = job_id


def status_for_key(message_key: str) -> int:
    """The HTTP status of the error class that owns ``message_key`` (500 when none does)."""
    pending: list[type[HamsError]] = [HamsError]
    while pending:
        cls = pending.pop()
        if cls.message_key == message_key and cls is not JobFailed:
            return cls.status_code
        pending.extend(cls.__subclasses__())
    return HamsError.status_code
