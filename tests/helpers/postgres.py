"""Throwaway PostgreSQL databases beside a given one: for tests and benchmarks that must start
from no tables at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from hams.settings import Settings


@contextmanager
def fresh_database(base_url: str, prefix: str = "hams_test") -> Iterator[str]:
    """A new, empty database on ``base_url``'s server; its URL, and it is dropped afterwards."""
    admin = create_engine(Settings(database_url=base_url).resolved_database_url,
                          isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base_url.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
