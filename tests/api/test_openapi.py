"""The OpenAPI document describes every answer hams gives: each route names its success schema
and every error status it can answer, and a fuzzing run (schemathesis) against a real server
finds no status, content type or body the document does not describe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import SchemathesisError
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hams.app import create_app
from hams.runtime import Runtime
from tests.helpers.server import ServerProcess, start_server

UNAUTHENTICATED = {("/health", "get"), ("/ready", "get"), ("/v1/jobs/{job_id}/preview", "get"),
                   ("/v1/files/{key}", "get")}


def document(runtime: Runtime) -> dict[str, Any]:
    return create_app(runtime.settings, runtime=runtime).openapi()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_route_documents_its_success_and_its_errors(sqlite_runtime: Runtime):
    doc = document(sqlite_runtime)
    missing: list[str] = []
    for path, method, operation in operations(doc):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        if "422" in responses:
            missing.append(f"{where}: documents 422 (hams answers invalid input with 400)")
        successes = [code for code in responses if code.startswith("2")]
        if not successes:
            missing.append(f"{where}: no success response")
        for code, response in responses.items():
            content = response.get("content") or {}
            if not content:
                missing.append(f"{where} {code}: no content described")
            for media_type, body in content.items():
                if "json" in media_type and not body.get("schema"):
                    missing.append(f"{where} {code}: {media_type} without a schema")
                if "json" in media_type and code.startswith("2") and body.get("schema") == {}:
                    missing.append(f"{where} {code}: an empty (untyped) schema")
        errors = {code for code in responses if code[0] in "45"}
        needed = {"500"} | ({"401", "429"} if (path, method) not in UNAUTHENTICATED else set())
        if operation.get("parameters") or operation.get("requestBody"):
            needed.add("400")
        if lacking := needed - errors:
            missing.append(f"{where}: undocumented error statuses {sorted(lacking)}")
    assert not missing, "\n".join(missing)


def test_error_responses_share_the_envelope(sqlite_runtime: Runtime):
    """Hamsa routes' errors are the envelope; OpenAI routes' errors OpenAI's own shape (the
    one exception: /ready answers 503 with the same report as its 200)."""
    doc = document(sqlite_runtime)
    for path, method, operation in operations(doc):
        for code, response in operation["responses"].items():
            if code[0] not in "45" or (path, code) == ("/ready", "503"):
                continue  # /ready's 503 is its report: what is not ready, and why
            schema = response["content"]["application/json"]["schema"]
            name = schema["$ref"].rsplit("/", 1)[-1]
            openai = path.startswith(("/v1/audio/", "/v1/models"))
            assert name == ("OpenAIError" if openai else "ErrorEnvelope"), (method, path, code)


# --- fuzzing a real server ------------------------------------------------------------------

FUZZ_EXAMPLES = 12


def not_an_unexpected_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' 5xx check, less hams' deliberate 501 NOT_IMPLEMENTED: a documented route
    whose capability is not built yet (placing phone calls) answers it to valid requests."""
    if response.status_code == 501 and b'"NOT_IMPLEMENTED"' in response.content:
        return True
    return not_a_server_error(ctx, response, case)


CHECKS = [not_an_unexpected_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: fuzzing creates jobs and keys the shared server's tests would see."""
    process = start_server(tmp_path_factory.mktemp("fuzz"), workers=1, env={
        "HAMS_SYNC_WAIT_SECONDS": "1",
        "HAMS_OPENAI_WAIT_SECONDS": "2",
        "HAMS_TTS_REALTIME_MAX_CHARS": "200",
    })
    yield process
    process.stop()


def test_fuzzed_answers_match_the_document(fuzzed_server: ServerProcess):
    """Every answer to generated requests, valid and invalid, has a documented status, its
    documented content type and a body that validates against the documented schema; none
    is a 500. Failures are gathered per operation (no shrinking: the first one is enough)."""
    openapi = schemathesis.openapi.from_url(f"{fuzzed_server.base_url}/openapi.json")
    headers = {"Authorization": f"Token {fuzzed_server.key}"}
    failures: dict[str, str] = {}
    for result in openapi.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, mode, headers, failures)
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())


def fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str],
                   failures: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if operation.label in failures:
            return
        try:
            case.call_and_validate(headers=headers, timeout=60, checks=CHECKS)
        except (FailureGroup, AssertionError) as exc:  # keep schemathesis' own report
            failures[operation.label] = f"{exc}\n{case.as_curl_command()}"[:3000]

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, operation.label
    except SchemathesisError as exc:  # the document itself cannot be fuzzed here
        failures[operation.label] = f"cannot generate requests: {exc}"
