"""The `hams` command line: migrate, projects, keys; the key it prints works; admin commands
open only the server's migrated database, say which, and never create one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from hams.db.migrate import current_revision, head_revision, upgrade
from hams.db.session import Database
from tests.conftest import PG_BASE_URL
from tests.helpers.postgres import fresh_database
from tests.helpers.server import run_cli, start_server

ADMIN_COMMANDS = [("keys", "list"), ("keys", "create"), ("projects", "list"),
                  ("projects", "create", "acme"), ("projects", "quota", "default"), ("usage",),
                  ("keys", "revoke", "some-id")]


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def run_in(cwd: Path, *args: str, env: dict[str, str | None] | None = None
           ) -> subprocess.CompletedProcess:
    """`hams ARGS` run in ``cwd`` with no HAMS_DATA_DIR: the default ./data applies."""
    return run_cli(cwd / "unused", *args, env={"HAMS_DATA_DIR": None, **(env or {})}, cwd=cwd)


def test_migrate_then_keys_lifecycle(data_dir):
    assert run_cli(data_dir, "migrate").returncode == 0
    created = run_cli(data_dir, "projects", "create", "acme")
    assert created.returncode == 0, created.stderr
    project = json.loads(created.stdout)
    assert project["name"] == "acme" and len(project["webhookSecret"]) == 64

    plain = run_cli(data_dir, "keys", "create", "--project", "acme", "--name", "ci")
    assert plain.returncode == 0
    assert plain.stdout.strip().startswith("hams_") and len(plain.stdout.splitlines()) == 1

    described = json.loads(run_cli(data_dir, "keys", "create", "--project", "acme",
                                   "--json").stdout)
    assert described["projectId"] == project["id"] and described["key"].startswith("hams_")

    listing = run_cli(data_dir, "keys", "list").stdout
    assert described["id"] in listing and plain.stdout.strip() not in listing
    assert described["key"] not in listing

    revoked = run_cli(data_dir, "keys", "revoke", described["id"])
    assert revoked.returncode == 0
    assert "revoked" in [line for line in run_cli(data_dir, "keys", "list").stdout.splitlines()
                         if described["id"] in line][0]


def test_projects_list_counts_active_keys(data_dir):
    assert run_cli(data_dir, "migrate").returncode == 0
    project = json.loads(run_cli(data_dir, "projects", "create", "acme").stdout)
    keys = [json.loads(run_cli(data_dir, "keys", "create", "--project", "acme", "--json")
                       .stdout) for _ in range(3)]
    run_cli(data_dir, "keys", "revoke", keys[0]["id"])
    run_cli(data_dir, "keys", "create", "--project", "acme", "--expires", "2001-01-01T00:00:00")
    run_cli(data_dir, "projects", "create", "empty")

    listed = run_cli(data_dir, "projects", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["projects"]}
    assert rows["acme"]["id"] == project["id"] and rows["acme"]["activeKeys"] == 2
    assert rows["empty"]["activeKeys"] == 0 and rows["acme"]["createdAt"].endswith("Z")
    table = run_cli(data_dir, "projects", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "CREATED", "ACTIVE", "KEYS"]
    assert [line.split()[-1] for line in table if project["id"] in line] == ["2"]


def test_errors_are_reported_not_raised(data_dir):
    run_cli(data_dir, "migrate")
    run_cli(data_dir, "projects", "create", "twice")
    again = run_cli(data_dir, "projects", "create", "twice")
    assert again.returncode == 1 and "already exists" in again.stderr
    unknown = run_cli(data_dir, "keys", "create", "--project", "nope")
    assert unknown.returncode == 1 and "No project named 'nope'" in unknown.stderr
    assert run_cli(data_dir, "keys", "revoke", "missing-id").returncode == 1


def test_admin_commands_refuse_a_missing_database_and_create_nothing(tmp_path):
    expected = tmp_path / "data" / "hams.db"
    for command in ADMIN_COMMANDS:
        refused = run_in(tmp_path, *command)
        assert refused.returncode == 1, command
        assert f"no hams database at {expected}" in refused.stderr, refused.stderr
        assert "hams migrate" in refused.stderr and "HAMS_DATA_DIR" in refused.stderr
        assert list(tmp_path.iterdir()) == [], command  # no data dir, no file
    elsewhere = tmp_path / "typo" / "data"
    refused = run_cli(elsewhere, "keys", "list")
    assert refused.returncode == 1 and str(elsewhere / "hams.db") in refused.stderr
    assert not (tmp_path / "typo").exists()


def test_migrate_creates_the_database_here_and_says_so_in_one_line(tmp_path):
    first = run_in(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    database = tmp_path / "data" / "hams.db"
    assert first.stdout == (f"database {database}: created the hams schema (revision "
                            f"{head_revision()})\n")
    assert "alembic" not in first.stderr and "Context impl" not in first.stderr
    again = run_in(tmp_path, "migrate")
    assert again.stdout == f"database {database} is up to date (revision {head_revision()})\n"

    listed = run_in(tmp_path, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == f"database: {database}\n"  # which database, and no Alembic lines
    debugging = run_in(tmp_path, "keys", "list", env={"HAMS_LOG_LEVEL": "DEBUG"})
    assert "Context impl SQLiteImpl" in debugging.stderr


def test_an_outdated_schema_is_refused_not_migrated(data_dir):
    data_dir.mkdir()
    db = Database(f"sqlite:///{data_dir / 'hams.db'}")
    try:
        upgrade(db, "0006")
        refused = run_cli(data_dir, "keys", "list")
        assert refused.returncode == 1
        assert f"is at revision 0006, this hams needs {head_revision()}" in refused.stderr
        assert "run `hams migrate`" in refused.stderr
        assert current_revision(db) == "0006"
        assert run_cli(data_dir, "migrate").stdout.endswith(
            f"migrated from revision 0006 to {head_revision()}\n")
        assert run_cli(data_dir, "keys", "list").returncode == 0
    finally:
        db.dispose()


def test_postgres_without_the_schema_is_refused_and_its_password_never_shown(tmp_path):
    if not PG_BASE_URL:
        pytest.skip("HAMS_TEST_DATABASE_URL not set")
    with fresh_database(PG_BASE_URL, "hams_cli") as url:
        env = {"HAMS_DATABASE_URL": url}
        password = make_url(url).password
        shown = make_url(url)._replace(password=None).render_as_string(hide_password=False)
        refused = run_in(tmp_path, "keys", "list", env=env)
        assert refused.returncode == 1
        assert f"the database {shown} cannot be used: it has no hams schema" in refused.stderr
        assert "run `hams migrate`" in refused.stderr
        migrated = run_in(tmp_path, "migrate", env=env)
        assert migrated.returncode == 0 and "created the hams schema" in migrated.stdout
        listed = run_in(tmp_path, "projects", "list", env=env)
        assert listed.returncode == 0 and listed.stderr == f"database: {shown}\n"
        if password:
            assert password not in refused.stderr + migrated.stdout + listed.stderr
    assert list(tmp_path.iterdir()) == []  # nothing made in the working directory


def test_serve_prints_one_working_key_once(tmp_path):
    server = start_server(tmp_path, workers=0)
    try:
        assert server.key.startswith("hams_")
        with server.client() as client:
            assert client.get("/v1/projects/by-api-key").json()["data"]["name"] == "default"
    finally:
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    assert "Application shutdown complete" in server.log()
    assert "Context impl" not in server.log()  # Alembic's INFO lines stay out of the log
    assert f"database schema migrated from nothing to {head_revision()}" in server.log()
    restarted = start_server(tmp_path, workers=0)
    try:
        assert restarted.key == ""  # the key is shown on the first start only
        with restarted.client(server.key) as client:
            assert client.get("/v1/projects/by-api-key").status_code == 200
    finally:
        restarted.stop()


def test_models_download_says_why_it_cannot_and_joins_the_bundled_model(data_dir):
    refused = run_cli(data_dir, "models", "download", "large-v3-turbo")  # HF_HUB_OFFLINE=1
    assert refused.returncode != 0
    assert "no network to download large-v3-turbo" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    joined = run_cli(data_dir, "models", "download", "bundled")
    assert joined.returncode == 0, joined.stderr
    assert (data_dir / "models" / "bundled-whisper-base" / "model.bin").is_file()
