"""Signed, expiring links for pages and files opened without an API key (preview, media)."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign_path(secret: str, path: str, lifetime_seconds: int) -> str:
    """``path`` with ``expires`` and ``signature`` query parameters appended."""
    expires = int(time.time()) + lifetime_seconds
    return f"{path}?expires={expires}&signature={_digest(secret, path, expires)}"


def sign_file(secret: str, key: str, lifetime_seconds: int) -> str:
    """The signed path of a stored file, served by GET /v1/files/{key}."""
    return sign_path(secret, f"/v1/files/{key}", lifetime_seconds)


def verify_path(secret: str, path: str, expires: int | None, signature: str | None) -> bool:
    if expires is None or not signature or expires < time.time():
        return False
    return hmac.compare_digest(_digest(secret, path, expires), signature)


def _digest(secret: str, path: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
