"""``kenning eval``: retrieval quality on BEIR data, answer quality on SQuAD-format data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kenning.cli.context import console, print_json, state
from kenning.eval.answer_benchmark import run_answer_benchmark
from kenning.eval.retrieval import to_markdown_table
from kenning.eval.retrieval_benchmark import BenchmarkResult, run_benchmark

app = typer.Typer(
    help="Evaluate retrieval and answer quality on benchmark data.", no_args_is_help=True
)


@app.command("retrieval")
def retrieval(
    ctx: typer.Context,
    beir: Annotated[
        Path,
        typer.Option(
            "--beir",
            exists=True,
            file_okay=False,
            help="A BEIR dataset folder (corpus, queries, qrels).",
        ),
    ],
    split: Annotated[str, typer.Option(help="qrels split to score (tune on train).")] = "test",
    out: Annotated[Path | None, typer.Option(help="Write JSON and Markdown results here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Index the corpus (incrementally) and report nDCG@10, recall@100, MRR@10 per mode."""
    console.print(
        f"indexing {escape(str(beir))} (first run embeds the whole corpus)…", highlight=False
    )
    result = run_benchmark(state(ctx).settings, beir, split=split)
    if out is not None:
        _write(result, out)
    if as_json:
        print_json(result.to_dict())
    else:
        console.print(_markdown(result), highlight=False)


def _markdown(result: BenchmarkResult) -> str:
    ingest, q = result.ingest, result.query_embedding
    lines = [
        f"# Retrieval: {result.dataset} ({result.split})",
        "",
        to_markdown_table(result.reports),
        "",
        f"Ingest: {ingest['chunks']} chunks written, {ingest['embedded_texts']} embedded, "
        f"{ingest['seconds']:.1f} s, {ingest.get('chunks_per_s', '–')} chunks/s, "
        f"embedding share {ingest.get('embed_share', '–')}, peak RSS {ingest['peak_rss_mb']} MB.",
        f"Query embedding: {q['batch_queries_per_s']} queries/s batched, single query "
        f"p50 {q['single_query_ms_p50']} ms, p99 {q['single_query_ms_p99']} ms "
        "(not included in the latencies above).",
    ]
    return "\n".join(lines)


def _write(result: BenchmarkResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"retrieval_{result.dataset}_{result.split}"
    (out / f"{stem}.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    (out / f"{stem}.md").write_text(_markdown(result) + "\n")
    console.print(f"wrote {out / stem}.json and .md")


@app.command("answers")
def answers(
    ctx: typer.Context,
    squad: Annotated[
        Path,
        typer.Option(
            "--squad", exists=True, dir_okay=False, help="A SQuAD-format JSON file (e.g. COVID-QA)."
        ),
    ],
    limit: Annotated[int | None, typer.Option(help="Ask N questions, evenly spread.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write JSON and Markdown results here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Index the articles, ask every question, report hit@k, EM/F1, citations, abstention."""
    result = run_answer_benchmark(state(ctx).settings, squad, limit=limit)
    markdown = _answers_markdown(result)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        stem = f"answers_{squad.stem}_{result['mode']}"
        (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / f"{stem}.md").write_text(markdown + "\n")
    if as_json:
        print_json(result)
    else:
        console.print(markdown, highlight=False)


def _answers_markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    rows = [
        ("questions", s["questions"]),
        ("hit@1", s["hit@1"]),
        ("hit@5", s["hit@5"]),
        ("hit@10", s["hit@10"]),
        ("exact match", s["exact_match"]),
        ("token F1", s["token_f1"]),
        ("token F1, best answer sentence", s["token_f1_best_sentence"]),
        ("citation precision", s["citation_precision"]),
        ("source accuracy (cites own article)", s["source_accuracy"]),
        ("abstention rate", s["abstention_rate"]),
        ("mean groundedness", s["mean_groundedness"]),
        ("latency p50 / p99 ms", f"{s['latency_ms'].get('p50')} / {s['latency_ms'].get('p99')}"),
    ]
    lines = [
        f"# Answers: {result['dataset']} ({result['mode']} mode)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += [
        "",
        f"Articles: {result['articles']}; chunks: {result['ingest']['chunks']}; "
        f"abstain_below: {result['abstain_below']}; answer modes: {s['modes']}.",
    ]
    return "\n".join(lines)
