"""Blob storage behind one small Protocol: a local directory is the embedded default, an
S3-compatible object store (``HAMS_STORAGE_URL=s3://bucket/prefix``) the shared one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hams.storage.blobs import BlobNotFound, BlobStorage, check_key
from hams.storage.local import LocalStorage

if TYPE_CHECKING:
    from hams.settings import Settings

__all__ = ["BlobNotFound", "BlobStorage", "LocalStorage", "check_key", "storage_from_settings"]


def storage_from_settings(settings: Settings, data_dir: Path) -> BlobStorage:
    """The object store HAMS_STORAGE_URL names (checked now: a wrong bucket or key stops the
    start with the setting to fix), else ``data_dir/blobs``."""
    if not settings.storage_url:
        return LocalStorage(data_dir / "blobs")
    from hams.storage.s3 import S3Storage  # boto3 only where object storage is configured

    return S3Storage.from_settings(settings)
