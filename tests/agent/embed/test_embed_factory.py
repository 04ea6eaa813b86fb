"""Choosing an embedder from the settings, and the LiteLLM embedder's checks.

LiteLLM's own ``mock_response`` stands in for a provider: the request still goes through
LiteLLM's embedding entry points and our response handling.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from agent.config import Settings
from agent.embed import EMBEDDING_DIM, Embedder, EmbeddingError, get_embedder
from agent.embed.litellm_embedder import LiteLLMEmbedder
from agent.embed.local import LocalMiniLMEmbedder
from agent.models.base import EMBEDDING_DIM as COLUMN_DIM

MODEL = "openai/text-embedding-3-small"


def test_embedding_width_matches_the_database_column() -> None:
    assert EMBEDDING_DIM == COLUMN_DIM == 384


def test_default_settings_give_the_local_model(tmp_path: Path) -> None:
    embedder = get_embedder(
        Settings(data_dir=tmp_path, embedding_model="local:all-MiniLM-L6-v2", embedding_threads=1)
    )
    assert isinstance(embedder, LocalMiniLMEmbedder) and isinstance(embedder, Embedder)
    assert embedder.onnx_path.parent == tmp_path / "models"
    assert embedder.embed(["card declined"]).shape == (1, EMBEDDING_DIM)


def test_default_model_setting_is_local() -> None:
    assert Settings.model_fields["embedding_model"].default == "local:all-MiniLM-L6-v2"


def test_unknown_local_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="unknown local embedding model 'bert-huge'"):
        get_embedder(Settings(data_dir=tmp_path, embedding_model="local:bert-huge"))


def test_other_model_strings_go_to_litellm(tmp_path: Path) -> None:
    embedder = get_embedder(Settings(data_dir=tmp_path, embedding_model=MODEL))
    assert isinstance(embedder, LiteLLMEmbedder) and isinstance(embedder, Embedder)
    assert (embedder.model_name, embedder.dim) == (MODEL, EMBEDDING_DIM)


def test_litellm_rows_are_normalised() -> None:
    raw = [float(i % 5) - 2.0 for i in range(EMBEDDING_DIM)]
    embedder = LiteLLMEmbedder(MODEL, mock_response=raw)
    rows = embedder.embed(["where is my card?"])
    assert rows.shape == (1, EMBEDDING_DIM) and rows.dtype == np.float32
    assert np.linalg.norm(rows[0]) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(rows[0], np.array(raw) / np.linalg.norm(raw), atol=1e-6)


def test_litellm_wrong_width_is_a_clear_error() -> None:
    embedder = LiteLLMEmbedder(MODEL, mock_response=[0.1] * 1536)
    with pytest.raises(EmbeddingError, match=r"\[1536\]-dimensional .* stores 384"):
        embedder.embed(["where is my card?"])
    with pytest.raises(EmbeddingError, match="stores 384"):
        asyncio.run(embedder.aembed(["where is my card?"]))


def test_litellm_missing_rows_are_an_error() -> None:
    embedder = LiteLLMEmbedder(MODEL, mock_response=[0.1] * EMBEDDING_DIM)
    with pytest.raises(EmbeddingError, match="1 embeddings for 2 texts"):
        embedder.embed(["one", "two"])


def test_litellm_async_path() -> None:
    embedder = LiteLLMEmbedder(MODEL, mock_response=[0.5] * EMBEDDING_DIM)
    rows = asyncio.run(embedder.aembed(["where is my card?"]))
    assert np.allclose(rows, 1 / np.sqrt(EMBEDDING_DIM))
    assert embedder.embed([]).shape == (0, EMBEDDING_DIM)
