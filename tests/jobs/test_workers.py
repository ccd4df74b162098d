"""Durable ingestion on PostgreSQL: ``kenning worker`` processes against a real server.

A folder sync fans out into parts; two workers share them; a worker killed with SIGKILL
mid-job has its task retried by the next worker. Every time the store must hold exactly
one document and one chunk per file (each file is one short paragraph, so its chunk is
known): nothing duplicated, nothing missing, every vector whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kenning.jobs import Job, JobKind, JobStatus
from kenning.settings import (
    ApiSettings,
    DatabaseSettings,
    Settings,
    StoreBackend,
    StoreSettings,
    WorkerSettings,
)
from kenning.types import Acl
from kenning.wiring import Components
from tests.pipelines.conftest import write_notes

pytestmark = pytest.mark.slow

FILES = 120
FILES_PER_PART = 6
WORKER = WorkerSettings(
    files_per_part=FILES_PER_PART,
    heartbeat_s=1,
    stalled_after_s=3,
    recover_every_s=1,
    poll_s=0.5,
    metrics_host="127.0.0.1",
    metrics_port=0,  # each worker its own free port (it prints which)
)


@dataclass
class Deployment:
    """One PostgreSQL database, one shared data directory, a source folder, workers."""

    dsn: str
    root: Path
    settings: Settings
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        worker = self.settings.worker
        return {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "KENNING_DATA_DIR": str(self.settings.data_dir),
            "KENNING_DATABASE__URL": self.dsn,
            "KENNING_STORE__BACKEND": "postgres",
            "KENNING_API__SOURCE_ROOTS": json.dumps([str(self.root)]),
            **{f"KENNING_WORKER__{k.upper()}": str(v) for k, v in worker.model_dump().items()},
        }

    def kenning(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kenning.cli", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """A ``kenning worker`` process, returned once it has loaded its model."""
        log = self.root.parent / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kenning.cli", "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        self.workers.append(proc)
        deadline = time.monotonic() + 120
        while "kenning worker:" not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"worker died: {log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.1)
        return proc


@pytest.fixture
def deployment(service_dsn: str, tmp_path: Path) -> Iterator[Deployment]:
    root = tmp_path / "sources"
    write_notes(root / "kb", FILES)
    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=service_dsn),
        store=StoreSettings(backend=StoreBackend.POSTGRES),
        api=ApiSettings(source_roots=[root]),
        worker=WORKER,
    )
    dep = Deployment(service_dsn, root, settings)
    yield dep
    for proc in dep.workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in dep.workers:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def scrape(deployment: Deployment, name: str) -> dict[tuple[str, tuple[str, ...]], float]:
    """The ``/metrics`` of worker ``name`` (port read from its start line), as
    {(sample name, label values): value}."""
    log = (deployment.root.parent / f"{name}.log").read_text(errors="replace")
    assert "metrics on :" in log, log
    port = int(log.split("metrics on :", 1)[1].split("/", 1)[0])
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (s.name, tuple(s.labels.values())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sync_folder(comps: Components, folder: Path) -> Job:
    """What ``POST /v1/sources/{id}/sync`` does: a job record, then the queue."""
    source = comps.sources.add("acme", "folder", str(folder.resolve()), Acl(), "ed")
    job = comps.jobs.create("acme", JobKind.SYNC, "ed", {"source_id": source.id})
    comps.job_queue.enqueue(job)
    return job


def wait_for(comps: Components, job_id: str, timeout: float = 300) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = comps.jobs.get_any(job_id)
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {comps.jobs.get_any(job_id)}")


def part_in_progress(dsn: str, after_parts: int) -> bool:
    """At least ``after_parts`` parts are done and a worker is inside another one."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT max(parts_done) FROM jobs),"
            " (SELECT count(*) FROM procrastinate_jobs j JOIN job_parts p"
            "   ON p.job_id = j.args->>'job_id' AND p.part = (j.args->>'part')::int"
            "  WHERE j.status = 'doing' AND p.status = 'queued')"
        ).fetchone()
    return row is not None and (row[0] or 0) >= after_parts and row[1] > 0


def assert_exactly_one_chunk_per_file(dsn: str, folder: Path) -> None:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT d.source, d.chunk_count, c.ordinal, c.text, vector_dims(c.embedding)"
            " FROM documents d LEFT JOIN chunks c ON c.doc_pk = d.pk ORDER BY d.source"
        ).fetchall()
    expected = {str(p.resolve()): i for i, p in enumerate(sorted(folder.glob("*.md")))}
    assert len(rows) == FILES, "a duplicated or a missing chunk"
    assert {r[0] for r in rows} == set(expected), "a document missing or one too many"
    for source, chunk_count, ordinal, text, dims in rows:
        assert (chunk_count, ordinal, dims) == (1, 0, 384), source
        assert f"zq{expected[source]}x" in text, f"{source} holds another file's text"


def test_two_workers_share_a_folder_sync(deployment: Deployment) -> None:
    first = deployment.start_worker("w1")
    second = deployment.start_worker("w2")
    comps = Components(deployment.settings)
    try:
        job = wait_for(comps, sync_folder(comps, deployment.root / "kb").id)
        parts = comps.jobs.parts(job.id)
    finally:
        comps.close()
    assert job.status is JobStatus.DONE, job.error
    assert (job.parts_total, job.parts_done) == (FILES // FILES_PER_PART,) * 2
    assert (job.report["added"], job.report["failed"], job.report["chunks"]) == (FILES, 0, FILES)
    workers = {p["worker"] for p in parts}
    assert len(workers) == 2, f"one worker did every part: {workers}"
    assert {p["status"] for p in parts} == {"done"}
    assert_exactly_one_chunk_per_file(deployment.dsn, deployment.root / "kb")
    assert first.poll() is None
    assert second.poll() is None

    # Each worker exports what it did; summed over workers, the counts are the job's.
    scraped = [scrape(deployment, "w1"), scrape(deployment, "w2")]
    parts_by_worker = [m.get(("kenning_ingest_parts_total", ("done",)), 0) for m in scraped]
    assert all(n > 0 for n in parts_by_worker), parts_by_worker
    assert sum(parts_by_worker) == FILES // FILES_PER_PART
    assert sum(m.get(("kenning_ingest_chunks_total", ()), 0) for m in scraped) == FILES
    assert sum(m.get(("kenning_ingest_files_total", ("added",)), 0) for m in scraped) == FILES
    jobs = [m.get(("kenning_ingest_jobs_total", ("sync", "done")), 0) for m in scraped]
    assert sorted(jobs) == [0, 1], "exactly one worker finishes the job"


def test_a_worker_killed_mid_job_has_its_task_retried(deployment: Deployment) -> None:
    doomed = deployment.start_worker("doomed")
    comps = Components(deployment.settings)
    try:
        job_id = sync_folder(comps, deployment.root / "kb").id
        deadline = time.monotonic() + 300
        while not part_in_progress(deployment.dsn, after_parts=2):
            assert time.monotonic() < deadline
            assert doomed.poll() is None
            time.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        left = comps.jobs.get_any(job_id)
        assert left.status is JobStatus.RUNNING
        assert left.parts_total is not None
        assert left.parts_done < left.parts_total
        with psycopg.connect(deployment.dsn) as conn:
            doing = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
            ).fetchone()
        assert doing == (1,), "the killed worker's task should be left in 'doing'"

        deployment.start_worker("rescuer")
        job = wait_for(comps, job_id)
    finally:
        comps.close()
    assert job.status is JobStatus.DONE, job.error
    report = job.report
    # The part that was cut short is ingested again; what its first run had already
    # committed (one transaction per flush) now counts as unchanged.
    assert (report["added"] + report["unchanged"], report["failed"]) == (FILES, 0)
    assert_exactly_one_chunk_per_file(deployment.dsn, deployment.root / "kb")
    rescuer_log = (deployment.root.parent / "rescuer.log").read_text()
    assert "requeued task" in rescuer_log, "the stalled task was not recovered"

    shown = deployment.kenning("jobs", "show", job_id)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["status"] == "done"
    assert [p["part"] for p in detail["parts"]] == list(range(FILES // FILES_PER_PART))
    assert any(p["worker"] and "kenning@" in p["worker"] for p in detail["parts"])
    listed = json.loads(deployment.kenning("jobs", "list", "--json").stdout)
    assert [j["id"] for j in listed] == [job_id]


def test_a_worker_refuses_an_unmigrated_database(postgres_dsn: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KENNING_DATA_DIR": str(tmp_path / "data"),
        "KENNING_DATABASE__URL": postgres_dsn,
        "KENNING_STORE__BACKEND": "postgres",
    }

    def kenning(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kenning.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    refused = kenning("worker")
    assert refused.returncode == 1
    assert "kenning db upgrade" in refused.stderr
    assert kenning("db", "upgrade").returncode == 0
    with psycopg.connect(postgres_dsn) as conn:  # the queue's schema came with it
        found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
    assert found == ("procrastinate_jobs",)
    assert json.loads(kenning("jobs", "list", "--json").stdout) == []


def test_the_embedded_default_has_no_worker(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kenning.cli", "--data-dir", str(tmp_path), "worker"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "PostgreSQL" in result.stderr
