"""Build the all-MiniLM-L6-v2 sentence encoder as an ONNX graph, straight from safetensors.

The graph is the BERT encoder (post-LN, GELU with erf) followed by attention-masked mean
pooling and L2 normalisation, i.e. the whole sentence-transformers pipeline after tokenising.
Inputs ``input_ids`` and ``attention_mask`` (int64, [batch, seq]); output
``sentence_embedding`` (float32, [batch, hidden]). Only the ``onnx`` helper API and NumPy are
used: no torch.

The graph uses standard ONNX ops in the layout of a PyTorch export, so onnxruntime's own
session optimisations apply (BiasGelu, scaled FusedMatMul). Writing com.microsoft Attention,
SkipLayerNormalization and BiasGelu nodes directly, or running
``onnxruntime.transformers.optimizer`` over this graph (which then needs sympy and fuses
SkipLayerNorm/BiasGelu but not attention), stayed within 2e-7 of this graph but was no faster
on CPU (evals/bench/embed.py measures the graph used here): MatMul is ~90% of the time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

from agent.embed.base import EmbeddingError
from agent.embed.model_files import MiniLMFiles

# Bump when the graph this module builds changes: it is part of the cache key.
BUILDER_VERSION = "1"
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "sentence_embedding"


class _GraphBuilder:
    """Accumulates nodes and initializers; every op has a single output named after it."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        self._count = 0

    def const(self, name: str, value: np.ndarray | float) -> str:
        """An initializer; a name already defined is reused (same name, same value)."""
        if name in self._names:
            return name
        self._names.add(name)
        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, name: str | None = None, **attrs: Any) -> str:
        self._count += 1
        out = name or f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, prefix: str) -> str:
        """y = x @ W^T + b, with W in torch's (out, in) layout."""
        w = self.const(f"{prefix}.weight_t", np.ascontiguousarray(weight.T))
        b = self.const(f"{prefix}.bias", bias)
        return self.op("Add", self.op("MatMul", x, w), b)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, eps: float) -> str:
        gamma = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        beta = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=eps)


def _embeddings(g: _GraphBuilder, w: dict[str, np.ndarray], eps: float) -> str:
    words = g.op(
        "Gather",
        g.const("word_embeddings", w["embeddings.word_embeddings.weight"]),
        "input_ids",
        axis=0,
    )
    # Single-segment input: every token_type_id is 0, so the type embedding is a constant row.
    token_type = g.const("token_type_0", w["embeddings.token_type_embeddings.weight"][0])
    seq_len = g.op("Shape", "input_ids", start=1, end=2)
    positions = g.op(
        "Slice",
        g.const("position_embeddings", w["embeddings.position_embeddings.weight"]),
        g.const("zero_1d", np.array([0], dtype=np.int64)),
        seq_len,
        g.const("axis0_1d", np.array([0], dtype=np.int64)),
    )
    summed = g.op("Add", g.op("Add", words, token_type), positions)
    return g.layer_norm(summed, w, "embeddings.LayerNorm", eps)


def _split_heads(g: _GraphBuilder, x: str, heads: int, head_dim: int, perm: list[int]) -> str:
    shape = g.const("heads_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    return g.op("Transpose", g.op("Reshape", x, shape), perm=perm)


def _attention(
    g: _GraphBuilder, x: str, w: dict[str, np.ndarray], p: str, mask_bias: str, cfg: dict[str, Any]
) -> str:
    heads, hidden = int(cfg["num_attention_heads"]), int(cfg["hidden_size"])
    head_dim = hidden // heads

    def proj(name: str) -> str:
        return g.linear(
            x, w[f"{p}.self.{name}.weight"], w[f"{p}.self.{name}.bias"], f"{p}.self.{name}"
        )

    q = _split_heads(g, proj("query"), heads, head_dim, [0, 2, 1, 3])
    k = _split_heads(g, proj("key"), heads, head_dim, [0, 2, 3, 1])
    v = _split_heads(g, proj("value"), heads, head_dim, [0, 2, 1, 3])
    scores = g.op("Div", g.op("MatMul", q, k), g.const("attention_scale", math.sqrt(head_dim)))
    probs = g.op("Softmax", g.op("Add", scores, mask_bias), axis=-1)
    context = g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3])
    merged = g.op(
        "Reshape", context, g.const("merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    )
    out = g.linear(
        merged, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.output.dense"
    )
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", cfg["layer_norm_eps"])


def _feed_forward(g: _GraphBuilder, x: str, w: dict[str, np.ndarray], p: str, eps: float) -> str:
    h = g.linear(
        x,
        w[f"{p}.intermediate.dense.weight"],
        w[f"{p}.intermediate.dense.bias"],
        f"{p}.intermediate.dense",
    )
    # GELU, erf form: h * 0.5 * (1 + erf(h / sqrt(2))).
    erf = g.op("Erf", g.op("Div", h, g.const("sqrt2", math.sqrt(2.0))))
    gelu = g.op("Mul", g.op("Mul", h, g.op("Add", erf, g.const("one", 1.0))), g.const("half", 0.5))
    out = g.linear(
        gelu, w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"], f"{p}.output.dense"
    )
    return g.layer_norm(g.op("Add", out, x), w, f"{p}.output.LayerNorm", eps)


def _mask_terms(g: _GraphBuilder) -> tuple[str, str]:
    """The float mask [batch, seq] and the additive attention bias [batch, 1, 1, seq]."""
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT, name="mask_f")
    inverted = g.op("Sub", g.const("one", 1.0), mask)
    bias = g.op("Mul", inverted, g.const("mask_min", float(np.finfo(np.float32).min)))
    return mask, g.op("Unsqueeze", bias, g.const("axes_1_2", np.array([1, 2], dtype=np.int64)))


def _mean_pool_normalise(g: _GraphBuilder, x: str, mask: str) -> str:
    axis1 = g.const("axis1", np.array([1], dtype=np.int64))
    mask3 = g.op("Unsqueeze", mask, g.const("axis2", np.array([2], dtype=np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, mask3), axis1, keepdims=0)
    counts = g.op("Clip", g.op("ReduceSum", mask3, axis1, keepdims=0), g.const("min_count", 1e-9))
    mean = g.op("Div", summed, counts)
    norm = g.op("ReduceL2", mean, axes=[1], keepdims=1)  # axes is an attribute before opset 18
    return g.op("Div", mean, g.op("Max", norm, g.const("min_norm", 1e-12)), name=OUTPUT_NAME)


def _check_supported(files: MiniLMFiles) -> dict[str, Any]:
    cfg = files.config
    pooling = files.pooling
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
        raise EmbeddingError(f"unsupported encoder config in {files.model_dir}: {cfg}")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise EmbeddingError("only absolute position embeddings are supported")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise EmbeddingError(f"only mean pooling is supported, got {pooling}")
    return cfg


def build_model(files: MiniLMFiles) -> onnx.ModelProto:
    """The full encoder + pooling + normalisation graph with its weights as initializers."""
    cfg = _check_supported(files)
    weights = load_file(str(files.weights))
    eps = float(cfg["layer_norm_eps"])
    g = _GraphBuilder()
    mask, mask_bias = _mask_terms(g)
    x = _embeddings(g, weights, eps)
    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        x = _attention(g, x, weights, f"{p}.attention", mask_bias, cfg)
        x = _feed_forward(g, x, weights, p, eps)
    _mean_pool_normalise(g, x, mask)
    hidden = int(cfg["hidden_size"])
    graph = helper.make_graph(
        g.nodes,
        "all_minilm_l6_v2",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
            for n in INPUT_NAMES
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="ticketwatch",
        producer_version=BUILDER_VERSION,
    )
    model.ir_version = 8  # readable by every onnxruntime the project supports
    onnx.checker.check_model(model, full_check=True)
    return model
