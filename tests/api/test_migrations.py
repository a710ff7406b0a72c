"""Migrations on SQLite and PostgreSQL: upgrades keep data, and the models match the schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from hams.db.migrate import downgrade, is_current, upgrade
from hams.db.models import Base
from hams.db.session import Database
from hams.settings import Settings
from tests.conftest import PG_BASE_URL
from tests.helpers.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path) -> Iterator[Database]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield db
        db.dispose()
        return
    if not PG_BASE_URL:
        pytest.skip("HAMS_TEST_DATABASE_URL not set")
    with fresh_database(PG_BASE_URL, "hams_migrate") as url:
        db = Database(Settings(database_url=url).resolved_database_url)
        yield db
        db.dispose()


def seed(db: Database) -> None:
    """A project with a job and a webhook delivery, in columns every revision since 0002 has."""
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, is_deactivated, webhook_secret, "
                          "created_at, updated_at) VALUES ('p1', 'p', false, 's', "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO jobs (id, project_id, type, processing_type, options, status, "
            "total_cost, state, run_after, fencing, attempts, max_attempts, created_at, "
            "updated_at) VALUES ('j1', 'p1', 'TRANSCRIPTION', 'async', '{}', 'COMPLETED', 0, "
            "'completed', CURRENT_TIMESTAMP, 1, 1, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO webhook_deliveries (id, job_id, project_id, url, event, payload, state, "
            "attempts, next_attempt_at, created_at, updated_at) VALUES ('d1', 'j1', 'p1', "
            "'http://x', 'job.completed', '{}', 'pending', 0, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def test_upgrade_from_0002_keeps_jobs_and_their_deliveries(empty_db):
    upgrade(empty_db, "0002")
    seed(empty_db)
    assert not is_current(empty_db)
    upgrade(empty_db)
    assert is_current(empty_db)
    with empty_db.engine.connect() as conn:
        assert conn.execute(text("SELECT usage_tokens FROM jobs WHERE id = 'j1'")).all() == [
            (None,)]
        assert conn.execute(text("SELECT id FROM webhook_deliveries")).all() == [("d1",)]


def test_models_match_the_migrated_schema(empty_db):
    upgrade(empty_db)
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_0002_keeps_projects_keys_jobs_and_deliveries(empty_db):
    upgrade(empty_db)
    seed(empty_db)
    with empty_db.engine.begin() as conn:
        conn.execute(text("INSERT INTO api_keys (id, project_id, prefix, key_hash, created_at) "
                          "VALUES ('k1', 'p1', 'hams_x', 'h', CURRENT_TIMESTAMP)"))
    downgrade(empty_db, "0002")
    with empty_db.engine.connect() as conn:
        for table, key in [("projects", "p1"), ("api_keys", "k1"), ("jobs", "j1"),
                           ("webhook_deliveries", "d1")]:
            assert conn.execute(text(f"SELECT id FROM {table}")).all() == [(key,)], table
    upgrade(empty_db)  # and back up again
    assert is_current(empty_db)
