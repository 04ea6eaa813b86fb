"""The `llm` classifier's prompt and answer schema, built from the taxonomy and the neighbours.

The version's prompt template (:mod:`agent.classify.prompt_template`) is filled in: its system
part lists every queue (with its description and examples) and every priority (with its
definition); the retrieved neighbours, whose final routes are known, follow as few-shot
examples (ticket → JSON answer), nearest last; then the ticket. The answer is JSON with
exactly two keys, restricted by a JSON schema to the taxonomy's queues (plus ``unknown``) and
P1-P4.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from agent.classify.base import Neighbour
from agent.classify.prompt_template import DEFAULT_TEMPLATE, PromptTemplate
from agent.taxonomy import UNKNOWN, Taxonomy

ResponseFormatMode = Literal["json_schema", "json_object_with_schema", "json_object", "none"]
Message = dict[str, str]

_MAX_EXAMPLE_CHARS = 600
_MAX_TICKET_CHARS = 4000
_UNKNOWN_MEANING = "the ticket fits none of the queues above, or is not a support request"


def queue_labels(taxonomy: Taxonomy) -> tuple[str, ...]:
    """Every queue the classifier may answer: the taxonomy's, then ``unknown``."""
    return (*taxonomy.queue_names, UNKNOWN)


def answer_json(queue: str, priority: str) -> str:
    """An answer as the model is asked to write it (also the form of the few-shot answers)."""
    return json.dumps({"queue": queue, "priority": priority})


def prompt_fields(taxonomy: Taxonomy) -> dict[str, str]:
    """The taxonomy's placeholders of a prompt template (``{queues}``, ``{priorities}``, ...)."""
    queues = "\n".join(_queue_line(q.name, q.description, q.examples) for q in taxonomy.queues)
    priorities = "\n".join(
        f"- {p.name}: {p.description} (first response within {p.target_first_response})"
        for p in sorted(taxonomy.priorities, key=lambda p: p.name)
    )
    return {
        "taxonomy_name": taxonomy.name,
        "queues": f"{queues}\n- {UNKNOWN}: {_UNKNOWN_MEANING}",
        "priorities": priorities,
        "answer_format": '{"queue": "<one queue name>", "priority": "<'
        + "|".join(taxonomy.priority_names)
        + '>"}',
    }


def instructions(taxonomy: Taxonomy, template: PromptTemplate = DEFAULT_TEMPLATE) -> str:
    """The template's system part for ``taxonomy``."""
    return template.system.format_map(prompt_fields(taxonomy))


def _queue_line(name: str, description: str, examples: Sequence[str]) -> str:
    line = f"- {name}: {description}"
    if examples:
        line += " Examples: " + "; ".join(json.dumps(e) for e in examples[:3])
    return line


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def _ticket_turn(text: str, limit: int) -> str:
    return f"Ticket:\n{_clip(text, limit)}"


def few_shot_examples(
    neighbours: Sequence[Neighbour], taxonomy: Taxonomy, max_examples: int
) -> list[Neighbour]:
    """The nearest neighbours whose route is valid in this taxonomy, nearest last."""
    valid_queues = set(queue_labels(taxonomy))
    usable = [
        n
        for n in sorted(neighbours, key=lambda n: n.distance)
        if n.queue in valid_queues and n.priority in taxonomy.priority_names
    ]
    return list(reversed(usable[:max_examples]))


def build_messages(
    *,
    text: str,
    neighbours: Sequence[Neighbour],
    taxonomy: Taxonomy,
    template: PromptTemplate = DEFAULT_TEMPLATE,
    system_role: bool = True,
) -> list[Message]:
    """The chat: the template's system part, few-shot examples from the neighbours (as turns,
    or inline in the user part), then the user part with the ticket.

    ``system_role=False`` folds the system part into the first user turn, for chat templates
    without a system role (Gemma's drops system messages).
    """
    fields = prompt_fields(taxonomy)
    examples = few_shot_examples(neighbours, taxonomy, template.few_shot.k)
    turns: list[Message] = []
    if template.few_shot.style == "turns":
        for e in examples:
            turns.append({"role": "user", "content": _ticket_turn(e.text, _MAX_EXAMPLE_CHARS)})
            turns.append({"role": "assistant", "content": answer_json(e.queue, e.priority)})
    user = template.user.format_map(
        {**fields, "ticket": _clip(text, _MAX_TICKET_CHARS), "examples": _inline(examples)}
    )
    turns.append({"role": "user", "content": user})
    system = template.system.format_map(fields)
    if system_role:
        return [{"role": "system", "content": system}, *turns]
    first = turns[0]
    turns[0] = {"role": "user", "content": f"{system}\n\n{first['content']}"}
    return turns


def _inline(examples: Sequence[Neighbour]) -> str:
    return "\n\n".join(
        f"{_ticket_turn(e.text, _MAX_EXAMPLE_CHARS)}\nAnswer: {answer_json(e.queue, e.priority)}"
        for e in examples
    )


def answer_schema(taxonomy: Taxonomy) -> dict[str, Any]:
    """JSON schema of the answer: the label sets as enums, nothing else allowed."""
    return {
        "type": "object",
        "properties": {
            "queue": {"type": "string", "enum": list(queue_labels(taxonomy))},
            "priority": {"type": "string", "enum": list(taxonomy.priority_names)},
        },
        "required": ["queue", "priority"],
        "additionalProperties": False,
    }


def response_format(taxonomy: Taxonomy, mode: ResponseFormatMode) -> dict[str, Any] | None:
    """The ``response_format`` for the provider's flavour of structured output.

    ``json_schema``: OpenAI structured outputs (LiteLLM maps it for Anthropic, Gemini, ...);
    ``json_object_with_schema``: llama.cpp's server (the schema becomes a grammar);
    ``json_object``: plain JSON mode; ``none``: the prompt alone asks for JSON.
    """
    schema = answer_schema(taxonomy)
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "ticket_route", "schema": schema, "strict": True},
        }
    if mode == "json_object_with_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None
