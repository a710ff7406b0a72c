"""Waiting on a condition instead of sleeping a fixed time: the one polling loop of the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, *, interval: float = 0.05,
               what: str | Callable[[], str]) -> T:
    """Poll ``condition`` until its answer is truthy and return that answer.

    ``condition`` is asked once more after ``timeout`` seconds; if it still answers falsy, the
    test fails with a message naming ``what`` was awaited (a string, or a function called only
    then, to describe the state the wait ended in) and the last answer. ``interval`` is the pause
    between two questions (0 for a condition that blocks by itself, like a long poll)."""
    deadline = time.monotonic() + timeout
    while not (answer := condition()):
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {described} "
                                 f"(last answer: {answer!r:.200})")
        time.sleep(interval)
    return answer
