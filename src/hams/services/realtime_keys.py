"""The realtime WebSocket's API key, checked when it connects and again now and then (revoking
a key must end open connections too), each time in its own short transaction."""

from __future__ import annotations

from hams.db.session import Database
from hams.services.keys import Principal, authenticate


def authenticate_key(db: Database, secret: str | None) -> Principal:
    """The key's project, or Unauthorized."""
    with db.session() as session:
        return authenticate(session, secret)
