"""The embedder contract: texts in, L2-normalised float32 rows out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

# The width of the `tickets.embedding` pgvector column. Every embedder must produce it.
EMBEDDING_DIM = 384


class EmbeddingError(RuntimeError):
    """An embedder could not be built or returned unusable vectors."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors, one row per text, in input order."""

    model_name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dim), each row L2-normalised."""
        ...


def l2_normalise(rows: np.ndarray, *, eps: float = 1e-12) -> np.ndarray:
    """Divide each row by its L2 norm (clamped at ``eps``, as torch's F.normalize does)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, eps)).astype(np.float32, copy=False)
