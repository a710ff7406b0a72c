"""The database an admin command works on: the server's, as it is.

`hams serve`, `hams worker` and `hams migrate` create and migrate it; `hams keys`, `hams projects`
and `hams usage` only open it, after saying which, so a command run in the wrong directory
leaves no empty database behind and a newer CLI never changes the schema under running servers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hams.db.session import Database
    from hams.settings import Settings


class AdminError(Exception):
    """Why an admin command cannot run, in command-line words."""


def database_name(settings: Settings) -> str:
    """The database as a user can recognise it: the SQLite file, or the URL without password."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    if url.drivername.startswith("sqlite"):
        memory = url.database in (None, "", ":memory:")
        return ":memory:" if memory else str(Path(url.database).resolve())
    shown = make_url(settings.database_url)._replace(password=None)
    return shown.difference_update_query(["password"]).render_as_string(hide_password=False)


def open_database(settings: Settings) -> Database:
    """The server's database as it is: never created, nor migrated under running servers."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hams.db.migrate import schema_problem
    from hams.db.session import Database

    url = settings.resolved_database_url
    where = database_name(settings)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and not (
            parsed.database and Path(parsed.database).is_file()):
        raise AdminError(
            f"no hams database at {where}. Run `hams migrate` (or `hams serve`) to create it "
            "there, or set HAMS_DATA_DIR (or HAMS_DATABASE_URL) to the server's database")
    print(f"database: {where}", file=sys.stderr)
    db = Database(url)
    try:
        problem = schema_problem(db)
    except SQLAlchemyError as exc:
        db.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise AdminError(f"could not open the database {where}: {reason}") from exc
    if problem is not None:
        db.dispose()
        raise AdminError(f"the database {where} cannot be used: {problem}")
    return db


@contextmanager
def session(settings: Settings) -> Iterator[Session]:
    """A session on the server's migrated database: all an admin command needs."""
    db = open_database(settings)
    try:
        with db.session() as opened:
            yield opened
    finally:
        db.dispose()
