"""The blob storage interface: operations a local directory and an object store can both do.

Nothing here hands out a path to keep: a blob is written whole (bytes, a local file, or a
writer committed on clean exit), read whole, streamed in byte ranges, or copied to a local
file for the length of a ``with`` block (PyAV and the extractors need a file).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

from hams.errors import NotFound

DEFAULT_CHUNK_BYTES = 1024 * 1024  # what a streaming read yields at a time


class BlobNotFound(NotFound):
    """No blob under that key (deleted, or never written); not worth retrying."""


class BlobStorage(Protocol):
    """Where media and generated files live; keys look like ``jobs/<id>/source``."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def write_file(self, key: str, path: Path) -> None:
        """Store a copy of the local file ``path`` (S3: in parts above S3_MULTIPART_BYTES)."""
        ...

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A file to write ``key`` into; stored only if the block exits cleanly."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The whole blob (for small ones: documents, recordings read by tests)."""
        ...

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """A local file holding the blob for the block's length: the real file on local
        storage, a temporary download (removed on exit) on S3."""
        ...

    def stream(self, key: str, start: int = 0, stop: int | None = None,
               chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        """Bytes ``start`` to ``stop`` (exclusive; None = the end), a chunk at a time."""
        ...

    def size(self, key: str) -> int | None:
        """The blob's size in bytes; None when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove the blob ``prefix`` and every blob under ``prefix/``; missing blobs are
        not an error."""
        ...

    def presigned_url(self, key: str, seconds: int, filename: str | None = None,
                      content_type: str | None = None) -> str | None:
        """A URL the object store itself answers for ``seconds``; None for local storage."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is a plain relative path; a key that could name something outside the
    store (``..``, absolute, empty parts, control characters) is refused on every backend."""
    parts = key.split("/")
    if (not key or key.startswith("/") or "\\" in key
            or any(part in ("", ".", "..") for part in parts)
            or any(ord(c) < 32 or ord(c) == 127 for c in key)):
        raise ValueError(f"storage key escapes the storage root or is malformed: {key!r}")
    return key


def content_disposition(filename: str) -> str:
    """An attachment header that survives any file name (RFC 6266's ``filename*``)."""
    quoted = quote(filename)
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quoted}"
