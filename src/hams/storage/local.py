"""Blobs in a local directory, addressed by slash-separated keys."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol


class BlobStorage(Protocol):
    """Where media and generated files live; keys look like ``jobs/<id>/source``."""

    def path_for(self, key: str) -> Path:
        """A local path for reading or writing ``key`` (parents created)."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under ``prefix``; missing blobs are not an error."""
        ...


class LocalStorage:
    """Stores blobs as files under ``root``; refuses keys that would escape it."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _resolve(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def path_for(self, key: str) -> Path:
        path = self._resolve(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def exists(self, key: str) -> bool:
        return self._resolve(key).is_file()

    def delete_prefix(self, prefix: str) -> None:
        path = self._resolve(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink(missing_ok=True)
