"""A real API server on a migrated database with Banking77 history and a calibrated version."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from agent.api.app import create_app
from agent.config import Settings
from agent.datasets.banking77 import labelled_records
from agent.datasets.records import LabelledTicket
from agent.embed import Embedder, get_embedder
from agent.taxonomy import load_taxonomy
from tests.conftest import Servers
from tests.dbutil import create_database, drop_database, unique_name
from tests.factories import stratified
from tests.live import AgentSetup, ServerThread, set_up_agent, settings_for

PER_QUEUE = 90


@pytest.fixture(scope="session")
def banking77_test() -> list[LabelledTicket]:
    return labelled_records("test", load_taxonomy("banking77"))


@pytest.fixture(scope="session")
def history() -> list[LabelledTicket]:
    return stratified(labelled_records("train", load_taxonomy("banking77")), PER_QUEUE)


@dataclass(frozen=True)
class LiveApi:
    url: str
    settings: Settings
    setup: AgentSetup
    database_url: str

    def client(self, *, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {key or self.setup.api_key}"},
        )


@pytest.fixture(scope="session")
def api_settings(servers: Servers, template_db: str) -> Iterator[Settings]:
    name = unique_name("tw_api")
    create_database(servers.postgres_url, name, template=template_db)
    yield settings_for(
        database_url=servers.database(name),
        redis_url=servers.redis_url,
        data_dir=servers.data_dir,
        review_sample_rate=0.1,
        llm_api_key="test-key-for-the-fake-server",
    )
    drop_database(servers.postgres_url, name)


@pytest.fixture(scope="session")
def embedder(api_settings: Settings) -> Embedder:
    return get_embedder(api_settings)


@pytest.fixture(scope="session")
def live_api(
    api_settings: Settings, history: list[LabelledTicket], embedder: Embedder
) -> Iterator[LiveApi]:
    setup = set_up_agent(api_settings, history, embedder)
    with ServerThread(create_app(api_settings, plugins=False)) as server:
        yield LiveApi(server.url, api_settings, setup, api_settings.database_url.get_secret_value())  # type: ignore[union-attr]


@pytest.fixture
def client(live_api: LiveApi) -> Iterator[httpx.Client]:
    with live_api.client() as c:
        yield c
