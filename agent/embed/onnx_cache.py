"""The built ONNX file, cached under the data directory and built at most once.

The file name carries a hash of the weights, the configs and the builder version, so a new
model or a changed builder gets a new file. Builders take a file lock (so concurrent processes
build once) and write to a temporary file that is renamed into place (so a reader never sees a
half-written model, even where the lock is not honoured).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from filelock import FileLock

from agent.embed import onnx_minilm
from agent.embed.model_files import MiniLMFiles

MODEL_STEM = "all-MiniLM-L6-v2"
LOCK_TIMEOUT_S = 600.0


def cache_key(files: MiniLMFiles) -> str:
    """Short hash of the model files and the graph builder that turns them into ONNX."""
    material = f"{files.fingerprint()}:{onnx_minilm.BUILDER_VERSION}:{onnx_minilm.OPSET}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def onnx_path(files: MiniLMFiles, models_dir: Path) -> Path:
    """Where the ONNX file for these model files lives (it may not exist yet)."""
    return models_dir / f"{MODEL_STEM}-{cache_key(files)}.onnx"


def _write_atomically(data: bytes, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def ensure_onnx_model(files: MiniLMFiles, models_dir: Path) -> tuple[Path, bool]:
    """Path of the cached ONNX file, building it first if needed; also whether we built it."""
    target = onnx_path(files, models_dir)
    if target.is_file():
        return target, False
    models_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{target}.lock", timeout=LOCK_TIMEOUT_S):
        if target.is_file():  # another process built it while we waited
            return target, False
        model = onnx_minilm.build_model(files)
        _write_atomically(model.SerializeToString(), target)
    return target, True
