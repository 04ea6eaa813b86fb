"""Synthetic windows for the signal tests (seeded, so every test sees the same data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from evals.bench.synthetic import synthetic_window, topic_centres
from monitor.signals.base import WindowSample

MakeWindow = Callable[..., WindowSample]


@pytest.fixture(scope="session")
def centres() -> np.ndarray:
    return topic_centres(np.random.default_rng(1), 30)


@pytest.fixture(scope="session")
def new_centres() -> np.ndarray:
    return topic_centres(np.random.default_rng(2), 3)


@pytest.fixture(scope="session")
def make_window(centres: np.ndarray, new_centres: np.ndarray) -> MakeWindow:
    """``make_window(seed, n, **kw)``: a synthetic window over the shared topic centres."""

    def make(seed: int, n: int, **kwargs: Any) -> WindowSample:
        kwargs.setdefault("new_centres", new_centres)
        return synthetic_window(np.random.default_rng(seed), n=n, centres=centres, **kwargs)

    return make


@pytest.fixture(scope="session")
def label_mix_weights(centres: np.ndarray) -> np.ndarray:
    """Topic weights that move most traffic onto the topics of queues 0, 1 and 2."""
    weights = np.where(np.arange(len(centres)) % 10 < 3, 6.0, 1.0)
    return weights / weights.sum()
