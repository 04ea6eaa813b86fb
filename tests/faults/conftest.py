"""One running system for the fault matrix, and the table of what each fault did.

After a run with fault tests, the table is printed at the end and written to
``artifacts/faults/table.md`` (the figures in docs/reliability.md come from such a run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ROOT
from tests.faults.report import FaultResult, table
from tests.faults.stack import Stack, running_stack

RESULTS: list[FaultResult] = []
TABLE = ROOT / "artifacts" / "faults" / "table.md"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("fault-logs")
    with running_stack(logs) as running:
        yield running


@pytest.fixture
def record() -> Iterator[list[FaultResult]]:
    """Where a test puts its fault's figures (kept even when its assertions then fail)."""
    mine: list[FaultResult] = []
    yield mine
    RESULTS.extend(mine)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    text = table(RESULTS)
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    Path(TABLE).write_text(text)
    terminalreporter.write_sep("=", f"fault matrix (also in {TABLE.relative_to(ROOT)})")
    terminalreporter.write(text)
