"""Engine and sessions for SQLite (WAL, embedded default) and PostgreSQL (scaled)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hams.errors import ServiceUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
_AFTER_COMMIT = "hams.after_commit"  # session.info key; only this module reads or writes it


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once ``session``'s transaction has committed (never on rollback): the
    one hook other layers (the queue's wake-ups, blob clean-ups) use, without db knowing them."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def on_dispose(db: Database, action: Callable[[], None]) -> None:
    """Run ``action`` when ``db`` is disposed: threads that hold a connection of their own
    (the queue's wake-up listener) end with the database they serve."""
    db._on_dispose.append(action)  # noqa: SLF001 - this module's own hook


class Database:
    """One engine and session factory per process, shared by the API and the workers."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _create_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._on_dispose: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
                for action in session.info.pop(_AFTER_COMMIT, []):
                    action()
            except OperationalError as exc:
                session.rollback()
                raise ServiceUnavailable("The database is not reachable right now") from exc
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except OperationalError:
            return False

    def dispose(self) -> None:
        while self._on_dispose:
            self._on_dispose.pop()()
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _create_sqlite_engine(url: str) -> Engine:
    """SQLite with WAL and BEGIN IMMEDIATE, so writers queue on the lock instead of failing."""
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=20,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
