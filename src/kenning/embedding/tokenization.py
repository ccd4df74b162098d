"""The packaged model's tokenizer and limits, loaded from the files the model package ships.

``tokenizer.json`` comes configured for fixed padding and truncation at 128 tokens (its
Hugging Face defaults); sentence-transformers overrides that with ``max_seq_length`` from
``sentence_bert_config.json`` (256) and pads per batch. We do the same: padding is done by
the caller per length bucket, and truncation is switched on only where it is wanted.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

from kenning.errors import ModelError


def max_seq_length(source: Path) -> int:
    """The sequence length the sentence model was trained and is evaluated with."""
    config = source / "sentence_bert_config.json"
    try:
        return int(json.loads(config.read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"cannot read max_seq_length from {config}") from exc


def load_tokenizer(source: Path, *, truncate_at: int | None) -> Tokenizer:
    """A fast tokenizer without padding; truncating at ``truncate_at`` tokens, or never."""
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.no_padding()
    if truncate_at is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=truncate_at)
    return tokenizer
