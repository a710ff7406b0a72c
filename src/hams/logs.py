"""Log lines as JSON objects (``HAMS_LOG_FORMAT=json``), each tagged with the job it belongs to.

The job id travels in a context variable set around a job's work (``job_context``), so every
line logged by that work, in any module, carries it without being passed down. A thread does
not inherit it: work handed to another thread is tagged only if that thread sets it too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_JOB_ID: ContextVar[str | None] = ContextVar("hams_job_id", default=None)
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")  # uvicorn.access's args


@contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    """Tag every line logged inside the block (in this thread) with ``job_id``."""
    token = _JOB_ID.set(job_id)
    try:
        yield
    finally:
        _JOB_ID.reset(token)


def current_job_id() -> str | None:
    return _JOB_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and when they apply job_id,
    exception (the formatted traceback) and an access line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None) or _JOB_ID.get()
        if job_id:
            entry["job_id"] = job_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == len(ACCESS_FIELDS):
            entry.update(zip(ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
