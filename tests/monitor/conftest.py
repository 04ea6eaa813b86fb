"""Fixtures of the monitor tests: synthetic windows (seeded), settings for tasks and commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.config import Settings, get_settings
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


@pytest.fixture
def monitor_env(
    monkeypatch: pytest.MonkeyPatch, fresh_db_url: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., Settings]]:
    """Point this process's settings (and the Celery app) at the test's database and Redis.

    ``monitor_env(**settings)`` sets ``TICKETWATCH_<NAME>`` for each and returns the settings
    that tasks, commands and the worker will now read (``celery=False``: leave the Celery
    app as it is, for settings it would refuse).
    """
    from agent import db as agent_db
    from monitor.worker.celery_app import app, configure

    def reset() -> None:
        if agent_db.get_engine.cache_info().currsize:
            agent_db.get_engine().dispose()
        agent_db.get_engine.cache_clear()
        agent_db.session_factory.cache_clear()
        get_settings.cache_clear()

    def apply(*, celery: bool = True, **values: object) -> Settings:
        monkeypatch.setenv("DATABASE_URL", fresh_db_url)
        monkeypatch.setenv("REDIS_URL", redis_url)
        monkeypatch.setenv("TICKETWATCH_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("TICKETWATCH_EMBEDDED_AUTOSTART", "false")
        for name, value in values.items():
            monkeypatch.setenv(f"TICKETWATCH_{name.upper()}", str(value))
        reset()
        settings = get_settings()
        if celery:
            configure(app, settings)
        return settings

    yield apply
    reset()
