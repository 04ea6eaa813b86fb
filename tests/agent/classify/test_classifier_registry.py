"""The registry of classifier kinds: one registration per kind, every name derived from it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from agent import migrate
from agent.classify import registry
from agent.classify.base import Classification, Classifier
from agent.classify.registry import (
    ClassifierKind,
    UnknownClassifierError,
    all_kinds,
    get_kind,
    kind_names,
)
from agent.cli import app as cli_app
from agent.config import Settings
from agent.graph.state import ResolvedVersion
from agent.services.classifiers import ClassifierRegistry
from agent.services.operators import Actor, OperatorError
from agent.services.versions import create_version
from agent.taxonomy import load_taxonomy
from migrations import classifier_kinds
from migrations.classifier_kinds import KindsInUseError
from tests.asyncdb import session_for

TAX = load_taxonomy("banking77")
ACTOR = Actor("tests", "operator")


def version(classifier: str, **fields: object) -> ResolvedVersion:
    values: dict[str, object] = {
        "id": f"v-{classifier}",
        "semver": "3.1.4",
        "label": "production",
        "classifier": classifier,
        "model": None,
        "fallback_model": None,
        "prompt_template": "",
        "params": {},
        "thresholds": {},
        "taxonomy": TAX,
        **fields,
    }
    return ResolvedVersion(**values)


class OneQueue:
    """What a private test kind builds: the same queue for every ticket."""

    name = "one_queue"

    async def classify(self, *, text, neighbours, taxonomy) -> Classification:
        queues = dict.fromkeys([*taxonomy.queue_names, "unknown"], 0.0)
        queues["card_orders"] = 1.0
        return Classification("one_queue", queues, dict.fromkeys(taxonomy.priority_names, 0.25))


@pytest.fixture
def private_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ClassifierKind]]:
    """A copy of the registry that a test may add to; the real one is untouched."""
    copy = dict(registry.all_kinds())
    monkeypatch.setattr(registry, "_REGISTRY", copy)
    yield copy


def register_one_queue(*, model_backed: bool = False) -> None:
    @registry.register("one_queue", description="always card_orders", model_backed=model_backed)
    def build(version: ResolvedVersion, *, knn: Classifier, settings: Settings) -> Classifier:
        return OneQueue()


def test_the_shipped_kinds_are_registered_once_each() -> None:
    assert {"cascade", "knn", "llm"} <= set(kind_names())
    assert list(kind_names()) == sorted(kind_names())
    assert not get_kind("knn").model_backed
    assert get_kind("llm").model_backed and get_kind("cascade").model_backed


def test_an_unknown_kind_names_the_known_ones() -> None:
    known = f"known: {', '.join(kind_names())}"
    with pytest.raises(UnknownClassifierError, match=f"'oracle'.*{known}"):
        get_kind("oracle")


def test_loading_a_version_of_an_unknown_kind_fails_naming_the_version() -> None:
    with pytest.raises(UnknownClassifierError, match="agent version 3.1.4: unknown classifier"):
        version("oracle")


def test_a_kind_is_registered_once_under_a_lower_case_identifier(private_registry) -> None:
    register_one_queue()
    with pytest.raises(ValueError, match="already registered"):
        register_one_queue()
    with pytest.raises(ValueError, match="lower-case identifier"):
        registry.register("One Queue", description="", model_backed=False)(lambda v, **k: v)
    assert "one_queue" in kind_names() and all_kinds()["one_queue"].description


def test_the_versions_classifier_is_built_by_its_kind(private_registry) -> None:
    register_one_queue()
    built = ClassifierRegistry(Settings()).for_version(
        version("one_queue", fallback_model="cheap"), cheaper=True
    )
    assert isinstance(built, OneQueue)
    # knn is built for every version and handed to the kind: the knn kind returns it as is
    assert ClassifierRegistry(Settings()).for_version(version("knn")).name == "knn"


def test_create_version_refuses_an_unknown_kind_and_a_model_kind_without_a_model(
    fresh_db_url,
) -> None:
    async def create(semver: str, classifier: str) -> None:
        async with session_for(fresh_db_url) as session:
            await create_version(
                session, semver=semver, classifier=classifier, taxonomy=TAX, actor=ACTOR
            )

    known = f"known: {', '.join(kind_names())}"
    with pytest.raises(OperatorError, match=f"unknown classifier 'oracle'.*{known}"):
        asyncio.run(create("1.0.0", "oracle"))
    with pytest.raises(OperatorError, match="the cascade classifier needs a model"):
        asyncio.run(create("1.0.1", "cascade"))
    asyncio.run(create("1.0.2", "knn"))


def test_the_cli_help_and_choices_come_from_the_registry(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["versions", "create", "--help"])
    assert shown.exit_code == 0, shown.output
    help_text = " ".join(shown.output.split())
    for kind in all_kinds().values():
        assert f"{kind.name}: {kind.description}" in help_text.replace("│ ", "")
    refused = runner.invoke(cli_app, ["versions", "create", "1.0.0", "--classifier", "oracle"])
    assert refused.exit_code == 2
    assert "unknown classifier 'oracle'" in refused.output
    assert f"known: {', '.join(kind_names())}" in " ".join(refused.output.split())


def insert_version(url: str, classifier: str, semver: str) -> None:
    with psycopg.connect(url) as conn:
        (taxonomy_id,) = conn.execute(
            "INSERT INTO taxonomies (id, name, version, content_hash, definition) "
            "VALUES (gen_random_uuid(), 't', %s, md5(%s), '{}') RETURNING id",
            (semver, semver),
        ).fetchone()
        conn.execute(
            "INSERT INTO agent_versions (id, semver, classifier, prompt_template, params, "
            "thresholds, taxonomy_id, author, rationale, embedding_model, content_hash) VALUES "
            "(gen_random_uuid(), %s, %s, '', '{}', '{}', %s, 'tests', '', 'local:m', md5(%s))",
            (semver, classifier, taxonomy_id, semver),
        )


def db_kinds(url: str) -> set[str] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            (classifier_kinds.CONSTRAINT,),
        ).fetchone()
    assert row is not None
    return set(row[0].split("'")[1::2])


def test_the_database_accepts_the_registered_kinds_and_no_other(fresh_db_url) -> None:
    assert db_kinds(fresh_db_url) == set(kind_names())
    for i, kind in enumerate(kind_names()):
        insert_version(fresh_db_url, kind, f"2.0.{i}")
    with pytest.raises(psycopg.errors.CheckViolation, match="ck_agent_versions_classifier"):
        insert_version(fresh_db_url, "oracle", "2.1.0")


def test_downgrade_restores_the_written_out_list_and_upgrade_derives_it_again(
    fresh_db_url, private_registry
) -> None:
    register_one_queue()
    migrate.downgrade(fresh_db_url, "a1c0de7e0016")  # the revision before the kinds check
    assert db_kinds(fresh_db_url) == {"knn", "llm", "cascade"}
    migrate.upgrade(fresh_db_url)
    assert db_kinds(fresh_db_url) == set(kind_names()) and "one_queue" in kind_names()


def test_an_upgrade_at_head_brings_the_check_in_step_with_the_registry(
    fresh_db_url, monkeypatch
) -> None:
    """What `ticketwatch migrate` does after a kind's module is added, then removed."""
    kinds = dict(registry.all_kinds())
    monkeypatch.setattr(registry, "_REGISTRY", kinds)
    register_one_queue()
    assert migrate.upgrade(fresh_db_url) == ["classifier kinds accepted: +one_queue"]
    assert migrate.upgrade(fresh_db_url) == []
    insert_version(fresh_db_url, "one_queue", "4.0.0")
    del kinds["one_queue"]
    with pytest.raises(KindsInUseError, match=r"'one_queue' \(versions 4.0.0\).*restore"):
        migrate.upgrade(fresh_db_url)
    assert "one_queue" in db_kinds(fresh_db_url)  # refused: the CHECK is left as it was


def test_a_kind_the_database_does_not_accept_yet_says_to_migrate(
    fresh_db_url, private_registry
) -> None:
    register_one_queue()  # registered after this database was migrated

    async def create() -> None:
        async with session_for(fresh_db_url) as session:
            await create_version(
                session, semver="5.0.0", classifier="one_queue", taxonomy=TAX, actor=ACTOR
            )

    with pytest.raises(OperatorError, match="does not accept classifier 'one_queue' yet.*migrate"):
        asyncio.run(create())
    migrate.upgrade(fresh_db_url)
    asyncio.run(create())
