"""make_embedder: settings in, the right backend out, nothing loaded."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

import kenning.embedding as embedding
from kenning.embedding import Embedder, LocalEmbedder, OpenAIEmbedder, make_embedder
from kenning.settings import EmbeddingBackend, EmbeddingSettings


def test_default_settings_give_the_local_model(tmp_path: Path) -> None:
    embedder = make_embedder(EmbeddingSettings(), tmp_path / "models")
    assert isinstance(embedder, LocalEmbedder)
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dimensions, embedder.batch_size) == (
        "all-MiniLM-L6-v2",
        384,
        32,
    )
    assert not (tmp_path / "models").exists()  # nothing built until warm_up


def test_local_options_are_passed_through(tmp_path: Path) -> None:
    settings = EmbeddingSettings(quantized=True, batch_size=8, threads=1)
    embedder = make_embedder(settings, tmp_path)
    assert isinstance(embedder, LocalEmbedder)
    assert (embedder.name, embedder.batch_size, embedder.threads) == (
        "all-MiniLM-L6-v2-int8",
        8,
        1,
    )


def test_openai_backend(tmp_path: Path) -> None:
    settings = EmbeddingSettings(
        backend=EmbeddingBackend.OPENAI,
        base_url="http://127.0.0.1:9/v1/",
        model="bge-small",
        api_key=SecretStr("sk-x"),
        dimensions=512,
        batch_size=16,
    )
    embedder = make_embedder(settings, tmp_path)
    assert isinstance(embedder, OpenAIEmbedder)
    assert (embedder.name, embedder.dimensions, embedder.batch_size) == ("bge-small", 512, 16)
    assert "sk-x" not in repr(embedder)


def test_public_names_are_sorted_and_importable() -> None:
    assert embedding.__all__ == sorted(embedding.__all__)
    assert {"Embedder", "LocalEmbedder", "OpenAIEmbedder", "embed_one", "make_embedder"} <= set(
        embedding.__all__
    )
    for name in embedding.__all__:
        assert hasattr(embedding, name)
