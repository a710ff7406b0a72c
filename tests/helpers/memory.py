"""Memory measured in a test: what Python and numpy allocate while a call runs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def traced_peak(call: Callable[[], object]) -> int:
    """Peak bytes allocated by Python and numpy during ``call`` (native libraries' own
    allocations, libav's or zlib's internals, are not seen)."""
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak
