"""The tests' own shared helpers: one of each, where everyone finds it, and doing what it says."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.factories import make_job
from tests.helpers.wait import wait_until

TESTS = Path(__file__).resolve().parents[1]
OWNERS = {"wait_until": "helpers/wait.py", "make_job": "factories.py",
          "make_jobs": "factories.py", "load_job": "factories.py"}


def test_each_shared_helper_is_defined_once_in_its_place() -> None:
    """A second ``wait_until``, job factory or job loader is a copy that drifts: use the one."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in OWNERS:
                found[node.name].append(path.relative_to(TESTS).as_posix())
    assert dict(found) == {name: [owner] for name, owner in OWNERS.items()}


def test_wait_until_returns_the_first_truthy_answer() -> None:
    answers = iter([0, None, [], "ready", "later"])
    assert wait_until(lambda: next(answers), 5, interval=0, what="an answer") == "ready"


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"after 0\.01s waiting for the moon \(last answer: "
                                             r"\[\]\)"):
        wait_until(lambda: [], 0.01, interval=0, what="the moon")
    with pytest.raises(AssertionError, match="waiting for a job, still queued"):
        wait_until(lambda: False, 0, what=lambda: "a job, still queued")


def test_an_unstored_job_has_the_defaults_and_the_values_given() -> None:
    job = make_job(None, title="t", from_lng="ar")
    assert (job.type, job.title, job.from_lng, job.project_id) == ("TRANSCRIPTION", "t", "ar", None)
