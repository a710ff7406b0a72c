"""Signed, expiring links for pages and files opened without an API key (preview, media)."""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import time
from collections.abc import Iterator
from dataclasses import dataclass

from hams.errors import NotFound, Unauthorized
from hams.storage import BlobStorage


def sign_path(secret: str, path: str, lifetime_seconds: int) -> str:
    """``path`` with ``expires`` and ``signature`` query parameters appended."""
    expires = int(time.time()) + lifetime_seconds
    return f"{path}?expires={expires}&signature={_digest(secret, path, expires)}"


def sign_file(secret: str, key: str, lifetime_seconds: int) -> str:
    """The signed path of a stored file, served by GET /v1/files/{key}."""
    return sign_path(secret, f"/v1/files/{key}", lifetime_seconds)


@dataclass(frozen=True)
class FileLinks:
    """Signed, expiring links under ``base`` (the server as this request's client reaches it):
    every read hands out fresh ones, so a link once read never stays the only one."""

    secret_key: str
    lifetime_seconds: int
    base: str

    def url(self, key: str) -> str:
        """A stored file (GET /v1/files/{key})."""
        return self.base + sign_file(self.secret_key, key, self.lifetime_seconds)

    def page(self, path: str) -> str:
        """A page opened in a browser without a key (the job preview)."""
        return self.base + sign_path(self.secret_key, path, self.lifetime_seconds)


def verify_path(secret: str, path: str, expires: int | None, signature: str | None) -> bool:
    if expires is None or not signature or expires < time.time():
        return False
    return hmac.compare_digest(_digest(secret, path, expires), signature)


def check_signed(secret: str, path: str, expires: int | None, signature: str | None) -> None:
    """Unauthorized unless the link to ``path`` is signed by this server and not expired."""
    if not verify_path(secret, path, expires, signature):
        raise Unauthorized("This link is invalid or has expired")


@dataclass(frozen=True)
class StoredFile:
    """A stored blob to send: its size and how to read it in ranges, or (presigned downloads
    on object storage) the store's own URL to redirect to."""

    key: str
    size: int
    media_type: str
    filename: str | None  # set: sent as an attachment under this name
    storage: BlobStorage
    redirect_url: str | None = None

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        return self.storage.stream(self.key, start, stop)


def stored_file(key: str, *, storage: BlobStorage, media_type: str | None = None,
                filename: str | None = None, presign_seconds: int | None = None) -> StoredFile:
    """What to send for ``key``: 404 when it is gone; a presigned URL when asked and the
    store has one."""
    size = storage.size(key)
    if size is None:
        raise NotFound("File not found")
    media_type = media_type or file_media_type(key)
    redirect = (storage.presigned_url(key, presign_seconds, filename, media_type)
                if presign_seconds else None)
    return StoredFile(key, size, media_type, filename, storage, redirect)


def file_media_type(key: str) -> str:
    """The content type a stored file is sent with, from its name (WAV for speech)."""
    if key.endswith(".wav"):
        return "audio/wav"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def open_signed_file(key: str, expires: int | None, signature: str | None, *,
                     storage: BlobStorage, secret_key: str, download: bool = False,
                     presigned: bool = False) -> StoredFile:
    """The stored file a signed link names (GET /v1/files/{key}); the link is the permission.
    With ``presigned`` the answer is a presigned URL that expires with the link."""
    check_signed(secret_key, f"/v1/files/{key}", expires, signature)
    seconds = max(1, int(expires - time.time())) if presigned and expires else None
    return stored_file(key, storage=storage, filename=key.rsplit("/", 1)[-1] if download
                       else None, presign_seconds=seconds)


def _digest(secret: str, path: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
