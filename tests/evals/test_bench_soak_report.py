"""The soak's figures: database growth per 10k tickets, and the targets of the done-when."""

from __future__ import annotations

from typing import Any

import pytest

from evals.bench.soak_report import db_growth, targets

MB = 1024 * 1024


def test_db_growth_is_scaled_to_ten_thousand_tickets() -> None:
    tables = ({"tickets": 10 * MB, "alerts": MB}, {"tickets": 40 * MB, "alerts": MB, "new": MB})
    growth = db_growth(30 * MB, 72 * MB, 5_000, tables)
    assert growth == {
        "start_mb": 30.0,
        "end_mb": 72.0,
        "tickets": 5_000,
        "per_10k_mb": 84.0,
        "per_10k_mb_by_table": {"tickets": 60.0, "new": 2.0},  # largest first; none unchanged
    }
    assert db_growth(30 * MB, 31 * MB, 0)["per_10k_mb"] is None


def figures(**changes: Any) -> dict[str, Any]:
    return {"errors": 0, "lost": 0, "duplicates": 0, "crashed": [], "grown": [], **changes}


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({}, []),
        ({"errors": 1}, ["no_errors"]),
        ({"lost": 1}, ["none_lost"]),
        ({"duplicates": 2}, ["none_lost"]),
        ({"crashed": ["worker"]}, ["no_crash"]),
        ({"grown": ["api"]}, ["rss_growth_under_10pct"]),
    ],
)
def test_each_target_is_missed_by_its_own_failure(changes: dict[str, Any], missed: list) -> None:
    result = targets(figures(**changes))
    assert [name for name, ok in result.items() if not ok] == missed
