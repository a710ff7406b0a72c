"""Projects and API keys: keys are random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hams.db.models import ApiKey, Project, utcnow
from hams.db.session import Database
from hams.errors import Conflict, NotFound, Unauthorized

KEY_PREFIX = "hams_"
LAST_USED_RESOLUTION = timedelta(seconds=60)  # write last_used_at at most once a minute per key


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key and the one project it belongs to."""

    project_id: str
    api_key_id: str
    project_name: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_project(session: Session, name: str) -> Project:
    if session.scalar(select(Project).where(Project.name == name)) is not None:
        raise Conflict(f"A project named {name!r} already exists")
    project = Project(name=name, webhook_secret=secrets.token_hex(32))
    session.add(project)
    session.flush()
    return project


def find_project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"No project named {name!r}")
    return project


def create_key(
    session: Session, project: Project, name: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``project``; the secret is returned here and never again."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        project_id=project.id, name=name, prefix=secret[:12], key_hash=hash_key(secret),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, secret


def revoke_key(session: Session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def authenticate(session: Session, secret: str | None) -> Principal:
    """The principal for a presented key, or Unauthorized for missing/unknown/revoked/expired."""
    if not secret:
        raise Unauthorized(
            "Missing API key: send 'Authorization: Token <key>', 'Bearer <key>' or 'X-Api-Key'"
        )
    row = session.execute(
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.key_hash == hash_key(secret))
    ).first()
    if row is None:
        raise Unauthorized("Invalid API key")
    key, project = row
    now = utcnow()
    if key.revoked_at is not None:
        raise Unauthorized("This API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("This API key has expired")
    if project.is_deactivated:
        raise Unauthorized("This API key's project is deactivated")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Principal(project_id=project.id, api_key_id=key.id, project_name=project.name)


def authenticate_key(db: Database, secret: str | None) -> Principal:
    """``authenticate`` in a short transaction of its own."""
    with db.session() as session:
        return authenticate(session, secret)


class KeyCheck:
    """A long-lived connection's key (the realtime WebSocket): checked when it connects and
    again once ``every_seconds`` have passed, so revoking a key ends open connections too."""

    def __init__(self, db: Database, secret: str | None, *, every_seconds: float):
        self.db, self.secret, self.every_seconds = db, secret, every_seconds
        self._checked_at = -math.inf

    @property
    def due(self) -> bool:
        return time.monotonic() - self._checked_at >= self.every_seconds

    def renew(self) -> Principal:
        """The key's project now, or Unauthorized (a blocking call: run it off the loop)."""
        principal = authenticate_key(self.db, self.secret)
        self._checked_at = time.monotonic()
        return principal


def check_project(principal: Principal, project_id: str | None) -> None:
    """A projectId parameter must name the key's own project; anything else is not found."""
    if project_id and project_id != principal.project_id:
        raise NotFound(f"Project {project_id!r} not found")


def own_project(session: Session, principal: Principal) -> Project:
    """The project the calling key belongs to."""
    project = session.get(Project, principal.project_id)
    if project is None:  # deleted since the key was checked
        raise NotFound("Project not found")
    return project


def ensure_default_project(session: Session) -> tuple[str, str] | None:
    """On first start with an empty database: a default project, its key and webhook secret."""
    if session.scalar(select(Project.id).limit(1)) is not None:
        return None
    project = create_project(session, "default")
    _, secret = create_key(session, project, name="default")
    return secret, project.webhook_secret
