"""Wilson intervals against known values."""

from __future__ import annotations

import pytest

from agent.rollout.intervals import wilson


def test_wilson_of_known_values() -> None:
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(11, 10)
