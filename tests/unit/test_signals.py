"""In-process queue wake-ups: a stale token never sleeps, finished jobs are remembered."""

from __future__ import annotations

import threading
import time

from hams.queue.signals import RECENTLY_FINISHED, QueueSignals


def test_work_created_after_the_token_wakes_at_once():
    signals = QueueSignals()
    token = signals.work_token()
    signals.job_created()  # between the empty claim and the wait: must not be missed
    started = time.monotonic()
    signals.wait_for_work(token, timeout=30)
    assert time.monotonic() - started < 5


def test_waiting_worker_is_woken_by_a_new_job():
    signals = QueueSignals()
    token = signals.work_token()
    woke = threading.Event()

    def waiter():
        signals.wait_for_work(token, timeout=30)
        woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    signals.job_created()
    assert woke.wait(10)
    thread.join()


def test_finished_jobs_are_remembered_boundedly():
    signals = QueueSignals()
    assert not signals.finished("a")
    signals.job_finished("a")
    assert signals.finished("a")
    for index in range(RECENTLY_FINISHED):
        signals.job_finished(str(index))
    assert not signals.finished("a") and signals.finished(str(RECENTLY_FINISHED - 1))
