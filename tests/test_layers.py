"""Layer rules of the monitor and the review UI, read from every module's imports.

Each rule here is one a docstring states (``monitor/__init__.py``, the ``__init__`` of each
monitor layer, ``review_ui/sections.py``); a change that breaks one fails this test rather
than making the docstring false.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The monitor's layers, lowest first: a module imports monitor modules of its own layer or
# of layers below it, never above.
MONITOR_LAYERS = {"signals": 0, "stats": 0, "storage": 1, "services": 2, "worker": 3, "cli": 4}
# What the pure layers never use: a database, the network, Celery, a CLI, metrics.
IMPURE = (
    "sqlalchemy",
    "psycopg",
    "pgvector",
    "redis",
    "celery",
    "httpx",
    "typer",
    "rich",
    "fastapi",
    "prometheus_client",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth (function-level imports too)."""
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = (package or _module_name(path)).split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "monitor":
        return None
    return MONITOR_LAYERS.get(parts[1])


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_every_monitor_module_sits_in_a_layer() -> None:
    loose = [
        _module_name(p)
        for p in _sources("monitor")
        if _module_name(p) != "monitor" and _layer(_module_name(p)) is None
    ]
    assert loose == [], "put it in monitor/{signals,stats,storage,services,worker,cli}"


def test_monitor_modules_import_only_their_layer_and_below() -> None:
    upward = []
    for path in _sources("monitor"):
        own = _layer(_module_name(path))
        if own is None:
            continue
        for imported in _imports(path):
            theirs = _layer(imported)
            if theirs is not None and theirs > own:
                upward.append(f"{_module_name(path)} imports {imported}")
    assert upward == []


@pytest.mark.parametrize("layer", ["signals", "stats"])
def test_the_pure_layers_touch_no_database_network_or_framework(layer: str) -> None:
    found = []
    for path in _sources(f"monitor/{layer}"):
        for imported in _imports(path):
            if _under(imported, *IMPURE) or (
                _under(imported, "agent") and not _under(imported, "agent.taxonomy")
            ):
                found.append(f"{_module_name(path)} imports {imported}")
    assert found == []


def test_celery_is_the_workers_alone() -> None:
    users = {
        _module_name(p)
        for pkg in ("agent", "monitor", "review_ui", "evals")
        for p in _sources(pkg)
        if any(_under(i, "celery") for i in _imports(p))
    }
    assert users and all(_under(m, "monitor.worker") for m in users), users


def test_tasks_make_service_calls_not_storage_calls() -> None:
    tasks = ROOT / "monitor" / "worker" / "tasks.py"
    assert [i for i in _imports(tasks) if _under(i, "monitor.storage")] == []


def test_review_ui_layers() -> None:
    """Repositories below services below views; views are mounted only through sections."""
    above = {
        "review_ui.repositories": (
            "review_ui.services",
            "review_ui.views",
            "review_ui.deps",
            "review_ui.app",
            "review_ui.sections",
            "review_ui.templating",
        ),
        "review_ui.services": (
            "review_ui.views",
            "review_ui.deps",
            "review_ui.app",
            "review_ui.sections",
        ),
    }
    bad = []
    for path in _sources("review_ui"):
        module = _module_name(path)
        for imported in _imports(path):
            for layer, forbidden in above.items():
                if _under(module, layer) and _under(imported, *forbidden):
                    bad.append(f"{module} imports {imported}")
            if _under(imported, "review_ui.views") and not _under(
                module, "review_ui.views", "review_ui.sections"
            ):
                bad.append(f"{module} imports {imported} (mount views through sections)")
    assert bad == []


def test_the_agent_imports_none_of_the_packages_built_on_it() -> None:
    bad = [
        f"{_module_name(p)} imports {i}"
        for p in _sources("agent")
        for i in _imports(p)
        if _under(i, "monitor", "review_ui", "evals")
    ]
    assert bad == []


def test_the_import_reader_sees_function_level_imports() -> None:
    """The rules above would pass vacuously if nested imports were missed."""
    assert "monitor.worker.celery_app" in set(_imports(ROOT / "monitor" / "cli" / "commands.py"))
    assert "review_ui.views" in set(_imports(ROOT / "review_ui" / "sections.py"))
