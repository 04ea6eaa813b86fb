"""Versions hold their whole context, hashed, and move between databases with the same hash."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from agent import migrate
from agent.classify.llm_factory import LLMParams
from agent.repositories import catalog
from agent.services.operators import Actor, OperatorError
from agent.services.version_transfer import diff_versions, import_version, version_document
from agent.services.versions import create_version, stored_content
from agent.taxonomy import load_taxonomy
from tests.asyncdb import session_for
from tests.dbutil import create_database, drop_database, unique_name

ACTOR = Actor("tests", "admin")
PROMPT = """
system: "Queues:\\n{queues}\\nAnswer as {answer_format}."
user: "Customer wrote:\\n{ticket}"
few_shot: {k: 3}
"""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def create(url: str, semver: str, **values: Any) -> str:
    values = {"classifier": "llm", "model": "openai/m", "params": {"k": 9}, **values}
    async with session_for(url) as session:
        version = await create_version(
            session, semver=semver, taxonomy=load_taxonomy("banking77"), actor=ACTOR, **values
        )
        return version.content_hash


async def document(url: str, semver: str) -> dict[str, Any]:
    async with session_for(url) as session:
        return await version_document(session, semver)


async def import_into(url: str, doc: dict[str, Any]) -> bool:
    async with session_for(url) as session:
        return (await import_version(session, doc, actor=ACTOR))[1]


@pytest.fixture
def other_db_url(servers, template_db) -> Iterator[str]:
    """A second environment's database."""
    name = unique_name("tw_other")
    create_database(servers.postgres_url, name, template=template_db)
    yield servers.database(name)
    drop_database(servers.postgres_url, name)


def test_a_new_version_stores_every_value_it_runs_with_and_its_hash(fresh_db_url) -> None:
    content_hash = run(create(fresh_db_url, "1.0.0", prompt_template=PROMPT))
    doc = run(document(fresh_db_url, "1.0.0"))

    content = doc["content"]
    assert doc["content_hash"] == content_hash
    assert content["params"]["llm"] == LLMParams.defaults()
    assert content["params"]["k"] == 9 and content["params"]["tau"] == 0.05
    assert content["thresholds"] == {"min_confidence": 0.5, "min_priority_confidence": 0.4}
    assert content["embedding_model"] == "local:all-MiniLM-L6-v2"
    assert content["prompt"]["user"] == "Customer wrote:\n{ticket}"
    assert content["prompt"]["few_shot"] == {"k": 3, "source": "neighbours", "style": "turns"}
    assert doc["taxonomy"]["name"] == "banking77"


def test_bad_content_is_refused_before_anything_is_stored(fresh_db_url) -> None:
    with pytest.raises(OperatorError, match="unknown placeholder"):
        run(create(fresh_db_url, "1.0.0", prompt_template="system: '{queues} {x}'"))
    with pytest.raises(OperatorError, match="takes no prompt"):
        run(create(fresh_db_url, "1.0.1", classifier="knn", model=None, prompt_template=PROMPT))
    with pytest.raises(OperatorError, match="samples_k"):
        run(create(fresh_db_url, "1.0.2", params={"llm": {"samples_k": 0}}))
    with pytest.raises(OperatorError, match="no version"):
        run(document(fresh_db_url, "1.0.0"))


def test_diff_names_each_value_that_differs(fresh_db_url) -> None:
    run(create(fresh_db_url, "1.0.0"))
    run(create(fresh_db_url, "1.1.0", prompt_template=PROMPT, thresholds={"min_confidence": 0.6}))

    async def body() -> list[str]:
        async with session_for(fresh_db_url) as session:
            return [d.key for d in await diff_versions(session, "1.0.0", "1.1.0")]

    keys = run(body())
    assert keys == [
        "prompt.few_shot.k",
        "prompt.system",
        "prompt.user",
        "thresholds.min_confidence",
    ]


def test_export_then_import_elsewhere_keeps_the_hash(fresh_db_url, other_db_url) -> None:
    run(create(fresh_db_url, "1.0.0", prompt_template=PROMPT, fallback_model="openai/cheap"))
    exported = json.loads(json.dumps(run(document(fresh_db_url, "1.0.0"))))

    assert run(import_into(other_db_url, exported)) is True
    imported = run(document(other_db_url, "1.0.0"))
    assert imported["content_hash"] == exported["content_hash"]
    assert imported["content"] == exported["content"]
    assert imported["author"] == "tests"
    assert run(import_into(other_db_url, exported)) is False  # here already, same hash


def test_import_refuses_an_altered_file_and_a_semver_taken_by_other_content(
    fresh_db_url, other_db_url
) -> None:
    run(create(fresh_db_url, "1.0.0"))
    exported = run(document(fresh_db_url, "1.0.0"))
    altered = copy.deepcopy(exported)
    altered["content"]["thresholds"]["min_confidence"] = 0.1
    with pytest.raises(OperatorError, match="does not match its hash"):
        run(import_into(other_db_url, altered))
    retaxed = copy.deepcopy(exported)
    retaxed["taxonomy"]["queues"][0]["description"] = "changed"
    with pytest.raises(OperatorError, match="taxonomy does not match"):
        run(import_into(other_db_url, retaxed))

    run(create(other_db_url, "1.0.0", thresholds={"min_confidence": 0.9}))
    with pytest.raises(OperatorError, match="exists here with another content"):
        run(import_into(other_db_url, exported))


def test_taxonomies_are_append_only(fresh_db_url) -> None:
    run(create(fresh_db_url, "1.0.0"))
    with psycopg.connect(fresh_db_url) as conn:
        for statement in (
            "UPDATE taxonomies SET version = 'x'",
            "DELETE FROM taxonomies",
            "TRUNCATE taxonomies CASCADE",
        ):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                conn.execute(statement)
            conn.rollback()


def test_the_migration_fills_existing_versions_with_what_they_ran_with(fresh_db_url) -> None:
    migrate.downgrade(fresh_db_url, "c3d7b0d9e012")
    with psycopg.connect(fresh_db_url) as conn:
        (taxonomy_id,) = conn.execute(
            "INSERT INTO taxonomies (id, name, version, content_hash, definition) "
            "VALUES (gen_random_uuid(), 't', '1', %s, '{}') RETURNING id",
            ("a" * 64,),
        ).fetchone()
        conn.execute(
            "INSERT INTO agent_versions (id, semver, classifier, model, prompt_template, params, "
            "thresholds, taxonomy_id, author, rationale) VALUES (gen_random_uuid(), '0.9.0', "
            "'cascade', 'openai/m', '', %s, '{}', %s, 'tests', '')",
            (json.dumps({"k": 5, "llm": {"max_examples": 3, "samples_k": 2}}), taxonomy_id),
        )
    migrate.upgrade(fresh_db_url)
    doc = run(document(fresh_db_url, "0.9.0"))

    params = doc["content"]["params"]
    assert params["k"] == 5 and params["cascade_threshold"] == 0.8
    assert params["llm"] == {**LLMParams.defaults(), "samples_k": 2}
    assert doc["content"]["prompt"]["few_shot"]["k"] == 3
    assert doc["content"]["thresholds"]["min_confidence"] == 0.5
    assert doc["content"]["embedding_model"] == "local:all-MiniLM-L6-v2"

    async def rehash() -> str:
        async with session_for(fresh_db_url) as session:
            version = await catalog.version_by_semver(session, "0.9.0")
            assert version is not None
            return stored_content(version, "a" * 64).content_hash()

    assert run(rehash()) == doc["content_hash"]
