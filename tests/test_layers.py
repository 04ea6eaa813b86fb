"""Layer rules, read from every module's imports and calls.

Each rule here is one a docstring states (``agent/repositories/__init__.py``,
``agent/services/__init__.py``, ``monitor/__init__.py``, the ``__init__`` of each monitor layer,
``review_ui/sections.py``) or ``docs/architecture.md`` lists; a change that breaks one fails
this test rather than making the docstring false.
"""

from __future__ import annotations

import ast
import fnmatch
import textwrap
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
    yield from _imports_in(path.read_text(), _module_name(path), path.name == "__init__.py")


def _imports_in(source: str, module: str, is_package: bool = False) -> Iterator[str]:
    package = module.rsplit(".", 1)[0] if not is_package else None
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = (package or module).split(".")
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
    # ...and the one publisher on the API's side: it sends ``versions.run_shadow`` by name
    # after a production decision (docs/architecture.md), and runs no task.
    publishers = {"agent.services.shadow_dispatch"}
    assert users and all(_under(m, "monitor.worker") or m in publishers for m in users), users


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


# --- one seam for data ------------------------------------------------------------------------
# SQL, DDL and commits are written in the data layers only. Every exception is listed here with
# its reason (docs/architecture.md, "Data access"), as (file glob, call): a call is
# ``<receiver>.<method>`` (``*`` when the receiver is not a plain name) or ``text``.
DATA_LAYERS = (
    "agent/repositories/*",
    "monitor/storage/*",
    "review_ui/repositories/*",
    "evals/repository.py",
)
DATA_CALLS = ("execute", "executemany", "exec_driver_sql", "commit")
ALLOWED_DATA_CALLS = {
    ("agent/db.py", "*.commit"): "the session scopes: the boundary's transaction",
    ("agent/services/history_loader.py", "conn.commit"): "the bulk loader commits each chunk",
    ("agent/embedded/*", "conn.execute"): "bootstrap of the embedded server: CREATE DATABASE",
    ("evals/bench/harness.py", "conn.execute"): "the benchmarks' scratch databases",
    ("agent/models/*", "text"): "partial-index predicates in the table definitions",
    ("agent/api/deps.py", "pipe.execute"): "a Redis pipeline (rate limit), not SQL",
    ("review_ui/security/ratelimit.py", "pipe.execute"): "a Redis pipeline (sign-in limit)",
}
# The boundaries: each makes service calls and owns its transaction, never a data layer's.
BOUNDARIES = (
    "agent.api.routes",
    "agent.commands",
    "agent.cli",
    "agent.datasets.cli",
    "review_ui.views",
    "review_ui.cli",
    "monitor.worker",
    "monitor.cli",
    "evals.cli",
    "evals.eval_cli",
    "evals.replay.cli",
)
DATA_MODULES = (
    "agent.repositories",
    "review_ui.repositories",
    "monitor.storage",
    "evals.repository",
)


def _data_calls(source: str) -> list[tuple[int, str]]:
    """``(line, call)`` for every call that runs SQL or commits: ``x.execute(...)``,
    ``x.commit()`` ..., and SQLAlchemy's ``text(...)``; in source order."""
    return sorted(_data_calls_unordered(source))


def _data_calls_unordered(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in DATA_CALLS:
            receiver = func.value.id if isinstance(func.value, ast.Name) else "*"
            yield node.lineno, f"{receiver}.{func.attr}"
        elif (isinstance(func, ast.Name) and func.id == "text") or (
            isinstance(func, ast.Attribute)
            and func.attr == "text"
            and isinstance(func.value, ast.Name)
            and func.value.id in ("sa", "sqlalchemy")
        ):
            yield node.lineno, "text"


def _misplaced_data_calls(relative: str, source: str) -> list[str]:
    if any(fnmatch.fnmatch(relative, layer) for layer in DATA_LAYERS):
        return []
    return [
        f"{relative}:{line} {call}"
        for line, call in _data_calls(source)
        if not any(
            fnmatch.fnmatch(relative, where) and fnmatch.fnmatch(call, what)
            for where, what in ALLOWED_DATA_CALLS
        )
    ]


def _data_imports(module: str, source: str) -> list[str]:
    if not _under(module, *BOUNDARIES):
        return []
    found = {f"{module} imports {i}" for i in _imports_in(source, module)}
    return sorted(f for f in found if _under(f.rsplit(" ", 1)[1], *DATA_MODULES))


def _all_sources() -> list[Path]:
    return [p for pkg in ("agent", "monitor", "review_ui", "evals") for p in _sources(pkg)]


def test_sql_ddl_and_commits_live_in_the_data_layers() -> None:
    """Repositories and storage hold all SQL; services never commit (but the bulk loader)."""
    found = [
        hit
        for path in _all_sources()
        for hit in _misplaced_data_calls(str(path.relative_to(ROOT)), path.read_text())
    ]
    assert found == [], "move it into a repository (or storage), or list it in ALLOWED_DATA_CALLS"


def test_views_routes_tasks_and_commands_go_through_services() -> None:
    found = [
        hit
        for path in _all_sources()
        for hit in _data_imports(_module_name(path), path.read_text())
    ]
    assert found == [], "call a service; the service calls the repository"


def test_every_allowed_data_call_is_still_needed() -> None:
    """An allow-list entry that matches nothing is stale: remove it rather than keep a hole."""
    hits = {
        (str(p.relative_to(ROOT)), call)
        for p in _all_sources()
        for _, call in _data_calls(p.read_text())
    }
    stale = [
        entry
        for entry in ALLOWED_DATA_CALLS
        if not any(fnmatch.fnmatch(f, entry[0]) and fnmatch.fnmatch(c, entry[1]) for f, c in hits)
    ]
    assert stale == []
    assert all(any(_under(_module_name(p), b) for p in _all_sources()) for b in BOUNDARIES)


SNIPPET = textwrap.dedent(
    """
    from sqlalchemy import text
    from agent.repositories import tickets
    from ..repositories import decisions
    import monitor.storage.alerts

    async def f(session, pipe):
        await session.execute(text("SELECT 1"))
        await session.commit()
        await pipe.execute()
        sa.text("x")
        def g():
            from evals import repository
    """
)


def test_the_data_checks_catch_what_they_forbid() -> None:
    """The two checks above, on a snippet that breaks each rule once, in each spelling."""
    assert _misplaced_data_calls("agent/services/new.py", SNIPPET) == [
        "agent/services/new.py:8 session.execute",
        "agent/services/new.py:8 text",
        "agent/services/new.py:9 session.commit",
        "agent/services/new.py:10 pipe.execute",
        "agent/services/new.py:11 text",
    ]
    # The same calls are the data layer's own business, and a pipeline is allowed where listed.
    assert _misplaced_data_calls("agent/repositories/new.py", SNIPPET) == []
    assert "pipe.execute" not in " ".join(_misplaced_data_calls("agent/api/deps.py", SNIPPET))
    imported = {
        "agent.repositories",
        "agent.repositories.tickets",
        "review_ui.repositories",  # relative, from a view
        "review_ui.repositories.decisions",
        "monitor.storage.alerts",
        "evals.repository",  # function-level
    }
    assert _data_imports("review_ui.views.new", SNIPPET) == sorted(
        f"review_ui.views.new imports {m}" for m in imported
    )
    assert _data_imports("review_ui.services.new", SNIPPET) == []
