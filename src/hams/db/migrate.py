"""Apply Alembic migrations; `hams migrate`, `hams serve` and `hams worker` call this before
serving, and admin commands check with :func:`schema_problem` that it has been done."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from hams.db.session import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 7_202_611  # advisory lock id: replicas starting together migrate one at a time


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once: they cannot change while the process runs."""
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The revision this hams's code expects."""
    return _scripts().get_current_head()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision`` (the latest by default), safely when several processes
    start at once; the revisions before and after, so callers can say what changed."""
    return _migrate(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    """Take the schema back to ``revision`` (a rollback); data in what remains is kept."""
    _migrate(db, command.downgrade, revision)


def _migrate(db: Database, step: Callable[[Config, str], None], revision: str
             ) -> tuple[str | None, str | None]:
    """One Alembic command in one transaction; on PostgreSQL one process at a time."""
    config = _config()
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        before = _revision(conn)
        config.attributes["connection"] = conn
        step(config, revision)
        after = _revision(conn)
    return before, after


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def current_revision(db: Database) -> str | None:
    """The revision the database is at; None when it has no hams schema."""
    with db.engine.connect() as conn:
        return _revision(conn)


def is_current(db: Database) -> bool:
    """Whether the database is at the latest revision (for /ready)."""
    return current_revision(db) == head_revision()


def schema_problem(db: Database) -> str | None:
    """Why an admin command must not use this database (it does not migrate it), or None."""
    current, head = current_revision(db), head_revision()
    if current == head:
        return None
    if current is None:
        return "it has no hams schema: run `hams migrate` to create it"
    known = {script.revision for script in _scripts().walk_revisions()}
    if current not in known:
        return (f"its schema (revision {current}) was made by a newer hams than this one "
                f"(which knows up to {head}): upgrade hams")
    return f"its schema is at revision {current}, this hams needs {head}: run `hams migrate`"
