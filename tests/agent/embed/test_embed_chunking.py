"""Planning model runs so that batches waste little on padding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.embed.chunking import RUN_OVERHEAD_TOKENS, padded_tokens, plan_runs


def _cost(lengths: list[int], runs: list[tuple[int, int]]) -> float:
    return len(runs) * RUN_OVERHEAD_TOKENS + padded_tokens(lengths, runs)


def test_equal_lengths_fill_runs_to_the_limit() -> None:
    runs = plan_runs([12] * 100, max_run=32)
    assert len(runs) == 4
    assert padded_tokens([12] * 100, runs) == 1200


def test_one_long_text_runs_apart_from_many_short_ones() -> None:
    lengths = [80] + [8] * 31
    runs = plan_runs(lengths, max_run=64)
    assert runs == [(0, 1), (1, 32)]
    assert padded_tokens(lengths, runs) == 80 + 31 * 8  # no padding at all


def test_tiny_length_differences_are_not_worth_a_run() -> None:
    assert plan_runs([14, 13, 13, 12], max_run=64) == [(0, 4)]


def test_unsorted_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="longest first"):
        plan_runs([3, 9], max_run=8)


def test_nothing_to_run() -> None:
    assert plan_runs([], max_run=8) == []


@given(
    st.lists(st.integers(min_value=2, max_value=256), min_size=1, max_size=200),
    st.integers(min_value=1, max_value=64),
)
@settings(derandomize=True, deadline=None)  # fixed examples; no timing on a busy machine
def test_runs_cover_the_batch_and_beat_fixed_chunks(lengths: list[int], max_run: int) -> None:
    lengths = sorted(lengths, reverse=True)
    runs = plan_runs(lengths, max_run=max_run)
    assert runs[0][0] == 0 and runs[-1][1] == len(lengths)
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:], strict=False))
    assert all(0 < stop - start <= max_run for start, stop in runs)
    fixed = [(i, min(i + max_run, len(lengths))) for i in range(0, len(lengths), max_run)]
    assert _cost(lengths, runs) <= _cost(lengths, fixed) + 1e-9
