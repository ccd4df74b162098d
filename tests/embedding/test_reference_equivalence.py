"""Our ONNX graphs against the PyTorch sentence-transformers model they were built from.

The committed vectors come from ``scripts/make_reference_embeddings.py`` (run in a separate
venv with PyTorch); when sentence-transformers is importable here too, a live comparison runs
as well.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from kenning.embedding import LocalEmbedder
from kenning.embedding.onnx_export import packaged_model_dir

from .conftest import Reference, cosines

pytestmark = pytest.mark.slow

FP32_MIN_COSINE = 0.999
INT8_MIN_COSINE = 0.99


def _summary(cos: np.ndarray) -> str:
    return f"min cosine {cos.min():.9f}, max |1 - cos| {np.abs(1 - cos).max():.1e}"


def test_reference_set_covers_the_edge_cases(
    reference: Reference, fp32_embedder: LocalEmbedder
) -> None:
    counts = fp32_embedder.count_tokens(reference.texts)
    assert len(reference.texts) >= 20
    assert "" in reference.texts
    assert max(counts) > fp32_embedder.max_tokens  # truncation is exercised
    assert any(not t.isascii() for t in reference.texts)


def test_fp32_graph_matches_sentence_transformers(
    reference: Reference, fp32_embedder: LocalEmbedder
) -> None:
    cos = cosines(fp32_embedder.embed(reference.texts), reference.vectors)
    print(f"fp32 vs reference ({reference.versions}): {_summary(cos)}")
    assert cos.min() > FP32_MIN_COSINE, cos


def test_fp32_vectors_are_numerically_close(
    reference: Reference, fp32_embedder: LocalEmbedder
) -> None:
    vectors = fp32_embedder.embed(reference.texts)
    np.testing.assert_allclose(vectors, reference.vectors, atol=2e-4)


@pytest.mark.parametrize("batch_size", [1, 32])
def test_int8_graph_stays_close_to_sentence_transformers(
    reference: Reference, shared_models_dir: Path, batch_size: int
) -> None:
    """Batching matters for int8: a batch shares one dynamic activation range."""
    embedder = LocalEmbedder(shared_models_dir, quantized=True, batch_size=batch_size)
    cos = cosines(embedder.embed(reference.texts), reference.vectors)
    print(f"int8 (batch {batch_size}) vs reference: min {cos.min():.5f} mean {cos.mean():.5f}")
    assert cos.min() > INT8_MIN_COSINE, cos


def _sentence_transformers() -> ModuleType:
    """Import it if installed; PyTorch's import-time warnings must not fail the suite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import sentence_transformers
        except ImportError:
            pytest.skip("sentence-transformers not installed (pip install kenning[reference])")
        return sentence_transformers


@pytest.mark.reference
def test_live_against_sentence_transformers(
    reference: Reference, fp32_embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = _sentence_transformers()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = st.SentenceTransformer(str(packaged_model_dir()), device="cpu")
        expected = model.encode(reference.texts, batch_size=8, normalize_embeddings=True)
    cos = cosines(fp32_embedder.embed(reference.texts), np.asarray(expected, dtype=np.float32))
    print(f"fp32 vs live sentence-transformers {st.__version__}: {_summary(cos)}")
    assert cos.min() > FP32_MIN_COSINE
