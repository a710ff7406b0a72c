"""Apply Alembic migrations; every entry point calls this before serving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hams.db.session import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 7_202_611  # advisory lock id: replicas starting together migrate one at a time


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the latest by default), safely when several processes
    start at once."""
    _migrate(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    """Take the schema back to ``revision`` (a rollback); data in what remains is kept."""
    _migrate(db, command.downgrade, revision)


def _migrate(db: Database, step: Callable[[Config, str], None], revision: str) -> None:
    """One Alembic command in one transaction; on PostgreSQL one process at a time."""
    config = _config()
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        step(config, revision)


def is_current(db: Database) -> bool:
    """Whether the database is at the latest revision (for /ready)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
