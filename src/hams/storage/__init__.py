"""Blob storage behind one small Protocol; a local directory is the embedded default."""

from hams.storage.local import BlobStorage, LocalStorage

__all__ = ["BlobStorage", "LocalStorage"]
