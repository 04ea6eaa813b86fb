"""Text and label changes the drift phases apply: word substitutions, outage wording,
redefined priorities. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping

from agent.taxonomy import Taxonomy


def substitution_pattern(substitutions: Mapping[str, str]) -> re.Pattern[str]:
    """One case-insensitive, whole-word pattern for every key (longest keys first)."""
    keys = sorted(substitutions, key=len, reverse=True)
    alternatives = "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in keys)
    return re.compile(rf"(?<![\w])({alternatives})(?![\w])", re.IGNORECASE)


def _match_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    """``text`` with every whole-word occurrence of a key replaced, keeping its case."""
    if not substitutions:
        return text
    lowered = {" ".join(k.lower().split()): v for k, v in substitutions.items()}
    pattern = substitution_pattern(substitutions)

    def replace(match: re.Match[str]) -> str:
        found = match.group(1)
        return _match_case(found, lowered[" ".join(found.lower().split())])

    return pattern.sub(replace, text)


def outage_text(template: str, text: str) -> str:
    """A ticket reworded by an outage template; ``{text}`` stands for the original."""
    original = text.strip()
    if not template.startswith("{text}") and original[:1].isupper() and original[1:2].islower():
        original = original[:1].lower() + original[1:]  # it now sits inside a sentence
    return template.replace("{text}", original)


def redefined_priority(
    *,
    intent: str | None,
    queue: str,
    priority: str,
    intent_priority: Mapping[str, str],
    queue_priority: Mapping[str, str],
) -> str:
    """The true priority under the new rules: the intent's rule, else the queue's, else as was."""
    if intent is not None and intent in intent_priority:
        return intent_priority[intent]
    return queue_priority.get(queue, priority)


def intents_of(taxonomy: Taxonomy, queue: str) -> tuple[str, ...]:
    """The source intents a queue handles."""
    return tuple(taxonomy.queue(queue).intents)
