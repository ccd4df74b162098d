"""End-to-end ingest throughput on SciFact records into a fresh store, and peak RSS.

    .venv/bin/python bench/ingest_throughput.py [--docs 1000]

Chunks the first ``--docs`` SciFact abstracts, embeds (ONNX, length-bucketed batches) and
writes them to a new SQLite store; reports chunks/s end to end and the share of the time
spent embedding. Writes bench/results/ingest_throughput.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import tempfile
import time
from pathlib import Path

from kenning.eval.beir import iter_corpus
from kenning.eval.retrieval_benchmark import records
from kenning.settings import EmbeddingSettings, Settings
from kenning.wiring import Components

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/data/beir/scifact")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--quantized", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), embedding=EmbeddingSettings(quantized=args.quantized)
        )
        components = Components(settings)
        components.embedder.warm_up()
        started = time.perf_counter()
        corpus = itertools.islice(iter_corpus(args.beir), args.docs)
        report = components.indexer.index_records(records("scifact", corpus))
        wall = time.perf_counter() - started
        components.close()
    result = {
        "documents": report.added,
        "chunks": report.chunks,
        "seconds": round(wall, 1),
        "chunks_per_s": round(report.chunks / wall, 1),
        "embed_share": round(report.embed_seconds / wall, 3),
        "embedder": "all-MiniLM-L6-v2" + ("-int8" if args.quantized else " (fp32 ONNX)"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    suffix = "_int8" if args.quantized else ""
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"ingest_throughput{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Ingest throughput: SciFact, first {args.docs} abstracts, {result['embedder']}",
        "",
        f"Command: `.venv/bin/python bench/ingest_throughput.py --docs {args.docs}"
        f"{' --quantized' if args.quantized else ''}` (2 cores, no GPU)",
        "",
        "| documents | chunks | seconds | chunks/s | embedding share | peak RSS MB |",
        "|---|---|---|---|---|---|",
        f"| {result['documents']} | {result['chunks']} | {result['seconds']} | "
        f"{result['chunks_per_s']} | {result['embed_share']} | {result['peak_rss_mb']} |",
    ]
    (args.out / f"ingest_throughput{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
