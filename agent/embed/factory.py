"""Choose the embedder the settings ask for."""

from __future__ import annotations

from dataclasses import dataclass

from agent.config import Settings
from agent.embed.base import Embedder, EmbeddingError
from agent.embed.batcher import EmbeddingBatcher
from agent.embed.parallel import usable_cores

LOCAL_PREFIX = "local:"
LOCAL_MODELS = ("all-MiniLM-L6-v2",)
# A worker's model run over 64 tickets of 256 tokens (the truncation length) peaks at ~0.5 GB;
# past 8 workers, ask for more explicitly (TICKETWATCH_LOAD_WORKERS).
MAX_DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class BulkEmbedding:
    """An embedder for bulk work and how many chunks to embed at once (see embed_chunks)."""

    embedder: Embedder
    workers: int


def get_embedder(settings: Settings, *, threads: int | None = None) -> Embedder:
    """The local ONNX model for ``local:...``, otherwise a LiteLLM model of that name.
    ``threads``: the local model's intra-op threads (default: the setting)."""
    model = settings.embedding_model.strip()
    if model.startswith(LOCAL_PREFIX):
        name = model.removeprefix(LOCAL_PREFIX)
        if name not in LOCAL_MODELS:
            raise EmbeddingError(
                f"unknown local embedding model {name!r}; available: {', '.join(LOCAL_MODELS)}"
            )
        from agent.embed.local import LocalMiniLMEmbedder  # onnxruntime only when used

        return LocalMiniLMEmbedder(
            models_dir=settings.data_dir / "models",
            threads=settings.embedding_threads if threads is None else threads,
        )
    from agent.embed.litellm_embedder import LiteLLMEmbedder  # litellm only when used

    return LiteLLMEmbedder(model)


def get_bulk_embedding(settings: Settings) -> BulkEmbedding:
    """For loading history: ``load_workers`` (default one per core, at most
    ``MAX_DEFAULT_WORKERS``) single-threaded model runs at once, or as many concurrent requests
    to a remote model."""
    workers = settings.load_workers or min(usable_cores(), MAX_DEFAULT_WORKERS)
    return BulkEmbedding(get_embedder(settings, threads=1), workers)


def make_batcher(settings: Settings, embedder: Embedder) -> EmbeddingBatcher:
    """The API's micro-batcher over ``embedder``, sized by the settings (start it yourself)."""
    return EmbeddingBatcher(
        embedder,
        max_batch=settings.embedding_batch_max,
        max_wait_ms=settings.embedding_batch_wait_ms,
    )
