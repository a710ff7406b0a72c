"""Undo a response's Content-Encoding in bounded steps.

A server may compress a body although the request asked for ``identity``. Decoding it in one
call is a memory bomb: a few KB of gzip inflate to gigabytes, ``gzip, gzip`` to far more. Here
every layer yields at most DEFAULT_STEP bytes per call, so the caller's byte count sees the decoded
size as it grows and can stop at its limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

DEFAULT_STEP = 64 * 1024  # the most bytes one decompression call may produce
_ZLIB_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16,
               "deflate": zlib.MAX_WBITS}
UNDECODED = frozenset({"br", "zstd", "compress", "x-compress"})


class BodyDecodeError(Exception):
    """The body is compressed in a way hams does not decode, or its compression is broken."""


def decoded_chunks(raw: Iterable[bytes], content_encoding: str | None) -> Iterator[bytes]:
    """The body as it arrives, each Content-Encoding undone, last applied first."""
    chunks = iter(raw)
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    for name in reversed(names):
        if name in _ZLIB_WBITS:
            chunks = _inflate(chunks, name)
        elif name in UNDECODED:
            raise BodyDecodeError(f"is compressed with {name!r} (Content-Encoding), which "
                                  "hams does not decode; serve it uncompressed")
        # anything else (identity, a mislabel) passes through as is, as httpx does
    return chunks


def _inflate(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """One gzip/deflate layer, never more than DEFAULT_STEP bytes out of one call."""
    inflater = zlib.decompressobj(_ZLIB_WBITS[name])
    started = False
    for chunk in chunks:
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, DEFAULT_STEP)
            except zlib.error as exc:
                if name == "deflate" and not started:  # raw deflate, without zlib's header
                    inflater, started = zlib.decompressobj(-zlib.MAX_WBITS), True
                    continue
                raise BodyDecodeError(f"is not valid {name} (Content-Encoding)") from exc
            started = True
            if out:
                yield out
            data = inflater.unconsumed_tail
    rest = inflater.flush()  # at most the tail of one match: the input is all consumed
    if rest:
        yield rest
