"""Fixtures for the agent's tests: the scripted OpenAI-compatible server, the local model
server, the local embedder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.embed import Embedder, get_embedder
from tests.conftest import Servers
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fixtures.llm_server import LocalModelServer, start_local_model_server
from tests.live import settings_for


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(_fake_openai_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """The scripted server, with no scripts and no recorded requests."""
    _fake_openai_server.reset()
    return _fake_openai_server


@pytest.fixture(scope="session")
def local_model_server() -> Iterator[LocalModelServer]:
    """The real llama.cpp server with Gemma 3 270M, started once for the session."""
    with start_local_model_server() as server:
        yield server


@pytest.fixture(scope="session")
def embedder(servers: Servers) -> Embedder:
    """The default local embedding model (its files under the test run's data directory)."""
    return get_embedder(
        settings_for(
            database_url="postgresql://unused",
            redis_url="redis://unused",
            data_dir=servers.data_dir,
        )
    )
