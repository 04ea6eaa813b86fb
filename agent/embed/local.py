"""all-MiniLM-L6-v2 on onnxruntime (CPU): the default, offline embedder. No torch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from agent.embed.base import EMBEDDING_DIM, EmbeddingError
from agent.embed.chunking import plan_runs
from agent.embed.model_files import MiniLMFiles, default_model_files
from agent.embed.onnx_cache import ensure_onnx_model
from agent.embed.onnx_minilm import OUTPUT_NAME

LOCAL_MODEL_NAME = "local:all-MiniLM-L6-v2"


def load_tokenizer(files: MiniLMFiles) -> Tokenizer:
    """The model's WordPiece tokenizer, truncating as sentence-transformers does, unpadded."""
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    # tokenizer.json ships with fixed padding and truncation at 128; sentence-transformers
    # truncates at max_seq_length and pads each batch to its longest text.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=files.max_seq_length)
    return tokenizer


def make_session(path: Path, *, threads: int) -> ort.InferenceSession:
    """A CPU session with every graph optimisation on; ``threads`` 0 = onnxruntime's default."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads > 0:
        options.intra_op_num_threads = threads
    # Idle pool threads spinning for work steal CPU from the event loop, Postgres and the
    # workers on the same machine; measured on a busy 2-core host, 2 spinning threads were
    # slower than 1 thread, 2 non-spinning threads faster.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _pad(encodings: Sequence[Encoding]) -> dict[str, np.ndarray]:
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask}


class LocalMiniLMEmbedder:
    """Sentence embeddings equal (to ~1e-7) to sentence-transformers' all-MiniLM-L6-v2."""

    model_name = LOCAL_MODEL_NAME
    dim = EMBEDDING_DIM

    def __init__(
        self,
        *,
        models_dir: Path,
        threads: int = 0,
        max_run: int = 64,
        files: MiniLMFiles | None = None,
    ) -> None:
        files = files or default_model_files()
        started = time.perf_counter()
        self.onnx_path, self.built = ensure_onnx_model(files, models_dir)
        self._session = make_session(self.onnx_path, threads=threads)
        self._tokenizer = load_tokenizer(files)
        self.max_seq_length = files.max_seq_length
        self.max_run = max_run
        self.startup_s = time.perf_counter() - started
        width = self._session.get_outputs()[0].shape[-1]
        if width != self.dim:
            raise EmbeddingError(f"{self.onnx_path} outputs {width} dimensions, not {self.dim}")

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        """Token ids per text, truncated at ``max_seq_length``; stripped as the reference does."""
        return self._tokenizer.encode_batch([str(t).strip() for t in texts])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows in input order.

        Texts are sorted by token count and run in groups of similar length, so little of the
        work goes into padding; rows are put back in input order.
        """
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenize(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        lengths = [len(encodings[i].ids) for i in order]
        for start, stop in plan_runs(lengths, max_run=self.max_run):
            rows = order[start:stop]
            feed = _pad([encodings[i] for i in rows])
            out[rows] = self._session.run([OUTPUT_NAME], feed)[0]
        return out
