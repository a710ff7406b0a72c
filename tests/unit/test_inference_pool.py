"""The bounded realtime pool: admits workers + queue calls, refuses the rest at once, and
keeps counting a call whose caller gave up until its work has really ended."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hams.engines.pool import InferencePool
from hams.errors import TooManyRequests


def test_admits_up_to_capacity_then_refuses():
    async def scenario() -> list:
        pool = InferencePool(workers=1, queue=1, retry_after=3)
        gate = threading.Event()
        running = [asyncio.create_task(pool.run(gate.wait, 10)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(TooManyRequests) as refused:
            await pool.run(lambda: "never")
        assert refused.value.retry_after == 3 and refused.value.status_code == 429
        gate.set()
        results = await asyncio.gather(*running)
        assert await pool.run(lambda: "after") == "after"
        pool.shutdown()
        return results

    assert asyncio.run(scenario()) == [True, True]


def test_a_cancelled_caller_keeps_its_slot_until_the_work_ends():
    async def scenario() -> None:
        pool = InferencePool(workers=1, queue=0)
        gate, started = threading.Event(), threading.Event()

        def work() -> str:
            started.set()
            gate.wait(10)
            return "done"

        task = asyncio.create_task(pool.run(work))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.admitted == 1  # the inference is still running on its thread
        with pytest.raises(TooManyRequests):
            await pool.run(lambda: "no room")
        gate.set()
        for _ in range(100):
            if pool.admitted == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.admitted == 0
        assert await pool.run(lambda: "room") == "room"
        pool.shutdown()

    asyncio.run(scenario())


def test_errors_propagate_and_free_the_slot():
    async def scenario() -> None:
        pool = InferencePool(workers=1, queue=0)

        def fail() -> None:
            raise ValueError("bad audio")

        with pytest.raises(ValueError, match="bad audio"):
            await pool.run(fail)
        await asyncio.sleep(0.01)
        assert pool.admitted == 0
        pool.shutdown()

    asyncio.run(scenario())


def test_a_stream_holds_one_slot_until_it_ends():
    async def scenario() -> list:
        pool = InferencePool(workers=1, queue=0)
        stream = pool.stream(iter([b"a", b"b", b"c"]))
        first = await anext(stream)
        assert pool.admitted == 1
        with pytest.raises(TooManyRequests):
            await pool.run(lambda: "no room while the stream is open")
        rest = [item async for item in stream]
        assert pool.admitted == 0
        pool.shutdown()
        return [first, *rest]

    assert asyncio.run(scenario()) == [b"a", b"b", b"c"]


def test_a_stream_closed_early_gives_its_slot_back():
    async def scenario() -> None:
        pool = InferencePool(workers=1, queue=0)
        stream = pool.stream(iter(range(10)))
        assert await anext(stream) == 0
        await stream.aclose()
        assert pool.admitted == 0
        full = InferencePool(workers=1, queue=0)
        blocker = full.stream(iter([1]))
        await anext(blocker)
        refused = full.stream(iter([2]))
        with pytest.raises(TooManyRequests):
            await anext(refused)
        assert full.admitted == 1
        await blocker.aclose()
        pool.shutdown()
        full.shutdown()

    asyncio.run(scenario())
