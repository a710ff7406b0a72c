"""The JSON log formatter: one object per line, the job id from the context, tracebacks kept,
uvicorn's access fields, and keys redacted before anything is written."""

from __future__ import annotations

import json
import logging
import sys
import threading

from hams.cli import RedactKeys
from hams.logs import JsonFormatter, current_job_id, job_context


def record(message: str, *args: object, name: str = "hams.test", exc_info=None
           ) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args or None, exc_info)


def formatted(rec: logging.LogRecord) -> dict:
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    return json.loads(line)


def test_a_line_holds_time_level_logger_and_message():
    entry = formatted(record("ran %d jobs in %s", 3, "مدينة"))
    assert entry.keys() == {"time", "level", "logger", "message"}
    assert entry["message"] == "ran 3 jobs in مدينة"
    assert (entry["level"], entry["logger"]) == ("INFO", "hams.test")
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert "مدينة" in JsonFormatter().format(record("مدينة"))  # not \u-escaped


def test_lines_inside_a_job_context_carry_its_id_and_only_those():
    with job_context("job-1"):
        inner = formatted(record("working"))
        with job_context("job-2"):
            nested = formatted(record("working"))
        assert current_job_id() == "job-1"
    assert (inner["job_id"], nested["job_id"]) == ("job-1", "job-2")
    assert "job_id" not in formatted(record("idle"))


def test_another_thread_does_not_inherit_the_job():
    seen: list[dict] = []
    with job_context("job-1"):
        thread = threading.Thread(target=lambda: seen.append(formatted(record("elsewhere"))))
        thread.start()
        thread.join()
    assert "job_id" not in seen[0]


def test_an_exception_keeps_its_traceback_in_one_line():
    try:
        raise ValueError("bad value")
    except ValueError:
        entry = formatted(record("failed", exc_info=sys.exc_info()))
    assert entry["exception"].startswith("Traceback") and "ValueError: bad value" in entry[
        "exception"]


def test_an_access_line_has_its_fields_and_a_key_in_its_url_is_redacted():
    access = formatted(record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/metrics",
                              "1.1", 200, name="uvicorn.access"))
    assert (access["method"], access["path"], access["status"]) == ("GET", "/metrics", 200)
    leaky = record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                   "/v1/realtime/ws?api_key=secret123", "1.1", 101, name="uvicorn.access")
    assert RedactKeys().filter(leaky)
    entry = formatted(leaky)
    assert "secret123" not in json.dumps(entry) and "api_key=[redacted]" in entry["message"]


def test_a_bad_format_call_is_not_raised_into_the_code_that_logged():
    broken = record("broken %s %s", "only one")
    assert RedactKeys().filter(broken)  # logging reports it on stderr; the caller goes on
