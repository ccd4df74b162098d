"""Building the ONNX graph: hyperparameters from config, caching, atomic rebuilds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
from safetensors.numpy import load_file, save_file

from kenning.embedding import LocalEmbedder, onnx_export
from kenning.embedding.bert_graph import BertConfig, build_model
from kenning.embedding.onnx_export import ensure_model, model_path, packaged_model_dir

Array = npt.NDArray[np.float32]


# ---------------------------------------------------------------- graph vs a numpy BERT


def _tiny_config() -> BertConfig:
    return BertConfig(
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        intermediate_size=64,
        layer_norm_eps=1e-5,
        max_position_embeddings=16,
    )


def _tiny_weights(cfg: BertConfig, seed: int = 0) -> dict[str, Array]:
    rng = np.random.default_rng(seed)
    h, inter = cfg.hidden_size, cfg.intermediate_size

    def rand(*shape: int) -> Array:
        return (rng.normal(size=shape) * 0.2).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": rand(50, h),
        "embeddings.position_embeddings.weight": rand(cfg.max_position_embeddings, h),
        "embeddings.token_type_embeddings.weight": rand(2, h),
        "embeddings.LayerNorm.weight": 1 + rand(h),
        "embeddings.LayerNorm.bias": rand(h),
    }
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}"
        shapes = {
            "attention.self.query": (h, h),
            "attention.self.key": (h, h),
            "attention.self.value": (h, h),
            "attention.output.dense": (h, h),
            "intermediate.dense": (inter, h),
            "output.dense": (h, inter),
        }
        for name, (out, inp) in shapes.items():
            w[f"{p}.{name}.weight"] = rand(out, inp)
            w[f"{p}.{name}.bias"] = rand(out)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{ln}.weight"] = 1 + rand(h)
            w[f"{p}.{ln}.bias"] = rand(h)
    return w


def _ln(x: Array, w: dict[str, Array], prefix: str, eps: float) -> Array:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mu) / np.sqrt(var + eps) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"])


def _dense(x: Array, w: dict[str, Array], prefix: str) -> Array:
    return np.asarray(x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"])


def _numpy_bert(w: dict[str, Array], cfg: BertConfig, ids: np.ndarray, mask: np.ndarray) -> Array:
    """A plain, slow re-statement of BERT + mean pooling + L2 norm, for one batch."""
    from math import erf, sqrt

    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / sqrt(2))))
    seq = ids.shape[1]
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:seq]
    )
    x = _ln(
        x + w["embeddings.token_type_embeddings.weight"][0],
        w,
        "embeddings.LayerNorm",
        cfg.layer_norm_eps,
    )
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    nh, hs = cfg.num_heads, cfg.head_size
    for i in range(cfg.num_layers):
        p = f"encoder.layer.{i}"

        def heads(t: Array) -> Array:
            return t.reshape(t.shape[0], seq, nh, hs).transpose(0, 2, 1, 3)

        q, k, v = (
            heads(_dense(x, w, f"{p}.attention.self.{n}")) for n in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hs) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = _ln(
            _dense(ctx, w, f"{p}.attention.output.dense") + x,
            w,
            f"{p}.attention.output.LayerNorm",
            cfg.layer_norm_eps,
        )
        inner = gelu(_dense(x, w, f"{p}.intermediate.dense"))
        x = _ln(
            _dense(inner, w, f"{p}.output.dense") + x,
            w,
            f"{p}.output.LayerNorm",
            cfg.layer_norm_eps,
        )
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return np.asarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True), dtype=np.float32)


def test_graph_follows_the_config_and_matches_a_numpy_bert() -> None:
    cfg = _tiny_config()
    weights = _tiny_weights(cfg)
    model = build_model(weights, cfg)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = np.array([[1, 7, 9, 4, 2], [1, 30, 2, 0, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    (got,) = session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})
    expected = _numpy_bert(weights, cfg, ids, mask.astype(np.float32))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_graph_interface_and_opset() -> None:
    cfg = _tiny_config()
    model = build_model(_tiny_weights(cfg), cfg)
    assert {o.domain: o.version for o in model.opset_import} == {"": 17}
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in model.graph.output] == ["embeddings"]
    assert model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == cfg.hidden_size
    layer_norms = [n for n in model.graph.node if n.op_type == "LayerNormalization"]
    assert len(layer_norms) == 1 + 2 * cfg.num_layers


def test_config_is_read_from_the_package() -> None:
    cfg = BertConfig.from_file(packaged_model_dir() / "config.json")
    assert (cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.intermediate_size) == (
        384,
        6,
        12,
        1536,
    )
    assert cfg.layer_norm_eps == 1e-12


def test_unsupported_activation_is_refused(tmp_path: Path) -> None:
    raw = json.loads((packaged_model_dir() / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(raw | {"hidden_act": "relu"}))
    with pytest.raises(Exception, match="unsupported activation"):
        BertConfig.from_file(tmp_path / "config.json")


# ---------------------------------------------------------------- cache and atomic rebuild


def _no_build(*args: object, **kwargs: object) -> None:
    raise AssertionError("the cached graph should have been reused")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def _changed_package(tmp_path: Path) -> Path:
    """A copy of the model package whose weights differ in a tensor the graph doesn't use."""
    source = tmp_path / "package"
    shutil.copytree(packaged_model_dir(), source)
    weights = load_file(str(source / "model.safetensors"))
    weights["pooler.dense.bias"] = weights["pooler.dense.bias"] + 1.0
    save_file(weights, str(source / "model.safetensors"))
    return source


@pytest.mark.slow
def test_second_warm_up_reuses_the_cached_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalEmbedder(tmp_path).warm_up()
    path = model_path(tmp_path, quantized=False)
    built_at = path.stat().st_mtime_ns
    monkeypatch.setattr(onnx_export, "build_model", _no_build)
    embedder = LocalEmbedder(tmp_path)
    embedder.warm_up()
    embedder.warm_up()
    assert path.stat().st_mtime_ns == built_at
    assert embedder.embed(["still works"]).shape == (1, 384)
    assert _leftovers(path.parent) == []


@pytest.mark.slow
def test_changed_package_rebuilds_atomically(tmp_path: Path) -> None:
    models = tmp_path / "models"
    path = ensure_model(models, quantized=False)
    stamp = path.with_name(path.name + ".stamp").read_text()
    with path.open("rb") as old_reader:  # a reader holding the old graph keeps a whole file
        assert ensure_model(models, quantized=False, source=_changed_package(tmp_path)) == path
        assert onnx.load_model_from_string(old_reader.read()).graph.output[0].name == "embeddings"
    assert path.with_name(path.name + ".stamp").read_text() != stamp
    assert _leftovers(models / "all-MiniLM-L6-v2") == []


@pytest.mark.slow
def test_failed_build_leaves_the_previous_graph_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    path = ensure_model(models, quantized=False)
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(onnx_export, "build_model", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_model(models, quantized=False, source=_changed_package(tmp_path))
    assert path.read_bytes() == before
    assert _leftovers(path.parent) == []


def test_interrupted_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")

    def fail_replace(src: object, dst: object) -> None:
        raise OSError("interrupted")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="interrupted"):
        onnx_export._write_atomically(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.slow
def test_int8_graph_is_quantised_except_the_ffn_down_projections(
    int8_embedder: LocalEmbedder, shared_models_dir: Path
) -> None:
    model = onnx.load(model_path(shared_models_dir, quantized=True))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMulInteger") == 6 * 5  # Q, K, V, attention output, FFN up per layer
    float_matmuls = {n.name for n in model.graph.node if n.op_type == "MatMul"}
    assert {f"encoder.layer.{i}.output.dense.MatMul" for i in range(6)} <= float_matmuls
