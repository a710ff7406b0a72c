"""Blobs in a local directory, addressed by slash-separated keys: the embedded default."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from hams.storage.blobs import DEFAULT_CHUNK_BYTES, BlobNotFound, check_key


class LocalStorage:
    """Stores blobs as files under ``root``; refuses keys that would escape it. Every write
    goes to a temporary file beside the blob and is renamed into place, so a reader never
    sees half a blob."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Where ``key`` lives on disk (parents created): local storage only, for tests and
        tools that inspect the directory."""
        path = self._resolve(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.writer(key) as out:
            out.write(data)

    def write_file(self, key: str, path: Path) -> None:
        with path.open("rb") as source, self.writer(key) as out:
            shutil.copyfileobj(source, out, DEFAULT_CHUNK_BYTES)

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        target = self.path_for(key)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                       suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)

    def read_bytes(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        yield self._existing(key)

    def stream(self, key: str, start: int = 0, stop: int | None = None,
               chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        path = self._existing(key)

        def chunks() -> Iterator[bytes]:  # opened on first read: a response may never start
            with path.open("rb") as source:
                source.seek(start)
                left = None if stop is None else stop - start
                while left is None or left > 0:
                    chunk = source.read(chunk_bytes if left is None else min(chunk_bytes, left))
                    if not chunk:
                        return
                    if left is not None:
                        left -= len(chunk)
                    yield chunk

        return chunks()

    def size(self, key: str) -> int | None:
        path = self._resolve(key)
        return path.stat().st_size if path.is_file() else None

    def exists(self, key: str) -> bool:
        return self._resolve(key).is_file()

    def delete_prefix(self, prefix: str) -> None:
        path = self._resolve(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink(missing_ok=True)

    def presigned_url(self, key: str, seconds: int, filename: str | None = None,
                      content_type: str | None = None) -> str | None:
        return None  # the API's signed links are the only way in

    def _resolve(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def _existing(self, key: str) -> Path:
        path = self._resolve(key)
        if not path.is_file():
            raise BlobNotFound("The stored file no longer exists")
        return path
