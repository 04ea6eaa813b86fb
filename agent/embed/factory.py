"""Choose the embedder the settings ask for."""

from __future__ import annotations

from agent.config import Settings
from agent.embed.base import Embedder, EmbeddingError
from agent.embed.batcher import EmbeddingBatcher

LOCAL_PREFIX = "local:"
LOCAL_MODELS = ("all-MiniLM-L6-v2",)


def get_embedder(settings: Settings) -> Embedder:
    """The local ONNX model for ``local:...``, otherwise a LiteLLM model of that name."""
    model = settings.embedding_model.strip()
    if model.startswith(LOCAL_PREFIX):
        name = model.removeprefix(LOCAL_PREFIX)
        if name not in LOCAL_MODELS:
            raise EmbeddingError(
                f"unknown local embedding model {name!r}; available: {', '.join(LOCAL_MODELS)}"
            )
        from agent.embed.local import LocalMiniLMEmbedder  # onnxruntime only when used

        return LocalMiniLMEmbedder(
            models_dir=settings.data_dir / "models", threads=settings.embedding_threads
        )
    from agent.embed.litellm_embedder import LiteLLMEmbedder  # litellm only when used

    return LiteLLMEmbedder(model)


def make_batcher(settings: Settings, embedder: Embedder) -> EmbeddingBatcher:
    """The API's micro-batcher over ``embedder``, sized by the settings (start it yourself)."""
    return EmbeddingBatcher(
        embedder,
        max_batch=settings.embedding_batch_max,
        max_wait_ms=settings.embedding_batch_wait_ms,
    )
