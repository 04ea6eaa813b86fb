"""Embeddings from a provider model through LiteLLM (when one is configured instead of local)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.embed.base import EMBEDDING_DIM, EmbeddingError, l2_normalise
from agent.llm.lib import litellm


def _vector(item: Any) -> list[float]:
    if isinstance(item, dict):
        return list(item["embedding"])
    return list(item.embedding)


def _index(item: Any) -> int:
    index = item.get("index") if isinstance(item, dict) else getattr(item, "index", None)
    return int(index or 0)


class LiteLLMEmbedder:
    """Any LiteLLM embedding model asked for ``dim`` dimensions, checked and L2-normalised."""

    def __init__(
        self,
        model: str,
        *,
        dim: int = EMBEDDING_DIM,
        timeout_s: float = 30.0,
        **litellm_kwargs: Any,
    ) -> None:
        self.model_name = model
        self.dim = dim
        # Providers that cannot shorten their vectors drop `dimensions`; the width check
        # below then says so clearly instead of the provider rejecting the parameter.
        self._kwargs: dict[str, Any] = {
            "dimensions": dim,
            "drop_params": True,
            "timeout": timeout_s,
            **litellm_kwargs,
        }

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One provider call for the whole batch."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        response = litellm().embedding(model=self.model_name, input=list(texts), **self._kwargs)
        return self._rows(response.data, len(texts))

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """As ``embed``, without blocking the event loop."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        response = await litellm().aembedding(
            model=self.model_name, input=list(texts), **self._kwargs
        )
        return self._rows(response.data, len(texts))

    def _rows(self, data: Sequence[Any], expected: int) -> np.ndarray:
        if len(data) != expected:
            raise EmbeddingError(
                f"{self.model_name} returned {len(data)} embeddings for {expected} texts"
            )
        vectors = [_vector(item) for item in sorted(data, key=_index)]
        widths = {len(v) for v in vectors}
        if widths != {self.dim}:
            raise EmbeddingError(
                f"{self.model_name} returned {sorted(widths)}-dimensional embeddings, but the "
                f"database stores {self.dim} dimensions. Choose a model that supports "
                f"`dimensions={self.dim}` or use the local model (local:all-MiniLM-L6-v2)."
            )
        return l2_normalise(np.asarray(vectors, dtype=np.float32))
