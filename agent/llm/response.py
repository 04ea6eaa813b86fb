"""Reading a LiteLLM ``ModelResponse`` into an ``LLMResult``: text, usage, cost, logprobs."""

from __future__ import annotations

import logging
from typing import Any

from agent.llm.errors import LLMErrorKind
from agent.llm.lib import litellm
from agent.llm.result import LLMResult, TokenLogprob

log = logging.getLogger(__name__)


def read_response(response: Any, *, model: str) -> LLMResult:
    """The answer of a successful call; ``invalid_output`` when it holds no text."""
    choice = response.choices[0] if getattr(response, "choices", None) else None
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None)
    usage = getattr(response, "usage", None)
    result = LLMResult(
        text=text if isinstance(text, str) else None,
        model=model,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=completion_cost(response),
        finish_reason=getattr(choice, "finish_reason", None),
        logprobs=read_logprobs(getattr(choice, "logprobs", None)),
    )
    if result.text is None:
        result.error = LLMErrorKind.INVALID_OUTPUT
        result.error_message = "the model returned no text content"
    return result


def completion_cost(response: Any) -> float:
    """LiteLLM's price for the call; 0 for models it has no price for (local models)."""
    try:
        return float(litellm().completion_cost(completion_response=response) or 0.0)
    except Exception as exc:  # unmapped model, missing usage: no price, not a failure
        log.debug("no cost for this response: %s", type(exc).__name__)
        return 0.0


def read_logprobs(raw: Any) -> tuple[TokenLogprob, ...] | None:
    """OpenAI-style ``logprobs.content`` (objects or dicts) as ``TokenLogprob``s."""
    content = _get(raw, "content") if raw is not None else None
    if not content:
        return None
    tokens = []
    for item in content:
        token, logprob = _get(item, "token"), _get(item, "logprob")
        if not isinstance(token, str) or logprob is None:
            return None
        top = tuple(
            (str(_get(alt, "token")), float(_get(alt, "logprob")))
            for alt in (_get(item, "top_logprobs") or ())
            if _get(alt, "logprob") is not None
        )
        tokens.append(TokenLogprob(token=token, logprob=float(logprob), top=top))
    return tuple(tokens)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
