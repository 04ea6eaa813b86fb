"""The `llm` prompt and answer schema are built from the taxonomy and the neighbours."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.classify.answer import InvalidAnswer, parse_answer
from agent.classify.llm_factory import LLMParams, build_llm_classifier
from agent.classify.prompt_template import FewShot, PromptTemplate
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


def test_few_shot_k_keeps_the_nearest_neighbours() -> None:
    template = PromptTemplate(few_shot=FewShot(k=1))
    messages = build_messages(
        text="Where is my card?", neighbours=NEIGHBOURS, taxonomy=TAXONOMY, template=template
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


def test_a_versions_llm_params_come_from_the_version_and_only_endpoints_and_keys_from_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TICKETWATCH_LLM_SAMPLES_K", "7")  # no such setting: it changes nothing
    monkeypatch.setenv("TICKETWATCH_LLM_TEMPERATURE", "1.5")
    settings = Settings(
        llm_api_base="http://env-endpoint/v1",
        llm_api_key=SecretStr("sk-settings"),
        llm_fallback_api_base="http://env-fallback/v1",
    )
    stored = {**LLMParams.defaults(), "samples_k": 3}

    params = LLMParams.for_version(
        settings, stored, model="openai/pinned", fallback_model="anthropic/claude-haiku-4-5"
    )
    pinned_endpoint = LLMParams.for_version(
        settings,
        {**stored, "api_base": "http://pinned/v1"},
        model="openai/pinned",
        fallback_model=None,
    )
    classifier = build_llm_classifier(settings, params)

    assert (params.samples_k, params.temperature) == (3, 0.0)
    assert params.api_base == "http://env-endpoint/v1"
    assert params.fallback_api_base == "http://env-fallback/v1"
    assert pinned_endpoint.api_base == "http://pinned/v1"
    assert classifier.gateway.primary.model == "openai/pinned" and classifier.samples_k == 3
    assert classifier.gateway.primary.api_key == SecretStr("sk-settings")
    assert classifier.gateway.fallback is not None
    assert classifier.gateway.fallback.model == "anthropic/claude-haiku-4-5"


def test_bad_params_and_a_missing_model_are_refused() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="api_key"):
        LLMParams.for_version(settings, {"api_key": "sk"}, model="openai/m", fallback_model=None)
    with pytest.raises(ValueError, match="samples_k"):
        LLMParams.for_version(settings, {"samples_k": 0}, model="openai/m", fallback_model=None)
    with pytest.raises(ValueError, match="no LLM model"):
        LLMParams.for_version(settings, {}, model=None, fallback_model=None)
