"""Sentence embeddings: the contract, the local ONNX model, LiteLLM models, the API batcher.

Importing this package is cheap; onnxruntime and litellm load when an embedder is built.
"""

from agent.embed.base import EMBEDDING_DIM, Embedder, EmbeddingError, l2_normalise
from agent.embed.batcher import EmbeddingBatcher
from agent.embed.factory import BulkEmbedding, get_bulk_embedding, get_embedder, make_batcher
from agent.embed.parallel import embed_chunks

__all__ = [
    "EMBEDDING_DIM",
    "BulkEmbedding",
    "Embedder",
    "EmbeddingBatcher",
    "EmbeddingError",
    "embed_chunks",
    "get_bulk_embedding",
    "get_embedder",
    "l2_normalise",
    "make_batcher",
]
