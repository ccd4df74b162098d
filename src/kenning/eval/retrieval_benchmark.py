"""Run a BEIR dataset through Kenning's own pipeline and score every retrieval mode.

The corpus is indexed with the production indexer (chunking, embedding, SQLite store), in
a tenant of its own, incrementally: a second run re-embeds nothing. A document's score is
its best chunk's (max-passage aggregation), the usual choice when documents are chunked.
Query embeddings are computed once, in one batch, and timed apart from retrieval.
"""

from __future__ import annotations

import hashlib
import resource
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kenning.embedding.base import Embedder
from kenning.eval.beir import BeirDataset, BeirDocument, iter_corpus, load_beir
from kenning.eval.retrieval import RetrievalReport, evaluate_run, to_dict
from kenning.pipelines.indexing import IngestReport
from kenning.retrieval.hybrid import Retriever
from kenning.settings import FusionMethod, SearchMode, Settings
from kenning.types import Block, BlockKind, Document, ParsedDocument, Principal
from kenning.wiring import Components

SOURCE_PREFIX = "beir:"


@dataclass(frozen=True, slots=True)
class ModeSpec:
    """One configuration to evaluate: a search mode plus the fusion settings it uses."""

    name: str
    mode: SearchMode
    fusion: FusionMethod = FusionMethod.RRF
    rerank: bool = False


DEFAULT_MODES: tuple[ModeSpec, ...] = (
    ModeSpec("keyword", SearchMode.KEYWORD),
    ModeSpec("dense", SearchMode.DENSE),
    ModeSpec("hybrid", SearchMode.HYBRID, FusionMethod.RRF),
    ModeSpec("hybrid-convex", SearchMode.HYBRID, FusionMethod.CONVEX),
    ModeSpec("hybrid-convex-rerank", SearchMode.HYBRID, FusionMethod.CONVEX, rerank=True),
)


@dataclass(slots=True)
class BenchmarkResult:
    dataset: str
    split: str
    ingest: dict[str, Any]
    query_embedding: dict[str, float]
    reports: dict[str, RetrievalReport] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "settings": self.settings,
            "ingest": self.ingest,
            "query_embedding": self.query_embedding,
            "modes": {name: to_dict(r) for name, r in self.reports.items()},
        }


def records(
    dataset_name: str, corpus: Iterator[BeirDocument]
) -> Iterator[tuple[Document, ParsedDocument]]:
    """BEIR documents as Kenning records: the title is the context header of every chunk."""
    tenant = f"beir-{dataset_name}"
    for doc in corpus:
        source = f"{SOURCE_PREFIX}{doc.id}"
        parsed = ParsedDocument(blocks=(Block(BlockKind.PARAGRAPH, doc.text),), title=doc.title)
        content_hash = f"{hash_text(doc.title)}:{hash_text(doc.text)}"
        yield (
            Document(
                id=Document.make_id(tenant, source),
                tenant=tenant,
                source=source,
                title=doc.title,
                content_hash=content_hash,
                format="beir",
                text=doc.text,
            ),
            parsed,
        )


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def index_corpus(components: Components, folder: Path, name: str) -> IngestReport:
    return components.indexer.index_records(records(name, iter_corpus(folder)))


def run_benchmark(
    settings: Settings,
    folder: Path,
    *,
    split: str = "test",
    modes: Sequence[ModeSpec] = DEFAULT_MODES,
    depth: int = 100,
) -> BenchmarkResult:
    """Index ``folder``'s corpus, then evaluate each mode on ``split``."""
    name = folder.name
    components = Components(settings)
    dataset = load_beir(folder, split)
    started = time.perf_counter()
    report = index_corpus(components, folder, name)
    ingest = _ingest_summary(report, time.perf_counter() - started)
    qids = sorted(dataset.qrels)
    vectors, embed_stats = _embed_queries(components.embedder, [dataset.queries[q] for q in qids])
    result = BenchmarkResult(
        dataset=name,
        split=split,
        ingest=ingest,
        query_embedding=embed_stats,
        settings=_settings_summary(settings),
    )
    principal = Principal.system(f"beir-{name}")
    for spec in modes:
        retrieval = settings.retrieval.model_copy(update={"fusion": spec.fusion})
        retriever = Retriever(
            components.store,
            components.embedder,
            retrieval,
            sentence_embedder=components.sentence_embedder,
        )
        result.reports[spec.name] = _evaluate_mode(
            retriever, dataset, qids, vectors, spec, principal, depth
        )
    components.close()
    return result


def _evaluate_mode(
    retriever: Retriever,
    dataset: BeirDataset,
    qids: Sequence[str],
    vectors: np.ndarray,
    spec: ModeSpec,
    principal: Principal,
    depth: int,
) -> RetrievalReport:
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    for qid, vector in zip(qids, vectors, strict=True):
        started = time.perf_counter()
        result = retriever.search(
            dataset.queries[qid],
            principal=principal,
            k=depth * 2,
            mode=spec.mode,
            vector=vector.tolist(),
            rerank=spec.rerank,
        )
        latencies.append((time.perf_counter() - started) * 1000)
        run[qid] = _documents_in_order(h.source for h in result.hits)[:depth]
    return evaluate_run(run, dataset.qrels, latencies_ms=latencies)


def _documents_in_order(sources: Iterable[str]) -> list[str]:
    """Best-first unique corpus ids: a document ranks at its best chunk."""
    seen: dict[str, None] = {}
    for source in sources:
        seen.setdefault(str(source).removeprefix(SOURCE_PREFIX), None)
    return list(seen)


def _embed_queries(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, dict[str, float]]:
    embedder.warm_up()
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    batch_s = time.perf_counter() - started
    singles = []
    for text in texts[:50]:
        t0 = time.perf_counter()
        embedder.embed([text])
        singles.append((time.perf_counter() - t0) * 1000)
    return vectors, {
        "queries": len(texts),
        "batch_queries_per_s": round(len(texts) / batch_s, 1),
        "single_query_ms_p50": round(float(np.percentile(singles, 50)), 2),
        "single_query_ms_p99": round(float(np.percentile(singles, 99)), 2),
    }


def _ingest_summary(report: IngestReport, seconds: float) -> dict[str, Any]:
    summary: dict[str, Any] = {k: v for k, v in report.to_dict().items() if k != "errors"}
    summary["wall_seconds"] = round(seconds, 2)
    if report.chunks:
        summary["chunks_per_s"] = round(report.chunks / report.seconds, 1)
        summary["embed_share"] = round(report.embed_seconds / report.seconds, 3)
    summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return summary


def _settings_summary(settings: Settings) -> dict[str, Any]:
    return {
        "embedding": settings.embedding.model_dump(exclude={"api_key"}, mode="json"),
        "retrieval": settings.retrieval.model_dump(mode="json"),
        "chunking": settings.chunking.model_dump(mode="json"),
    }
