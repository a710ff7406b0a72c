"""What a command needs that a slim install lacks: ``pip install hams`` is the SDK alone, so a
server command names the extra that brings its missing module instead of a traceback."""

from __future__ import annotations

import re
import sys


def not_installed(command: str, exc: ModuleNotFoundError) -> int:
    """One line naming the missing module and the extra of hams that installs it."""
    extra = extra_providing(exc.name or "")
    if extra is None:
        print(f"error: {exc}", file=sys.stderr)
    else:
        print(f"error: `hams {command}` needs {exc.name}, which is not installed: "
              f"pip install 'hams[{extra}]'", file=sys.stderr)
    return 1


def extra_providing(module: str) -> str | None:
    """The extra of the installed hams whose requirements hold the distribution named like
    ``module`` (``pydantic_settings`` → ``pydantic-settings`` → ``server``), or None."""
    from importlib import metadata

    try:
        requires = metadata.requires("hams") or []
    except metadata.PackageNotFoundError:  # run from a source tree, not installed
        return None

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    wanted = normal(module.partition(".")[0])
    for requirement in requires:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)""", requirement)
        if name and extra and normal(name.group()) == wanted:
            return extra.group(1)
    return None
