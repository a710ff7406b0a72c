"""Idempotency-Key: the same key and body within the window return what the first call made."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hams.db.models import IdempotencyKey, utcnow
from hams.errors import Conflict, IdempotencyKeyReused


def fingerprint(body: Any) -> str:
    """A stable hash of a request body (JSON-able, or bytes already hashed by the caller)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def find_resource(session: Session, project_id: str, key: str, request_hash: str,
                  hours: float) -> str | None:
    """The id made by an earlier request with this key, None if there was none (or it expired).

    The same key with a different body is refused: it is a client bug, not a retry.
    """
    record = session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.project_id == project_id, IdempotencyKey.key == key))
    if record is None:
        return None
    if record.created_at < utcnow() - timedelta(hours=hours):
        session.delete(record)
        session.flush()
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body")
    return record.resource_id


def remember(session: Session, project_id: str, key: str, request_hash: str,
             resource_id: str) -> None:
    """Record the key with what it made, in the creating transaction."""
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(project_id=project_id, key=key,
                                       request_hash=request_hash, resource_id=resource_id))
    except IntegrityError as exc:  # a concurrent request with the same key won the race
        raise Conflict("A request with this Idempotency-Key is in progress; retry") from exc
