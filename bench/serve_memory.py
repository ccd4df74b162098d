"""Memory of a running ``kenning serve``: the figures behind the Helm chart's requests.

    .venv/bin/python bench/serve_memory.py [--docs examples] [--questions 20] [--quantized]

Ingests ``--docs`` into a fresh data dir, starts ``kenning serve`` as a subprocess on a
free loopback port, waits for ``/readyz``, then asks ``--questions`` questions through
``POST /v1/chat`` (extractive mode) and reads the server's resident set (VmRSS) and peak
(VmHWM) from /proc after start and after the questions. Writes
bench/results/serve_memory.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KENNING = [sys.executable, "-m", "kenning.cli"]
QUESTIONS = (
    "How many vacation days do employees get per year?",
    "What does error E04 mean on the HX-200?",
    "Are contractors eligible for paid parental leave?",
    "How do I reset the HX-200 to factory settings?",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def _wait_ready(client: httpx.Client, deadline_s: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        try:
            if client.get("/readyz").status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("kenning serve did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=Path, default=ROOT / "examples")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--quantized", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "KENNING_DATA_DIR": tmp, "KENNING_PASSWORD": "bench-password-1"}
        env["KENNING_EMBEDDING__QUANTIZED"] = "true" if args.quantized else "false"
        subprocess.run(
            [*KENNING, "ingest", str(args.docs)], env=env, check=True, capture_output=True
        )
        subprocess.run(
            [*KENNING, "users", "create", "bench", "--role", "admin"],
            env=env,
            check=True,
            capture_output=True,
        )
        port = _free_port()
        server = subprocess.Popen(
            [*KENNING, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            result = _measure(server.pid, port, args.questions)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result["embedder"] = "int8" if args.quantized else "fp32"
    result["docs"] = str(
        args.docs.relative_to(ROOT) if args.docs.is_relative_to(ROOT) else args.docs
    )
    _write(args.out, result)


def _measure(pid: int, port: int, questions: int) -> dict[str, object]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        ready_s = _wait_ready(client, 300)
        at_ready = _memory_mb(pid)
        login = client.post(
            "/v1/auth/login",
            json={"tenant": "default", "username": "bench", "password": "bench-password-1"},
        )
        login.raise_for_status()
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        latencies = []
        for i in range(questions):
            started = time.perf_counter()
            response = client.post(
                "/v1/chat", headers=headers, json={"question": QUESTIONS[i % len(QUESTIONS)]}
            )
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)
        after = _memory_mb(pid)
    latencies.sort()
    return {
        "ready_s": round(ready_s, 1),
        "rss_ready_mb": at_ready["VmRSS"],
        "rss_after_mb": after["VmRSS"],
        "peak_rss_mb": after["VmHWM"],
        "questions": questions,
        "chat_p50_s": round(latencies[len(latencies) // 2], 3),
    }


def _write(out: Path, result: dict[str, object]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name = "serve_memory" + ("_int8" if result["embedder"] == "int8" else "")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Memory of `kenning serve` ({result['embedder']} embedder, {result['docs']})",
        "",
        "| ready after (s) | RSS when ready (MB) | RSS after questions (MB) | peak RSS (MB) "
        "| questions | chat p50 (s) |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {result['ready_s']} | {result['rss_ready_mb']} | {result['rss_after_mb']} "
        f"| {result['peak_rss_mb']} | {result['questions']} | {result['chat_p50_s']} |",
        "",
        "Command: `.venv/bin/python bench/serve_memory.py"
        + (" --quantized" if result["embedder"] == "int8" else "")
        + "`",
        "",
    ]
    (out / f"{name}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
