"""The model's answer, validated against the taxonomy: anything else is ``invalid_output``."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.classify.prompts import queue_labels
from agent.taxonomy import Taxonomy


class InvalidAnswer(ValueError):
    """The model's text is not a valid route in this taxonomy."""


class RouteAnswer(BaseModel):
    """A route as the model writes it. Extra keys are ignored; the two labels are checked."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    queue: str
    priority: str


def _strip_fence(text: str) -> str:
    """Models without structured output sometimes wrap JSON in a Markdown code fence."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped[3:-3]
        stripped = stripped.removeprefix("json")
    return stripped.strip()


def parse_answer(text: str | None, taxonomy: Taxonomy) -> RouteAnswer:
    """The answer in ``text``, or ``InvalidAnswer`` saying what is wrong (without echoing it)."""
    if text is None:
        raise InvalidAnswer("no answer text")
    try:
        answer = RouteAnswer.model_validate(json.loads(_strip_fence(text)))
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"answer is not JSON ({exc.msg} at {exc.pos})") from None
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "answer" for e in exc.errors())
        raise InvalidAnswer(f"answer does not match the schema ({fields})") from None
    if answer.queue not in queue_labels(taxonomy):
        raise InvalidAnswer(f"queue {answer.queue[:40]!r} is not in the taxonomy")
    if answer.priority not in taxonomy.priority_names:
        raise InvalidAnswer(f"priority {answer.priority[:40]!r} is not one of P1-P4")
    return answer
