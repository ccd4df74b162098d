// Following an ingestion job to its end (GET /v1/jobs/{id}), and saying what it did.

import * as api from "../api.js";

const FINISHED = new Set(["done", "failed"]);

/** Poll until the job is done or failed; `onUpdate(job)` on every poll. */
export async function follow(jobId, onUpdate) {
  let wait = 250;
  for (;;) {
    const job = await api.get(`/v1/jobs/${encodeURIComponent(jobId)}`);
    onUpdate(job);
    if (FINISHED.has(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 1.5, 3000);
  }
}

/** "added 1 · 12 chunks" or the per-file errors of a finished job. */
export function summary(job) {
  if (job.status === "failed") return { ok: false, text: job.error || "the job failed" };
  const r = job.report || {};
  const counts = ["added", "updated", "unchanged", "deleted"]
    .filter((k) => r[k])
    .map((k) => `${k} ${r[k]}`);
  if (r.chunks) counts.push(`${r.chunks} chunks`);
  if (r.errors && r.errors.length) {
    const errors = r.errors.map((e) => `${e.source.split("/").pop()}: ${e.error}`);
    return { ok: false, text: [...counts, ...errors].join(" · ") };
  }
  return { ok: true, text: counts.join(" · ") || "nothing to do" };
}
