"""A version's prompt file: its format, its checks and how it fills the chat."""

from __future__ import annotations

import pytest

from agent.classify.prompt_template import (
    DEFAULT_TEMPLATE,
    PromptTemplateError,
    parse_prompt,
)
from agent.classify.prompts import build_messages, instructions
from tests.agent.llm_helpers import NEIGHBOURS, TAXONOMY

INLINE = """
system: |
  Route tickets for {taxonomy_name}.
  Queues:
  {queues}
  Answer as {answer_format}; a literal {{brace}} is fine.
user: |
  Solved before:
  {examples}

  Now this one:
  {ticket}
few_shot: {k: 2, source: neighbours, style: inline}
"""


def test_an_empty_file_is_the_built_in_prompt_and_the_text_is_canonical() -> None:
    assert parse_prompt("") == DEFAULT_TEMPLATE
    assert parse_prompt(DEFAULT_TEMPLATE.to_yaml()) == DEFAULT_TEMPLATE
    assert parse_prompt(INLINE).to_yaml() == parse_prompt(parse_prompt(INLINE).to_yaml()).to_yaml()


def test_an_inline_template_puts_the_examples_and_the_ticket_in_one_user_turn() -> None:
    template = parse_prompt(INLINE)

    messages = build_messages(
        text="Where is my {card}?", neighbours=NEIGHBOURS, taxonomy=TAXONOMY, template=template
    )

    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert system.startswith(f"Route tickets for {TAXONOMY.name}.")
    assert "- unknown:" in system and "a literal {brace} is fine" in system
    assert user.count("Answer: {") == 2  # k=2 examples, inline
    assert user.rstrip().endswith("Now this one:\nWhere is my {card}?")


def test_the_default_template_gives_the_built_in_chat() -> None:
    messages = build_messages(text="Where is my card?", neighbours=NEIGHBOURS, taxonomy=TAXONOMY)

    assert messages[0] == {"role": "system", "content": instructions(TAXONOMY)}
    assert messages[-1] == {"role": "user", "content": "Ticket:\nWhere is my card?"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("system: '{queues}'\nuser: 'no ticket here'", "must contain {ticket}"),
        ("system: 'hi'\nuser: '{ticket}'", "must show {queues}"),
        ("system: '{queues} {customer}'\nuser: '{ticket}'", "unknown placeholder {customer}"),
        ("system: '{queues} {ticket}'\nuser: '{ticket}'", "{ticket} belongs in the user part"),
        ("system: '{queues}'\nuser: '{ticket} {examples}'", "needs few_shot.style inline"),
        (
            "system: '{queues}'\nuser: '{ticket}'\nfew_shot: {style: inline}",
            "inline needs {examples}",
        ),
        ("system: '{queues:>10}'\nuser: '{ticket}'", "plainly"),
        ("system: '{queues} {'\nuser: '{ticket}'", "literal brace"),
        ("system: '{queues}'\nuser: '{ticket}'\ntemperature: 0.2", "temperature: Extra inputs"),
        ("system: '{queues}'\nuser: '{ticket}'\nfew_shot: {k: -1}", "few_shot.k"),
        ("- just\n- a list", "a YAML mapping"),
        ("system: [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_prompt_file_is_refused_saying_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(PromptTemplateError) as caught:
        parse_prompt(text)
    assert message in str(caught.value)
