"""The layers of ``src/hams`` keep to their seams (``docs/architecture.md``, "Conventions").

Every module is read as source and parsed, never imported, so a test run starts no engine and a
broken module still gets its layers checked. An import counts wherever it is written: at the
top, inside a function, or under ``TYPE_CHECKING`` (a type-only import is still a dependency).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
SESSION_OWNERS = frozenset({"hams.api.deps"})
"""The only api module that opens sessions: dependencies own the request's transaction
(``get_session``) and the key's check-and-count transaction (``RateClass``)."""


@dataclass(frozen=True)
class Module:
    name: str  # dotted: hams.api.jobs (a package's __init__ is the package's own name)
    tree: ast.Module
    is_package: bool = False


@cache
def modules() -> tuple[Module, ...]:
    found = []
    for path in sorted((SRC / "hams").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.append(Module(".".join(parts[:-1] if is_package else parts), tree, is_package))
    return tuple(found)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imports_of(module: Module) -> set[str]:
    """Every module the module imports: ``from a import b`` is ``a.b`` when that is a module of
    ours, else ``a``. Relative imports are resolved against the module's package."""
    ours = {other.name for other in modules()}
    names: set[str] = set()
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x: the package; each further dot goes one up
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in ours else base
                         for alias in node.names)
    return names


def sessions_opened(module: Module) -> list[str]:
    """Where the module opens or reaches for a database session: ``<x>.session(...)`` or
    ``<x>.sessions(...)`` calls, and any ``db.session`` reference (passed on, to be called)."""
    found, called = [], set()
    for node in ast.walk(module.tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("session", "sessions")):
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
            called.add(id(node.func))
    for node in ast.walk(module.tree):
        if (isinstance(node, ast.Attribute) and node.attr in ("session", "sessions")
                and _is_db(node.value) and id(node) not in called):
            found.append(f"line {node.lineno}: db.{node.attr}")
    return sorted(found)


def _is_db(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "db") or (
        isinstance(node, ast.Attribute) and node.attr == "db")


@dataclass(frozen=True)
class Rule:
    """Modules within ``layer`` import nothing within ``forbidden`` except within ``allowed``."""

    layer: str
    forbidden: str
    allowed: tuple[str, ...] = ()
    why: str = ""

    def breaches(self) -> list[str]:
        return [f"{module.name} imports {name}"
                for module in modules() if within(module.name, self.layer)
                for name in sorted(imports_of(module))
                if within(name, self.forbidden)
                and not any(within(name, ok) for ok in self.allowed)]


RULES = [
    Rule("hams.services", "hams.api", why="services return domain objects; routers shape"),
    Rule("hams.services", "hams.worker", allowed=("hams.worker.outcome",),
         why="services return JobOutcome; the worker, which imports services, is above them"),
    Rule("hams.db", "hams.queue", why="the queue registers its wake-ups through after_commit"),
    Rule("hams.queue", "hams.services", why="the queue is statements over tables"),
    Rule("hams.queue", "hams.worker"),
    Rule("hams.queue", "hams.api"),
    Rule("hams.engines", "hams.services", why="engines know no domain rules"),
    Rule("hams.webhooks", "hams.api", allowed=("hams.api.schemas.jobs",
                                                "hams.api.schemas.common"),
         why="a webhook payload is the job's wire model; nothing else of the API belongs here"),
    Rule("hams.api.schemas.jobs", "hams.services",
         why="services render webhook bodies with JobPublic: importing a service is a cycle"),
    Rule("hams.api.schemas.common", "hams.services"),
    Rule("hams.runtime", "hams.services", why="the runtime builds infrastructure only"),
    Rule("hams.ratelimit", "hams.services", why="the limiter is mechanism; routes pick classes"),
    Rule("hams.ratelimit", "hams.api"),
    Rule("hams.worker.outcome", "hams.services", why="services import it: no cycle"),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.layer}-not-{r.forbidden}")
def test_layer_imports(rule: Rule):
    assert rule.breaches() == [], rule.why


def test_api_never_opens_a_session():
    """Services open and commit their own transactions; routers call them."""
    breaches = {module.name: found for module in modules()
                if within(module.name, "hams.api") and module.name not in SESSION_OWNERS
                if (found := sessions_opened(module))}
    assert breaches == {}


def test_the_checks_see_the_code_they_guard():
    """The rules cannot pass by finding nothing: the walker sees every layer, the session
    owner really opens sessions, and a known import is resolved, relative forms included."""
    names = {module.name for module in modules()}
    assert {"hams.api.deps", "hams.db.session", "hams.queue.jobs", "hams.runtime",
            "hams.worker.outcome", "hams.webhooks.delivery"} <= names
    by_name = {module.name: module for module in modules()}
    assert sessions_opened(by_name["hams.api.deps"])
    assert "hams.db.session" in imports_of(by_name["hams.queue.jobs"])
    snippet = Module("hams.api.jobs", ast.parse(
        "from .schemas import jobs\nfrom ..services import jobs as s\nfrom . import deps\n"
        "def f(runtime):\n    with runtime.db.session() as session:\n        pass\n"
        "    return runtime.db.session\n"))
    assert imports_of(snippet) == {"hams.api.schemas.jobs", "hams.services.jobs",
                                   "hams.api.deps"}
    assert sessions_opened(snippet) == ["line 5: .session(...)", "line 7: db.session"]
