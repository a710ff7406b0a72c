"""The deployment files (deploy/) parse, run real hams commands, and name only real settings."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

from hams.cli import _parser
from hams.settings import Settings

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
SETTING_NAMES = {f"HAMS_{name.upper()}" for name in Settings.model_fields}
HAMS_NAME = re.compile(r"\bHAMS_[A-Z0-9_]+\b")
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def hams_services(kind: str) -> dict[str, dict]:
    """The compose services whose command is ``hams <kind> ...``."""
    return {name: service for name, service in compose()["services"].items()
            if service.get("command", [None, None])[:2] == ["hams", kind]}


def deployment_texts() -> dict[str, str]:
    files = [path for path in DEPLOY.rglob("*") if path.is_file()]
    files.append(ROOT / "docs" / "deployment.md")
    return {str(path.relative_to(ROOT)): path.read_text() for path in files}


def test_every_hams_name_in_the_deployment_files_is_a_setting():
    unknown = {f"{name}: {match}" for name, text in deployment_texts().items()
               for match in HAMS_NAME.findall(text) if match not in SETTING_NAMES}
    assert not unknown, f"names that are not settings: {sorted(unknown)}"


def test_compose_has_the_cluster_the_docs_describe():
    services = compose()["services"]
    assert {"postgres", "seaweedfs", "proxy"} <= set(services)
    api, workers = hams_services("serve"), hams_services("worker")
    assert len(api) >= 2, "two API replicas behind the proxy"
    assert workers
    for service in api.values():
        assert service["command"][2:4] == ["--workers", "0"], "API replicas run no jobs"
    for name, service in {**api, **workers}.items():
        env = service["environment"]
        assert env["HAMS_DATABASE_URL"].startswith("postgresql://"), name
        assert env["HAMS_STORAGE_URL"].startswith("s3://"), name
        assert env["HAMS_S3_ENDPOINT_URL"] == "http://seaweedfs:8333", name


def test_compose_commands_parse_with_the_cli():
    for service in {**hams_services("serve"), **hams_services("worker")}.values():
        _parser().parse_args(service["command"][1:])  # SystemExit on an unknown flag


def test_no_two_hams_processes_share_a_data_directory():
    """Blobs live in object storage: each process's volume holds only models and caches."""
    mounts: dict[str, str] = {}
    for name, service in {**hams_services("serve"), **hams_services("worker")}.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source not in mounts, f"{name} and {mounts.get(source)} share {source}"
            mounts[source] = name


def test_the_proxy_balances_over_every_api_replica_and_passes_websockets():
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream hams_api \{(.*?)\}", conf, re.S)
    assert upstream
    servers = set(re.findall(r"server ([\w.-]+):8000", upstream.group(1)))
    assert servers == set(hams_services("serve"))
    assert "proxy_set_header Upgrade $http_upgrade" in conf


def test_compose_settings_are_valid_values(monkeypatch: pytest.MonkeyPatch):
    """The environment every hams service gets builds a Settings (placeholders for secrets)."""
    for name, service in {**hams_services("serve"), **hams_services("worker")}.items():
        for key in list(Settings.model_fields):
            monkeypatch.delenv(f"HAMS_{key.upper()}", raising=False)
        for key, value in service["environment"].items():
            monkeypatch.setenv(key, COMPOSE_VARIABLE.sub("placeholder", str(value)))
        settings = Settings(_env_file=None)
        assert settings.storage_url and settings.storage_url.startswith("s3://"), name


@pytest.mark.parametrize("unit", ["hams-api@.service", "hams-worker.service"])
def test_systemd_units_run_hams_commands_with_settings_that_exist(unit: str):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    argv = shlex.split(service["ExecStart"].replace("%i", "8000"))
    assert Path(argv[0]).name == "hams"
    _parser().parse_args(argv[1:])
    if argv[1] == "serve":
        assert argv[2:4] == ["--workers", "0"]
    assert service["EnvironmentFile"] == "/etc/hams/hams.env"
    for assignment in service.get("Environment", "").split():
        assert assignment.split("=")[0] in SETTING_NAMES
