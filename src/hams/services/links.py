"""Signed, expiring links for pages and files opened without an API key (preview, media)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

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


def open_signed_file(key: str, expires: int | None, signature: str | None, *,
                     storage: BlobStorage, secret_key: str) -> Path:
    """The stored file a signed link names (GET /v1/files/{key}); the link is the permission."""
    check_signed(secret_key, f"/v1/files/{key}", expires, signature)
    if not storage.exists(key):
        raise NotFound("File not found")
    return storage.path_for(key)


def _digest(secret: str, path: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
