"""The `hams` command line: migrate, projects, keys; and the key it prints works."""

from __future__ import annotations

import json

import pytest

from tests.helpers.server import run_cli, start_server


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


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


def test_errors_are_reported_not_raised(data_dir):
    run_cli(data_dir, "projects", "create", "twice")
    again = run_cli(data_dir, "projects", "create", "twice")
    assert again.returncode == 1 and "already exists" in again.stderr
    unknown = run_cli(data_dir, "keys", "create", "--project", "nope")
    assert unknown.returncode == 1 and "No project named 'nope'" in unknown.stderr
    assert run_cli(data_dir, "keys", "revoke", "missing-id").returncode == 1


def test_serve_prints_one_working_key_once(tmp_path):
    server = start_server(tmp_path, workers=0)
    try:
        assert server.key.startswith("hams_")
        with server.client() as client:
            assert client.get("/v1/projects/by-api-key").json()["data"]["name"] == "default"
    finally:
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    assert "Application shutdown complete" in server.log()
    restarted = start_server(tmp_path, workers=0)
    try:
        assert restarted.key == ""  # the key is shown on the first start only
        with restarted.client(server.key) as client:
            assert client.get("/v1/projects/by-api-key").status_code == 200
    finally:
        restarted.stop()
