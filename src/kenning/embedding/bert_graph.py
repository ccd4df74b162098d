"""The MiniLM sentence encoder written down as an ONNX graph, from plain numpy weights.

Why not ``torch.onnx.export``: PyTorch is a multi-GB dependency we do not want at run time,
and the architecture (a BERT encoder, attention-masked mean pooling, L2 normalisation) is
small enough to state directly with ``onnx.helper``. Building takes well under a second.

Graph contract: inputs ``input_ids`` and ``attention_mask`` (int64, ``[batch, seq]``,
right-padded), output ``embeddings`` (float32, ``[batch, hidden]``, unit rows). Token type
ids are always zero for single-sentence encoding, so ``token_type_embeddings[0]`` is folded
into the position table instead of being an input. Node patterns mirror what ``torch.onnx``
emits for Hugging Face BERT, so ONNX Runtime's graph optimisations recognise them.

Optional *smoothing* (SmoothQuant, Xiao et al. 2023) prepares the graph for int8: BERT's
LayerNorm and GELU outputs have a few channels ~50x larger than the rest, which wrecks
per-tensor activation quantisation. Dividing those activations by a per-channel factor
``s`` and multiplying the matching weight rows by ``s`` leaves the fp32 function unchanged
but moves the difficulty into the weights, where per-channel quantisation absorbs it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from kenning.errors import ModelError

OPSET = 17
GRAPH_NAME = "all-MiniLM-L6-v2"

Array = npt.NDArray[Any]
Weights = Mapping[str, Array]


@dataclass(frozen=True, slots=True)
class BertConfig:
    """The hyperparameters the graph needs, read from the packaged ``config.json``."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    layer_norm_eps: float
    max_position_embeddings: int

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ModelError(f"unsupported activation {raw['hidden_act']!r} in {path}")
        return cls(
            hidden_size=int(raw["hidden_size"]),
            num_layers=int(raw["num_hidden_layers"]),
            num_heads=int(raw["num_attention_heads"]),
            intermediate_size=int(raw["intermediate_size"]),
            layer_norm_eps=float(raw["layer_norm_eps"]),
            max_position_embeddings=int(raw["max_position_embeddings"]),
        )

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads


_QKV = ("query", "key", "value")


def smoothing_groups(cfg: BertConfig) -> dict[str, list[str]]:
    """Activations worth smoothing, each mapped to the linear layers that read it.

    Keys name the activation (``<layer>.attention.self`` is the LayerNorm output feeding
    Q/K/V); values are weight prefixes. The attention-output projection is not a candidate:
    its input has no outlier channels, and smoothing it measured no gain.
    """
    groups: dict[str, list[str]] = {}
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}"
        groups[f"{p}.attention.self"] = [f"{p}.attention.self.{n}" for n in _QKV]
        groups[f"{p}.intermediate.dense"] = [f"{p}.intermediate.dense"]
        groups[f"{p}.output.dense"] = [f"{p}.output.dense"]
    return groups


def probe_output_name(group: str) -> str:
    """Graph output exposing a smoothing group's input activation (calibration builds only)."""
    return f"probe:{group}"


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """``smoothing`` maps a group (see ``smoothing_groups``) to its per-channel divisor."""

    smoothing: Mapping[str, Array] | None = None
    probes: bool = False


class _Graph:
    """A tiny append-only builder: unique node names, shared constants, nodes in order."""

    def __init__(self, weights: Weights, cfg: BertConfig, options: BuildOptions) -> None:
        self.weights = weights
        self.cfg = cfg
        self.options = options
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.probes: list[str] = []
        self._constants: dict[str, Array] = {}
        self._count = 0

    def const(self, name: str, value: Array) -> str:
        """Register an initializer once; shared shapes and scalars reuse the first one."""
        if name in self._constants:
            if not np.array_equal(self._constants[name], value):
                raise ValueError(f"two different constants named {name!r}")
            return name
        self._constants[name] = value
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, name: str = "", **attrs: Any) -> str:
        """Append a node; ``name`` (unique) lets quantisation select it by name."""
        self._count += 1
        node_name = name or f"{op_type}_{self._count}"
        out = f"{node_name}_out"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=node_name, **attrs))
        return out


def _f32(value: float) -> Array:
    return np.array(value, dtype=np.float32)


def _i64(value: list[int]) -> Array:
    return np.array(value, dtype=np.int64)


def _smooth_input(g: _Graph, x: str, group: str) -> tuple[str, Array | None]:
    """Divide ``x`` by the group's smoothing factor (if any); also expose it as a probe."""
    if g.options.probes:
        g.nodes.append(helper.make_node("Identity", [x], [probe_output_name(group)]))
        g.probes.append(probe_output_name(group))
    smoothing = (g.options.smoothing or {}).get(group)
    if smoothing is None:
        return x, None
    inverse = g.const(f"{group}.smooth_inv", (1.0 / smoothing).astype(np.float32))
    return g.op("Mul", x, inverse, name=f"{group}.smooth"), smoothing


def _linear(g: _Graph, x: str, prefix: str, row_scale: Array | None = None) -> str:
    """``x @ W.T + b`` for a PyTorch ``Linear`` weight ``[out, in]``; rows of ``W.T`` scaled."""
    w_t = g.weights[f"{prefix}.weight"].T
    if row_scale is not None:
        w_t = w_t * row_scale[:, None]
    w = g.const(f"{prefix}.weight_t", w_t.astype(np.float32))
    b = g.const(f"{prefix}.bias", g.weights[f"{prefix}.bias"])
    return g.op("Add", g.op("MatMul", x, w, name=f"{prefix}.MatMul"), b)


def _layer_norm(g: _Graph, x: str, prefix: str) -> str:
    scale = g.const(f"{prefix}.weight", g.weights[f"{prefix}.weight"])
    bias = g.const(f"{prefix}.bias", g.weights[f"{prefix}.bias"])
    return g.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=g.cfg.layer_norm_eps)


def _embeddings(g: _Graph) -> str:
    """Word + position (+ folded token-type 0) embeddings, then LayerNorm."""
    w = g.weights
    word_table = g.const("word_embeddings", w["embeddings.word_embeddings.weight"])
    positions = (
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    position_table = g.const("position_embeddings_plus_type0", positions.astype(np.float32))
    seq_len = g.op("Gather", g.op("Shape", "input_ids"), g.const("one_index", _i64([1])), axis=0)
    zero = g.const("zero_1d", _i64([0]))
    position_rows = g.op("Slice", position_table, zero, seq_len, zero)
    summed = g.op("Add", g.op("Gather", word_table, "input_ids", axis=0), position_rows)
    return _layer_norm(g, summed, "embeddings.LayerNorm")


def _attention_bias(g: _Graph) -> str:
    """``(1 - mask) * min_float`` broadcast to ``[batch, 1, 1, seq]``, as transformers builds it."""
    mask = g.op("Unsqueeze", "attention_mask", g.const("axis_1", _i64([1])))
    mask = g.op("Cast", g.op("Unsqueeze", mask, g.const("axis_2", _i64([2]))), to=TensorProto.FLOAT)
    inverted = g.op("Sub", g.const("one_f", _f32(1.0)), mask)
    return g.op("Mul", inverted, g.const("mask_fill", _f32(float(np.finfo(np.float32).min))))


def _heads(g: _Graph, x: str, perm: list[int]) -> str:
    shape = g.const("heads_shape", _i64([0, 0, g.cfg.num_heads, g.cfg.head_size]))
    return g.op("Transpose", g.op("Reshape", x, shape), perm=perm)


def _self_attention(g: _Graph, h: str, bias: str, prefix: str) -> str:
    x, scale = _smooth_input(g, h, prefix)
    q = _heads(g, _linear(g, x, f"{prefix}.query", scale), [0, 2, 1, 3])
    k = _heads(g, _linear(g, x, f"{prefix}.key", scale), [0, 2, 3, 1])
    v = _heads(g, _linear(g, x, f"{prefix}.value", scale), [0, 2, 1, 3])
    root = g.const("sqrt_head_size", _f32(math.sqrt(g.cfg.head_size)))
    scores = g.op("Add", g.op("Div", g.op("MatMul", q, k), root), bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged = g.const("merge_shape", _i64([0, 0, g.cfg.hidden_size]))
    return g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merged)


def _gelu(g: _Graph, x: str) -> str:
    """Exact (erf) GELU in the form ``torch.onnx`` emits, so ORT fuses it into one kernel."""
    erf = g.op("Erf", g.op("Div", x, g.const("sqrt2", _f32(math.sqrt(2.0)))))
    shifted = g.op("Add", erf, g.const("gelu_one", _f32(1.0)))
    return g.op("Mul", g.op("Mul", x, shifted), g.const("gelu_half", _f32(0.5)))


def _smoothed_linear(g: _Graph, x: str, prefix: str) -> str:
    smoothed, scale = _smooth_input(g, x, prefix)
    return _linear(g, smoothed, prefix, scale)


def _encoder_layer(g: _Graph, h: str, bias: str, i: int) -> str:
    p = f"encoder.layer.{i}"
    context = _self_attention(g, h, bias, f"{p}.attention.self")
    attended = g.op("Add", _linear(g, context, f"{p}.attention.output.dense"), h)
    h1 = _layer_norm(g, attended, f"{p}.attention.output.LayerNorm")
    inner = _gelu(g, _smoothed_linear(g, h1, f"{p}.intermediate.dense"))
    out = g.op("Add", _smoothed_linear(g, inner, f"{p}.output.dense"), h1)
    return _layer_norm(g, out, f"{p}.output.LayerNorm")


def _mean_pool_normalise(g: _Graph, h: str) -> None:
    """Masked mean over tokens, then divide by the L2 norm, exactly as sentence-transformers."""
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    mask = g.op("Unsqueeze", mask, g.const("axis_2", _i64([2])))
    axis_seq = g.const("axis_1", _i64([1]))
    summed = g.op("ReduceSum", g.op("Mul", h, mask), axis_seq, keepdims=0)
    count = g.op("ReduceSum", mask, axis_seq, keepdims=0)
    count = g.op("Max", count, g.const("count_floor", _f32(1e-9)))
    mean = g.op("Div", summed, count)
    norm = g.op("ReduceL2", mean, axes=[1], keepdims=1)
    norm = g.op("Max", norm, g.const("norm_floor", _f32(1e-12)))
    g.nodes.append(helper.make_node("Div", [mean, norm], ["embeddings"], name="normalise"))


def _io(g: _Graph) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask")
    ]
    hidden = g.cfg.hidden_size
    outputs = [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", hidden])]
    outputs += [
        helper.make_tensor_value_info(p, TensorProto.FLOAT, ["batch", "sequence", None])
        for p in g.probes
    ]
    return inputs, outputs


def build_model(
    weights: Weights, cfg: BertConfig, options: BuildOptions | None = None
) -> onnx.ModelProto:
    """The whole sentence encoder as an in-memory ONNX model (opset 17, standard ops only)."""
    g = _Graph(weights, cfg, options or BuildOptions())
    h = _embeddings(g)
    bias = _attention_bias(g)
    for i in range(cfg.num_layers):
        h = _encoder_layer(g, h, bias, i)
    _mean_pool_normalise(g, h)
    inputs, outputs = _io(g)
    graph = helper.make_graph(g.nodes, GRAPH_NAME, inputs, outputs, g.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kenning"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def weight_row_max(weights: Weights, prefixes: list[str]) -> Array:
    """Per input channel, the largest |weight| over the layers reading one activation."""
    rows = [np.abs(weights[f"{p}.weight"]).max(axis=0) for p in prefixes]
    result: Array = np.max(np.stack(rows), axis=0)
    return result
