"""Answer quality on a SQuAD-format dataset, through the production assistant.

Every article is indexed (its paragraphs as blocks) in a tenant of its own; every question
is asked through ``Assistant.ask`` exactly as a user would. Reported per run:
- hit@k: a gold answer occurs in one of the top-k retrieved chunks (k = 1, 5, 10);
- exact match and token F1 (SQuAD normalisation) of the answer text without markers, and
  for extractive answers also of the best single answer sentence (the answer is up to
  three quoted sentences, while gold answers are short spans: both numbers matter);
- citation precision: share of cited passages that contain a gold answer; source
  accuracy: share of answers citing the question's own article;
- abstention rate, mean groundedness, and latency p50/p99 per question.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kenning.citations.groundedness import split_sentences
from kenning.citations.markers import MARKER
from kenning.eval.retrieval_benchmark import hash_text
from kenning.eval.squad import (
    SquadDataset,
    SquadQuestion,
    best_over_golds,
    contains_answer,
    exact_match,
    load_squad,
    token_f1,
)
from kenning.ingest.parsers.text import with_title
from kenning.pipelines.indexing import IngestReport
from kenning.settings import SearchMode, Settings
from kenning.types import Answer, AnswerMode, Block, BlockKind, Document, ParsedDocument, Principal
from kenning.wiring import Components

SOURCE_PREFIX = "squad:"


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question_id: str
    mode: str
    hit_at: dict[int, bool]
    em: float
    f1: float
    f1_best_sentence: float
    citation_precision: float | None
    cites_own_article: bool
    groundedness: float
    evidence: float
    latency_ms: float


def article_records(
    dataset: SquadDataset, tenant: str, article_ids: Sequence[str] | None = None
) -> Iterator[tuple[Document, ParsedDocument]]:
    """Each context line is a paragraph; a title-like first line is the title, by the same
    rule the plain-text parser applies (COVID-QA contexts start with the paper's title)."""
    for article_id in article_ids if article_ids is not None else sorted(dataset.articles):
        context = dataset.articles[article_id].context
        lines = [" ".join(line.split()) for line in context.split("\n")]
        titled, found = with_title([Block(BlockKind.PARAGRAPH, line) for line in lines if line])
        blocks = tuple(b for b in titled if b is not None)
        title = found or f"Article {article_id}"
        source = f"{SOURCE_PREFIX}{article_id}"
        text = "\n\n".join(b.text for b in blocks)
        yield (
            Document(
                id=Document.make_id(tenant, source),
                tenant=tenant,
                source=source,
                title=title,
                content_hash=f"{len(text)}:{hash_text(text)}",
                format="squad",
                text=text,
            ),
            ParsedDocument(blocks=blocks, title=title),
        )


def index_articles(
    components: Components,
    dataset: SquadDataset,
    tenant: str,
    article_ids: Sequence[str] | None = None,
) -> IngestReport:
    return components.indexer.index_records(article_records(dataset, tenant, article_ids))


def evaluate_question(
    components: Components, tenant: str, q: SquadQuestion
) -> tuple[QuestionResult, Answer]:
    principal = Principal.system(tenant)
    started = time.perf_counter()
    answer = components.assistant.ask(q.question, principal=principal)
    latency = (time.perf_counter() - started) * 1000
    hits = components.retriever.search(
        q.question, principal=principal, k=10, mode=SearchMode.HYBRID
    ).hits
    found = [contains_answer(h.chunk.text, q.answers) for h in hits]
    text = " ".join(MARKER.sub("", answer.text).split())
    answered = answer.mode is not AnswerMode.ABSTAINED
    sentences = [" ".join(MARKER.sub("", s).split()) for s in split_sentences(answer.text)]
    cited = [c.passage for c in answer.citations]
    return QuestionResult(
        question_id=q.id,
        mode=answer.mode.value,
        hit_at={k: any(found[:k]) for k in (1, 5, 10)},
        em=best_over_golds(exact_match, text, q.answers) if answered else 0.0,
        f1=best_over_golds(token_f1, text, q.answers) if answered else 0.0,
        f1_best_sentence=max(
            (best_over_golds(token_f1, s, q.answers) for s in sentences), default=0.0
        )
        if answered
        else 0.0,
        citation_precision=(sum(contains_answer(p.text, q.answers) for p in cited) / len(cited))
        if cited
        else None,
        cites_own_article=any(p.source == f"{SOURCE_PREFIX}{q.article_id}" for p in cited),
        groundedness=answer.groundedness,
        evidence=answer.evidence,
        latency_ms=latency,
    ), answer


def summarize(results: Sequence[QuestionResult]) -> dict[str, Any]:
    n = len(results)
    answered = [r for r in results if r.mode != AnswerMode.ABSTAINED.value]
    precisions = [r.citation_precision for r in results if r.citation_precision is not None]
    latencies = [r.latency_ms for r in results]
    return {
        "questions": n,
        "hit@1": _mean(r.hit_at[1] for r in results),
        "hit@5": _mean(r.hit_at[5] for r in results),
        "hit@10": _mean(r.hit_at[10] for r in results),
        "exact_match": _mean(r.em for r in results),
        "token_f1": _mean(r.f1 for r in results),
        "token_f1_best_sentence": _mean(r.f1_best_sentence for r in results),
        "citation_precision": _mean(precisions),
        "source_accuracy": _mean(r.cites_own_article for r in answered),
        "abstention_rate": 1 - len(answered) / n if n else 0.0,
        "mean_groundedness": _mean(r.groundedness for r in answered),
        "modes": {m: sum(r.mode == m for r in results) for m in sorted({r.mode for r in results})},
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 1),
            "p99": round(float(np.percentile(latencies, 99)), 1),
        }
        if latencies
        else {},
    }


def spread(questions: Sequence[SquadQuestion], limit: int | None) -> list[SquadQuestion]:
    """``limit`` questions taken at even steps, so every part of the dataset is sampled."""
    if not limit or limit >= len(questions):
        return list(questions)
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def _mean(values: Any) -> float:
    items = [float(v) for v in values]
    return round(sum(items) / len(items), 4) if items else 0.0


def run_answer_benchmark(
    settings: Settings, path: Path, *, limit: int | None = None
) -> dict[str, Any]:
    dataset = load_squad(path)
    tenant = f"squad-{path.stem}".lower()
    components = Components(settings)
    started = time.perf_counter()
    report = index_articles(components, dataset, tenant)
    ingest_s = time.perf_counter() - started
    questions = spread(dataset.questions, limit)
    results = [evaluate_question(components, tenant, q)[0] for q in questions]
    components.close()
    mode = "llm" if settings.llm.base_url else "extractive"
    return {
        "dataset": path.name,
        "mode": mode,
        "llm_model": settings.llm.model if settings.llm.base_url else None,
        "articles": len(dataset.articles),
        "ingest": {
            "chunks": report.chunks,
            "embedded": report.embedded_texts,
            "seconds": round(ingest_s, 1),
        },
        "abstain_below": settings.answer.abstain_below,
        "summary": summarize(results),
    }
