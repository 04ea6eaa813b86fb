"""An agent with Banking77 history and a calibrated, promoted knn version, and golden sets.

The history is a stratified sample of the train split; golden sets come from the test split
(never from the history), both read at test time from the datasets directory.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.config import Settings
from agent.datasets.banking77 import labelled_records
from agent.datasets.records import LabelledTicket, shuffled
from agent.embed import Embedder, get_embedder
from agent.taxonomy import Taxonomy, load_taxonomy
from evals.golden import BuiltGolden, build_golden_set
from evals.golden.cases import GoldenCase, from_labelled
from evals.golden.sources import per_queue_sample
from tests.asyncdb import session_for
from tests.conftest import Servers
from tests.dbutil import create_database, drop_database, unique_name
from tests.fakes.openai_server import FakeOpenAIServer
from tests.live import AgentSetup, set_up_agent, settings_for

HISTORY_PER_QUEUE = 60
GOLDEN_PER_QUEUE = 12


@dataclass(frozen=True)
class EvalAgent:
    settings: Settings
    database_url: str
    setup: AgentSetup
    golden: BuiltGolden
    cases: list[GoldenCase]


def stratified(records: list[LabelledTicket], per_queue: int) -> list[LabelledTicket]:
    """``per_queue`` tickets of each queue, drawn across its intents."""
    taken: dict[str, int] = {}
    out = []
    for r in shuffled(records, seed=7):
        if taken.get(r.queue, 0) < per_queue:
            taken[r.queue] = taken.get(r.queue, 0) + 1
            out.append(r)
    return out


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return load_taxonomy("banking77")


@pytest.fixture(scope="session")
def eval_data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ticketwatch-evals-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def eval_settings(servers: Servers, template_db: str, eval_data_dir: Path) -> Iterator[Settings]:
    name = unique_name("tw_evals")
    create_database(servers.postgres_url, name, template=template_db)
    yield settings_for(
        database_url=servers.database(name),
        redis_url=servers.redis_url,
        data_dir=eval_data_dir,
        eval_concurrency=8,
        llm_api_key="test-key-for-the-fake-server",
    )
    drop_database(servers.postgres_url, name)


@pytest.fixture(scope="session")
def eval_embedder(eval_settings: Settings) -> Embedder:
    return get_embedder(eval_settings)


def golden_cases(taxonomy: Taxonomy, per_queue: int = GOLDEN_PER_QUEUE) -> list[GoldenCase]:
    cases = [from_labelled(r) for r in labelled_records("test", taxonomy)]
    return per_queue_sample(cases, per_queue, seed=3)


@pytest.fixture(scope="session")
def eval_agent(eval_settings: Settings, eval_embedder: Embedder, taxonomy: Taxonomy) -> EvalAgent:
    history = stratified(labelled_records("train", taxonomy), HISTORY_PER_QUEUE)
    setup = set_up_agent(eval_settings, history, eval_embedder)
    url = eval_settings.database_url.get_secret_value()  # type: ignore[union-attr]
    cases = golden_cases(taxonomy)

    async def build() -> BuiltGolden:
        async with session_for(url) as session:
            return await build_golden_set(
                session,
                data_dir=eval_settings.data_dir,
                name="banking77-test",
                version="tests",
                cases=cases,
                taxonomy=taxonomy,
                source="banking77:test",
                created_by="tests",
            )

    return EvalAgent(eval_settings, url, setup, asyncio.run(build()), cases)


@pytest.fixture(scope="session")
def _fake_llm_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(_fake_llm_server: FakeOpenAIServer) -> FakeOpenAIServer:
    _fake_llm_server.reset()
    return _fake_llm_server
