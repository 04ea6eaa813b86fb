"""Class probabilities for a structured answer: from token logprobs, or from repeated samples.

From logprobs
-------------
The model writes JSON such as ``{"queue": "billing", "priority": "P2"}``. A label is spelled
over a few tokens, and at each of them the provider lists the most likely alternatives
(``top_logprobs``). We walk the tokens that spell the chosen label, from the one holding its
first character to the one holding its closing quote. At each such token we know the text of
the label so far (the *prefix*) and the alternatives with their probabilities. Each
alternative ``a`` is read against the label set:

* it closes the value (holds the closing quote): it names exactly one string, which is a label
  or not;
* otherwise it leads to the labels that start with ``prefix + a`` (one, several, or none);
* an alternative that writes the same JSON before the value with other whitespace is read
  like the chosen token; one that stops before the value starts decides nothing here and is
  left out (as is its probability).

Alternatives that lead to no label are dropped, and the rest are renormalised at that token:
this is the distribution of a decoder held to the label set (as a JSON-schema grammar holds
it), so invalid spellings the model toyed with take nothing from the valid ones. An
alternative leading to several labels splits its share equally between them. The chosen
token carries the path on; its share multiplies the mass that reaches the next token.

The listed alternatives do not exhaust the distribution: the rest (``1 - sum(listed)``)
belongs to tokens outside the top list. Labels that are still possible at that token but that
no listed alternative leads to can only be reached through those tokens; each gets an equal
part of that rest, but never more than the least likely listed alternative, since every token
outside the list is less likely than that. Labels never reached get 0. By construction the
result sums to 1 over the label set; labels are compared exactly (case and all).

From samples
------------
When the provider returns no logprobs, the classifier asks for ``k`` answers at a sampling
temperature and uses their frequencies, with additive smoothing of total weight ``s`` spread
evenly over the ``K`` labels: ``p(l) = (count(l) + s / K) / (n + s)`` for ``n`` valid samples.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from agent.llm import TokenLogprob

_UNDECIDED = None  # an alternative that does not decide anything about the label
_JSON_SYNTAX = " \t\r\n:,"


def value_span(content: str, key: str) -> tuple[int, int] | None:
    """Character span ``[start, end)`` of the string value of ``key`` in the JSON ``content``."""
    match = re.search(rf'"{re.escape(key)}"\s*:\s*"', content)
    if match is None:
        return None
    end = content.find('"', match.end())
    return (match.end(), end) if end >= 0 else None


def token_offsets(tokens: Sequence[TokenLogprob], content: str) -> list[int] | None:
    """Where each token starts in ``content``; ``None`` when the tokens do not spell it."""
    joined = "".join(t.token for t in tokens)
    shift = joined.find(content)
    if not content or shift < 0:
        return None
    offsets, position = [], -shift
    for token in tokens:
        offsets.append(position)
        position += len(token.token)
    return offsets


def label_distribution(
    tokens: Sequence[TokenLogprob], content: str, key: str, labels: Sequence[str]
) -> dict[str, float] | None:
    """Probabilities over ``labels`` for the value of ``key``; ``None`` when they cannot be read."""
    span, offsets = value_span(content, key), token_offsets(tokens, content)
    if span is None or offsets is None or content[span[0] : span[1]] not in labels:
        return None
    start, end = span
    dist = dict.fromkeys(labels, 0.0)
    reach = 1.0
    for token, offset in zip(tokens, offsets, strict=True):
        if offset + len(token.token) <= start:
            continue
        prefix = content[start:offset] if offset > start else ""
        syntax = content[offset:start] if offset < start else ""
        closing = offset + len(token.token) > end
        carried = _spread(dist, reach, token, prefix, syntax, closing, labels)
        if carried is None:
            return None
        if closing:
            break
        reach = carried
    total = sum(dist.values())
    return {label: p / total for label, p in dist.items()} if total > 0 else None


def _spread(
    dist: dict[str, float],
    reach: float,
    token: TokenLogprob,
    prefix: str,
    syntax: str,
    closing: bool,
    labels: Sequence[str],
) -> float | None:
    """Add this token's branches to ``dist``; return the mass carried on by the chosen token."""
    alternatives = dict(token.top)
    alternatives[token.token] = max(token.logprob, alternatives.get(token.token, -math.inf))
    probs = {text: math.exp(lp) for text, lp in alternatives.items()}
    chosen = _reachable(token.token, prefix, syntax, labels)
    branches: list[tuple[set[str], float]] = []
    covered: set[str] = set(chosen or ())
    for text, p in probs.items():
        reached = chosen if text == token.token else _reachable(text, prefix, syntax, labels)
        if reached is _UNDECIDED or not reached or (text == token.token and not closing):
            continue
        branches.append((reached, p))
        covered |= reached
    path = probs[token.token] if not closing else 0.0
    unseen = [label for label in labels if label.startswith(prefix) and label not in covered]
    tail = max(0.0, 1.0 - sum(probs.values()))
    unseen_p = min(tail / len(unseen), min(probs.values())) if unseen else 0.0
    norm = path + sum(p for _, p in branches) + unseen_p * len(unseen)
    if norm <= 0:
        return None
    for reached, p in branches:
        for label in reached:
            dist[label] += reach * p / norm / len(reached)
    for label in unseen:
        dist[label] += reach * unseen_p / norm
    return reach * path / norm


def _reachable(text: str, prefix: str, syntax: str, labels: Sequence[str]) -> set[str] | None:
    """The labels still possible after ``text``; ``None`` when it decides nothing.

    ``syntax`` is the JSON before the value that the chosen token also holds (its opening
    quote, maybe a colon and spaces); an alternative must hold the same, spaces aside.
    """
    if syntax:
        rest = _strip_syntax(text, syntax)
        if rest is None:
            return set()
        if rest == "":
            return _UNDECIDED
        text = rest
    value, quote, _ = (prefix + text).partition('"')
    if quote:
        return {value} if value in labels else set()
    if value == prefix:
        return _UNDECIDED
    return {label for label in labels if label.startswith(value)}


def _strip_syntax(text: str, syntax: str) -> str | None:
    """``text`` after the JSON ``syntax`` (whitespace aside): ``""`` if it ends before the
    value starts, ``None`` if it writes something else."""
    expected = [c for c in syntax if not c.isspace()]
    i = 0
    for position, char in enumerate(text):
        if i == len(expected):
            return text[position:]
        if char.isspace():
            continue
        if char != expected[i]:
            return None
        i += 1
    return ""


def sample_distribution(
    answers: Sequence[str], labels: Sequence[str], smoothing: float
) -> dict[str, float]:
    """Smoothed frequencies of ``answers`` over ``labels`` (answers outside them are ignored)."""
    counts = Counter(a for a in answers if a in labels)
    n = sum(counts.values())
    if n == 0 and smoothing <= 0:
        raise ValueError("no valid sample and no smoothing: no distribution")
    k = len(labels)
    return {label: (counts[label] + smoothing / k) / (n + smoothing) for label in labels}
