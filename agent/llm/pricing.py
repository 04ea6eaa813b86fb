"""What a model call may cost, known before it is made (the budget's reservation).

The bound counts the prompt's tokens as LiteLLM does (tiktoken, bundled, offline), the response
schema as prompt too (providers bill it so), a margin for tokenizers that split text finer than
the counter, and the whole ``max_tokens`` as completion. A model LiteLLM has no price for costs
0 here, as it does in the recorded cost (:func:`agent.llm.response.completion_cost`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from agent.llm.lib import litellm

log = logging.getLogger(__name__)

# Prompt tokens counted by tiktoken, times this: other tokenizers (Llama's, Gemma's) split
# some text into more tokens than cl100k does.
PROMPT_MARGIN = 1.25


def prompt_tokens(
    model: str, messages: Sequence[Mapping[str, str]], response_format: Mapping[str, Any] | None
) -> int:
    """The prompt's tokens as LiteLLM counts them, the response schema included."""
    count = litellm().token_counter(model=model, messages=[dict(m) for m in messages])
    if response_format:
        count += litellm().token_counter(model=model, text=json.dumps(response_format))
    return int(count)


def call_cost_bound_usd(
    model: str,
    *,
    messages: Sequence[Mapping[str, str]],
    response_format: Mapping[str, Any] | None,
    max_tokens: int,
) -> float:
    """The most one successful call of ``model`` with this prompt may cost, in USD."""
    tokens = int(prompt_tokens(model, messages, response_format) * PROMPT_MARGIN) + 1
    try:
        prompt_usd, completion_usd = litellm().cost_per_token(
            model=model, prompt_tokens=tokens, completion_tokens=max_tokens
        )
    except Exception as exc:  # unmapped model: no price, as completion_cost says
        log.debug("no price for %s: %s", model, type(exc).__name__)
        return 0.0
    return float(prompt_usd) + float(completion_usd)
