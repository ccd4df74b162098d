"""Fixtures for the embedding tests: one shared model cache, the reference vectors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from kenning.embedding import LocalEmbedder

REFERENCE_FILE = Path(__file__).parent / "data" / "reference_embeddings.npz"


@dataclass(frozen=True)
class Reference:
    """What ``scripts/make_reference_embeddings.py`` saved from sentence-transformers."""

    texts: list[str]
    vectors: npt.NDArray[np.float32]
    versions: str


@pytest.fixture(scope="session")
def reference() -> Reference:
    with np.load(REFERENCE_FILE) as data:
        return Reference(
            texts=[str(t) for t in data["texts"]],
            vectors=data["vectors"].astype(np.float32),
            versions=str(data["versions"]),
        )


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One graph cache for the whole session: each graph is built once (seconds), not per test."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def fp32_embedder(shared_models_dir: Path) -> LocalEmbedder:
    embedder = LocalEmbedder(shared_models_dir)
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def int8_embedder(shared_models_dir: Path) -> LocalEmbedder:
    embedder = LocalEmbedder(shared_models_dir, quantized=True)
    embedder.warm_up()
    return embedder


def cosines(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Row-wise cosine similarity (rows need not be normalised)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return np.asarray(
        (a64 * b64).sum(axis=1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))
    )
