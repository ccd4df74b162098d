"""LocalEmbedder: the Embedder contract, length bucketing, truncation and token counting."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kenning.embedding import Embedder, LocalEmbedder, embed_one
from kenning.embedding.local import MAX_LENGTH_RATIO, length_buckets

from .conftest import cosines

SENTENCES = [
    "How do I reset my password?",
    "Refunds are issued within 30 days.",
    "The server returned HTTP 503 during the nightly backup window, twice.",
    "ok",
    "Quarterly revenue grew by twelve percent, driven by subscriptions in Europe and Asia. " * 3,
    "Die Rechnung wurde am 3. März verschickt.",
    "",
    "Mitochondria are the powerhouse of the cell. " * 20,
]


def test_constructor_is_cheap_and_describes_the_model(tmp_path: Path) -> None:
    embedder = LocalEmbedder(tmp_path / "models")
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dimensions, embedder.max_tokens) == (
        "all-MiniLM-L6-v2",
        384,
        256,
    )
    assert LocalEmbedder(tmp_path, quantized=True).name == "all-MiniLM-L6-v2-int8"
    assert not (tmp_path / "models").exists()


def test_empty_input_gives_empty_matrix_without_loading(tmp_path: Path) -> None:
    embedder = LocalEmbedder(tmp_path / "models")
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32
    assert not (tmp_path / "models").exists()


def test_rows_are_unit_length_float32(fp32_embedder: LocalEmbedder) -> None:
    vectors = fp32_embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 32])
def test_input_order_survives_length_bucketing(
    shared_models_dir: Path, fp32_embedder: LocalEmbedder, batch_size: int
) -> None:
    texts = SENTENCES * 2
    random.Random(batch_size).shuffle(texts)
    one_by_one = np.stack([embed_one(fp32_embedder, t) for t in texts])
    batched = LocalEmbedder(shared_models_dir, batch_size=batch_size).embed(texts)
    assert cosines(batched, one_by_one).min() > 0.99999


def test_identical_texts_give_identical_vectors_wherever_they_sit(
    fp32_embedder: LocalEmbedder,
) -> None:
    vectors = fp32_embedder.embed(["alpha beta", *SENTENCES, "alpha beta"])
    np.testing.assert_allclose(vectors[0], vectors[-1], atol=1e-6)


def test_int8_rows_are_unit_length_and_close_to_fp32(
    int8_embedder: LocalEmbedder, fp32_embedder: LocalEmbedder
) -> None:
    quantized = int8_embedder.embed(SENTENCES)
    np.testing.assert_allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-5)
    assert cosines(quantized, fp32_embedder.embed(SENTENCES)).min() > 0.99


def test_count_tokens_includes_cls_and_sep(fp32_embedder: LocalEmbedder) -> None:
    assert fp32_embedder.count_tokens(["", "hello", "hello world"]) == [2, 3, 4]
    assert fp32_embedder.count_tokens([]) == []


def test_count_tokens_never_truncates_and_needs_no_model(tmp_path: Path) -> None:
    embedder = LocalEmbedder(tmp_path / "models")
    (count,) = embedder.count_tokens(["word " * 1000])
    assert count == 1002
    assert not (tmp_path / "models").exists()


def test_long_texts_are_truncated_with_a_warning(
    fp32_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    long_text = "word " * 300
    with caplog.at_level(logging.WARNING, logger="kenning.embedding.local"):
        truncated = fp32_embedder.embed([long_text, "short"])
    assert "1 of 2 texts exceed 256 tokens" in caplog.text
    assert long_text not in caplog.text  # content stays out of logs
    at_limit = fp32_embedder.embed(["word " * 254])  # 254 + [CLS] + [SEP] = 256 tokens
    assert cosines(truncated[:1], at_limit).min() > 0.999


def test_texts_within_the_limit_do_not_warn(
    fp32_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kenning.embedding.local"):
        fp32_embedder.embed(["word " * 254, "short"])
    assert caplog.records == []


def test_bad_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        LocalEmbedder(tmp_path, batch_size=0)


def test_length_buckets_group_similar_lengths() -> None:
    lengths = [200, 3, 210, 5, 4, 190, 60, 2]
    assert length_buckets(lengths, batch_size=3) == [[7, 1, 4], [3], [6], [5, 0, 2]]


@given(st.lists(st.integers(min_value=2, max_value=256), max_size=200), st.integers(1, 64))
def test_length_buckets_properties(lengths: list[int], batch_size: int) -> None:
    buckets = length_buckets(lengths, batch_size)
    assert sorted(i for b in buckets for i in b) == list(range(len(lengths)))
    for bucket in buckets:
        sizes = [lengths[i] for i in bucket]
        assert 1 <= len(bucket) <= batch_size
        assert sizes == sorted(sizes)
        assert sizes[-1] <= max(8, MAX_LENGTH_RATIO * sizes[0])
