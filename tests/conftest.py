"""Shared fixtures: real Postgres (pgvector) and Redis, schema built by the migrations.

With DATABASE_URL / REDIS_URL set, tests run against those servers (the Postgres role must be
allowed to create databases; Redis databases 1-63 are flushed, so use a disposable server).
Otherwise a private embedded Postgres and Redis are started for the run in a temporary data
directory and stopped at the end.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.orm import Session

from agent import migrate
from agent.config import Settings
from agent.db import sqlalchemy_url
from agent.embedded.manager import EmbeddedServices
from tests.dbutil import create_database, drop_database, unique_name, with_database

# The live API + review UI (one per run), shared by the UI and the security tests.
pytest_plugins = ["tests.live_ui"]

# Tests that start processes (servers, workers, a browser, the model server) get their own time
# limit, shorter than the global one in pyproject.toml, so a hung child fails that test with its
# log instead of stalling the run. An explicit @pytest.mark.timeout(...) wins.
MARKER_TIMEOUTS_S = {"e2e": 420, "browser": 300, "llm_server": 300, "slow": 420}
GLOBAL_TIMEOUT_S = 1200  # pyproject.toml [tool.pytest.ini_options] timeout


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        limits = [s for name, s in MARKER_TIMEOUTS_S.items() if item.get_closest_marker(name)]
        if limits:
            item.add_marker(pytest.mark.timeout(max(limits)))
    # Files with slow tests first, then those that start processes: the workers (pytest-xdist
    # hands out one file at a time) take them while the quick files are still left to even out
    # the end, instead of one worker running the demo alone at the end. Files and the tests in
    # each file otherwise keep their order.
    rank: dict[Path, int] = {}
    for item in items:
        weight = next((i for i, m in enumerate(HEAVY_FIRST) if item.get_closest_marker(m)), 9)
        rank[item.path] = min(rank.get(item.path, 9), weight)
    items.sort(key=lambda item: rank[item.path])


HEAVY_FIRST = ("slow", "e2e", "llm_server", "browser")


# Durability is irrelevant for throwaway test data; these make the embedded server faster.
TEST_POSTGRES_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass(frozen=True)
class Servers:
    """Where the test run's Postgres and Redis listen."""

    postgres_url: str  # the server's maintenance database
    redis_url: str
    data_dir: Path

    def database(self, name: str) -> str:
        return with_database(self.postgres_url, name)


@contextmanager
def service_dir() -> Iterator[Path]:
    """A data directory for embedded servers, outside pytest's private 0700 temp root.

    When ticketwatch runs as root the embedded Postgres runs as an unprivileged user, which must
    traverse the path; every pytest start resets its temp root to 0700, so live servers must not
    sit below it.
    """
    path = Path(tempfile.mkdtemp(prefix="ticketwatch-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def embedded_dir() -> Iterator[Path]:
    with service_dir() as path:
        yield path


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    settings = Settings()
    with service_dir() as data_dir:
        if settings.database_url is not None and settings.redis_url is not None:
            url = settings.database_url.get_secret_value()
            # This worker's own "database 0", below its share (of two workers: 0 and 32).
            redis_url = with_redis_db(
                settings.redis_url.get_secret_value(), _redis_db_range().start - 1
            )
            yield Servers(with_database(url, "postgres"), redis_url, data_dir)
            return
        embedded = EmbeddedServices(data_dir, postgres_options=TEST_POSTGRES_OPTIONS)
        records = embedded.up()
        try:
            yield Servers(
                with_database(records["postgres"].url, "postgres"), records["redis"].url, data_dir
            )
        finally:
            embedded.down()


@pytest.fixture(scope="session")
def template_db(servers: Servers) -> Iterator[str]:
    """A database migrated to head, used as the template of every test database."""
    name = unique_name("tw_template")
    create_database(servers.postgres_url, name)
    migrate.upgrade(servers.database(name))
    yield name
    drop_database(servers.postgres_url, name)


@pytest.fixture
def fresh_db_url(servers: Servers, template_db: str) -> Iterator[str]:
    """A private, migrated database for one test (for tests that commit or spawn processes)."""
    name = unique_name("tw_test")
    create_database(servers.postgres_url, name, template=template_db)
    yield servers.database(name)
    drop_database(servers.postgres_url, name)


@pytest.fixture(scope="session")
def shared_engine(servers: Servers, template_db: str) -> Iterator[Engine]:
    name = unique_name("tw_shared")
    create_database(servers.postgres_url, name, template=template_db)
    engine = create_engine(sqlalchemy_url(servers.database(name)), poolclass=pool.NullPool)
    yield engine
    engine.dispose()
    drop_database(servers.postgres_url, name)


@pytest.fixture
def db(shared_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with shared_engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


def _worker() -> tuple[int, int]:
    """This pytest-xdist worker's index and the number of workers ((0, 1) without xdist)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw")), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def _redis_db_range() -> range:
    """The Redis databases this worker flushes and hands out: a share of 1-63 of its own.

    Each worker starts its own embedded Redis; against one shared server (REDIS_URL) the
    workers must not flush each other's databases.
    """
    index, count = _worker()
    span = 64 // count
    if span < 2:
        raise pytest.UsageError(f"{count} workers leave no Redis database each: use at most 32")
    return range(index * span + 1, (index + 1) * span)


_redis_dbs = itertools.cycle(_redis_db_range())


@pytest.fixture
def redis_url(servers: Servers) -> str:
    """A flushed Redis database of its own for this test."""
    url = with_redis_db(servers.redis_url, next(_redis_dbs))
    redis.Redis.from_url(url).flushdb()
    return url


def with_redis_db(url: str, db: int) -> str:
    return urlsplit(url)._replace(path=f"/{db}").geturl()
