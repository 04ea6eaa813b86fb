"""The `llm` prompt and answer schema are built from the taxonomy and the neighbours."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.classify.answer import InvalidAnswer, parse_answer
from agent.classify.llm_factory import LLMParams, build_llm_classifier
from agent.classify.prompts import answer_schema, build_messages, instructions, response_format
from agent.config import Settings
from tests.agent.llm_helpers import NEIGHBOURS, QUEUES, TAXONOMY


def test_instructions_name_every_queue_and_priority_with_its_definition() -> None:
    text = instructions(TAXONOMY)

    for queue in TAXONOMY.queues:
        assert f"- {queue.name}: {queue.description}" in text
    assert "- unknown:" in text
    for priority in TAXONOMY.priorities:
        assert f"- {priority.name}: {priority.description}" in text
    assert '"Charged twice"' in text  # a queue's examples


def test_without_system_role_the_instructions_open_the_first_user_turn() -> None:
    messages = build_messages(
        text="Where is my card?", neighbours=NEIGHBOURS, taxonomy=TAXONOMY, system_role=False
    )

    assert all(m["role"] != "system" for m in messages)
    assert messages[0]["content"].startswith(instructions(TAXONOMY))
    assert "new card has not arrived" in messages[0]["content"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]


def test_max_examples_keeps_the_nearest_neighbours() -> None:
    messages = build_messages(
        text="Where is my card?", neighbours=NEIGHBOURS, taxonomy=TAXONOMY, max_examples=1
    )

    assert len(messages) == 4  # system, one example (two turns), the ticket
    assert "charged a fee twice" in messages[1]["content"]


def test_schema_restricts_answers_to_the_label_sets() -> None:
    schema = answer_schema(TAXONOMY)

    assert schema["properties"]["queue"]["enum"] == list(QUEUES)
    assert schema["additionalProperties"] is False
    assert response_format(TAXONOMY, "json_object_with_schema") == {
        "type": "json_object",
        "schema": schema,
    }
    assert response_format(TAXONOMY, "none") is None


def test_parse_answer_accepts_a_fenced_answer_and_ignores_extra_keys() -> None:
    text = '```json\n{"queue": "cards", "priority": "P4", "reason": "delivery"}\n```'
    answer = parse_answer(text, TAXONOMY)
    assert (answer.queue, answer.priority) == ("cards", "P4")
    with pytest.raises(InvalidAnswer, match="not in the taxonomy"):
        parse_answer('{"queue": "human_triage", "priority": "P4"}', TAXONOMY)


def test_classifier_from_settings_takes_version_overrides() -> None:
    settings = Settings(
        llm_model="openai/base-model",
        llm_api_key=SecretStr("sk-settings"),
        llm_fallback_model="anthropic/claude-haiku-4-5",
        llm_samples_k=7,
    )

    plain = build_llm_classifier(settings)
    pinned = build_llm_classifier(settings, {"model": "openai/pinned", "samples_k": 3})

    assert plain.gateway.primary.model == "openai/base-model" and plain.samples_k == 7
    assert pinned.gateway.primary.model == "openai/pinned" and pinned.samples_k == 3
    assert pinned.gateway.primary.api_key == SecretStr("sk-settings")
    assert pinned.gateway.fallback is not None
    assert pinned.gateway.fallback.model == "anthropic/claude-haiku-4-5"


def test_bad_overrides_and_a_missing_model_are_refused() -> None:
    settings = Settings(llm_model="openai/base-model")
    with pytest.raises(ValueError, match="api_key"):
        LLMParams.from_settings(settings, {"api_key": "sk-in-a-version"})
    with pytest.raises(ValueError, match="samples_k"):
        LLMParams.from_settings(settings, {"samples_k": 0})
    with pytest.raises(ValueError, match="no LLM model"):
        LLMParams.from_settings(Settings(llm_model=None))
