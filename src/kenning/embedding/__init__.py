"""Text embeddings: one ``Embedder`` protocol, a local ONNX backend and a remote one.

``make_embedder`` is the one place that turns ``EmbeddingSettings`` into a backend; it is
cheap (no model is loaded until ``warm_up`` or the first ``embed``).
"""

from __future__ import annotations

from pathlib import Path

from kenning.embedding.base import Embedder, Vectors, embed_one
from kenning.embedding.local import LocalEmbedder
from kenning.embedding.openai import OpenAIEmbedder
from kenning.settings import EmbeddingBackend, EmbeddingSettings


def make_embedder(settings: EmbeddingSettings, models_dir: Path) -> Embedder:
    """The backend the settings ask for; ``models_dir`` caches the local ONNX graphs."""
    if settings.backend is EmbeddingBackend.OPENAI:
        return OpenAIEmbedder(
            settings.base_url,
            settings.model,
            settings.api_key,
            settings.dimensions,
            settings.timeout_s,
            batch_size=settings.batch_size,
        )
    return LocalEmbedder(
        models_dir,
        quantized=settings.quantized,
        batch_size=settings.batch_size,
        threads=settings.threads,
    )


__all__ = [
    "Embedder",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "Vectors",
    "embed_one",
    "make_embedder",
]
