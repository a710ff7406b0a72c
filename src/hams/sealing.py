"""Secrets kept at rest (agents' LLM keys, web-tool tokens, Twilio tokens, SIP passwords),
sealed with AES-GCM under a key derived from the server secret, and shown only masked.

The key is derived (HKDF-SHA256) rather than the server secret used directly, so the link
signatures and the sealed values never share a key. Changing ``HAMS_SECRET_KEY`` makes sealed
values unreadable: ``SecretBox.open`` then raises ``SealedSecretUnreadable``.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hams.errors import HamsError

_FORMAT = "v1:"
_NONCE_BYTES = 12


class SealedSecretUnreadable(HamsError):
    """A sealed value that this server's key cannot open (the secret key changed): a
    configuration problem, answered 503 with what to do rather than an opaque 500."""

    status_code = 503
    message_key = "SECRET_UNREADABLE"
    retryable = False


class SecretBox:
    """Seals and opens small strings; every sealed value carries its own random nonce."""

    def __init__(self, server_secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"hams sealed secrets v1").derive(server_secret.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return _FORMAT + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(_FORMAT):
            raise SealedSecretUnreadable("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_FORMAT):])
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealedSecretUnreadable(
                "a stored secret cannot be read with this server's key (was HAMS_SECRET_KEY "
                "changed?); set the secret again") from exc

    def seal_fields(self, values: dict[str, str | None]) -> str | None:
        """Several named secrets in one sealed column; None when there are none."""
        kept = {name: value for name, value in values.items() if value}
        return self.seal(json.dumps(kept, sort_keys=True)) if kept else None

    def open_fields(self, sealed: str | None) -> dict[str, str]:
        return json.loads(self.open(sealed)) if sealed else {}


def mask(secret: str | None) -> str | None:
    """What the API shows of a secret: its kind prefix and last four characters
    (``sk-…a1b2``); nothing of a short one."""
    if not secret:
        return None
    if len(secret) < 12:
        return "…"
    prefix, dash, _ = secret.partition("-")
    # a kind prefix is letters (sk-, ghp-); hex or digits before a dash are part of the secret
    is_kind = prefix.isalpha() and len(prefix) <= 8 and not set(prefix.lower()) <= set("abcdef")
    head = prefix + dash if dash and is_kind else ""
    return f"{head}…{secret[-4:]}"


def is_masked(value: str | None) -> bool:
    """Whether a client sent back the masked form it read (keep the stored secret)."""
    return bool(value) and "…" in value
