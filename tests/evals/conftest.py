"""An agent with Banking77 history and a calibrated, promoted knn version, and golden sets.

The history is a stratified sample of the train split; golden sets come from the test split
(never from the history), both read at test time from the datasets directory. A second set
adds out-of-scope requests, generated from templates, whose right route is a person.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.config import Settings
from agent.datasets.banking77 import labelled_records
from agent.embed import Embedder, get_embedder
from agent.repositories import catalog
from agent.services.operators import Actor
from agent.services.versions import create_version
from agent.taxonomy import HUMAN_TRIAGE, Taxonomy, load_taxonomy
from evals.golden import BuiltGolden, build_golden_set
from evals.golden.cases import GoldenCase, from_labelled
from evals.golden.sources import per_queue_sample
from tests.asyncdb import session_for
from tests.conftest import Servers
from tests.dbutil import create_database, drop_database, unique_name
from tests.factories import stratified
from tests.fakes.openai_server import FakeOpenAIServer
from tests.live import AgentSetup, set_up_agent, settings_for

HISTORY_PER_QUEUE = 60
GOLDEN_PER_QUEUE = 12
OOS_GOLDEN = "with-oos@tests"
OOS_CASES = 30
IN_SCOPE_PER_QUEUE = 3
# Versions like the promoted one: a confidence bar of 0.99 (hands over most unsure tickets),
# and one that hands over nothing (no bar, the unknown ramp moved out of reach).
BAR_VERSION = "2.0.0-bar"
OPEN_VERSION = "2.0.0-open"


@dataclass(frozen=True)
class EvalAgent:
    settings: Settings
    database_url: str
    setup: AgentSetup
    golden: BuiltGolden
    cases: list[GoldenCase]


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


def add_version(agent: EvalAgent, semver: str, **changes: Any) -> None:
    """A version like the promoted one, with ``changes`` to its params or thresholds."""

    async def body() -> None:
        async with session_for(agent.database_url) as session:
            if await catalog.version_by_semver(session, semver) is not None:
                return
            base = await catalog.version_by_semver(session, agent.setup.version)
            assert base is not None
            await create_version(
                session,
                semver=semver,
                classifier="knn",
                taxonomy=load_taxonomy("banking77"),
                actor=Actor("tests", "admin"),
                params={**base.params, **changes.get("params", {})},
                thresholds={**base.thresholds, **changes.get("thresholds", {})},
            )

    asyncio.run(body())


OPENERS = ("Hi,", "Hello there,", "Quick question:", "Good morning,", "Sorry to bother you,", "")
ASKS = (
    "can you recommend",
    "where can I find",
    "what is the best",
    "could you suggest",
    "I am looking for",
    "do you know",
)
THINGS = (
    "a vegetarian lasagna recipe",
    "hiking trails near the lake",
    "a good fantasy novel",
    "tomato seeds for a balcony garden",
    "tickets for the football match",
    "a cheap guitar for beginners",
    "a dentist open on Sundays",
    "the rules of chess openings",
    "a warm jacket for skiing",
    "a vet for my parrot",
    "yoga classes for seniors",
    "the weather forecast for the weekend",
    "a plumber to fix my kitchen sink",
    "a chemistry tutor for my son",
)
CLOSERS = ("Thanks!", "Any tips welcome.", "It is for this weekend.", "", "Cheers.")


def out_of_scope_texts(n: int, *, seed: int) -> list[str]:
    """``n`` distinct requests no support queue handles, drawn from templates by ``seed``."""
    rng = random.Random(seed)
    texts: dict[str, None] = {}
    while len(texts) < n:
        parts = (rng.choice(OPENERS), rng.choice(ASKS), rng.choice(THINGS) + "?")
        texts[" ".join(p for p in (*parts, rng.choice(CLOSERS)) if p)] = None
    return list(texts)


@dataclass(frozen=True)
class OosGolden:
    golden: BuiltGolden
    cases: list[GoldenCase]


@pytest.fixture(scope="session")
def oos_golden(eval_agent: EvalAgent, taxonomy: Taxonomy) -> OosGolden:
    """In-scope cases of every queue, then out-of-scope ones (a third with a priority, which
    is kept but not scored); plus the bar and open versions."""
    in_scope = golden_cases(taxonomy, IN_SCOPE_PER_QUEUE)
    oos = [
        GoldenCase(text, HUMAN_TRIAGE, "P4" if i % 3 == 0 else None, ("source:generated",))
        for i, text in enumerate(out_of_scope_texts(OOS_CASES, seed=11))
    ]
    cases = in_scope + oos
    add_version(eval_agent, BAR_VERSION, thresholds={"min_confidence": 0.99})
    add_version(
        eval_agent,
        OPEN_VERSION,
        params={"unknown_lo": 10.0, "unknown_hi": 11.0},
        thresholds={"min_confidence": 0.0},
    )

    async def build() -> BuiltGolden:
        async with session_for(eval_agent.database_url) as session:
            name, version = OOS_GOLDEN.split("@")
            return await build_golden_set(
                session,
                data_dir=eval_agent.settings.data_dir,
                name=name,
                version=version,
                cases=cases,
                taxonomy=taxonomy,
                source="banking77:test + generated",
                created_by="tests",
            )

    return OosGolden(asyncio.run(build()), cases)
