"""Sentence embeddings: the contract, the local ONNX model, LiteLLM models, the API batcher.

Importing this package is cheap; onnxruntime and litellm load when an embedder is built.
"""

from agent.embed.base import EMBEDDING_DIM, Embedder, EmbeddingError, l2_normalise
from agent.embed.batcher import EmbeddingBatcher
from agent.embed.factory import get_embedder, make_batcher

__all__ = [
    "EMBEDDING_DIM",
    "Embedder",
    "EmbeddingBatcher",
    "EmbeddingError",
    "get_embedder",
    "l2_normalise",
    "make_batcher",
]
