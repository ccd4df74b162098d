"""Calibrate the abstention threshold (``answer.abstain_below``) on COVID-QA.

Half of the articles are indexed; questions about them are *answerable*, questions about
the other half are *unanswerable* (same domain, same style: the hard, realistic case of
"the evidence is not in the knowledge base"). For each question the assistant's evidence
score (best cosine between the question and a passage in its context) is recorded. The
threshold is chosen on the even-numbered questions (maximum balanced accuracy) and the
rates are reported on the odd-numbered ones.

    .venv/bin/python bench/calibrate_abstention.py [--per-class 300]

Writes bench/results/abstention_calibration.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from kenning.eval.answer_benchmark import index_articles
from kenning.eval.squad import load_squad
from kenning.settings import Settings
from kenning.types import Principal
from kenning.wiring import Components

ROOT = Path(__file__).resolve().parents[1]
TENANT = "calibration-covidqa-half"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--squad", type=Path, default=ROOT.parent / "shared/data/qa/covid-qa/200423_covidQA.json"
    )
    # Its own data directory: BM25 statistics span the whole index, so sharing the answer
    # benchmark's directory would shift that benchmark's keyword scores.
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench/.cache/covidqa-calibration")
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()

    dataset = load_squad(args.squad)
    articles = sorted(dataset.articles)
    indexed = set(articles[::2])
    components = Components(Settings(data_dir=args.data_dir))
    index_articles(components, dataset, TENANT, sorted(indexed))
    rng = random.Random(0)
    answerable = [q for q in dataset.questions if q.article_id in indexed]
    unanswerable = [q for q in dataset.questions if q.article_id not in indexed]
    sample = rng.sample(answerable, min(args.per_class, len(answerable))) + rng.sample(
        unanswerable, min(args.per_class, len(unanswerable))
    )
    principal = Principal.system(TENANT)
    rows = []
    for i, q in enumerate(sample):
        context = components.assistant.context_for(q.question, principal=principal)
        rows.append(
            {
                "id": q.id,
                "answerable": q.article_id in indexed,
                "evidence": context.evidence,
                "split": "tune" if i % 2 == 0 else "test",
            }
        )
    components.close()
    result = calibrate(rows)
    write(result, args.out)


def rates(rows: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    false_abstain = sum(r["evidence"] < threshold for r in pos) / len(pos)
    true_abstain = sum(r["evidence"] < threshold for r in neg) / len(neg)
    return {
        "false_abstention_rate": round(false_abstain, 4),
        "correct_abstention_rate": round(true_abstain, 4),
        "balanced_accuracy": round(((1 - false_abstain) + true_abstain) / 2, 4),
    }


def calibrate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tune = [r for r in rows if r["split"] == "tune"]
    test = [r for r in rows if r["split"] == "test"]
    grid = np.round(np.arange(0.10, 0.80, 0.01), 2)
    best = max(grid, key=lambda t: (rates(tune, float(t))["balanced_accuracy"], -t))
    # The product default: the highest threshold costing at most 5 % answerable questions.
    cautious = max(
        (float(t) for t in grid if rates(tune, float(t))["false_abstention_rate"] <= 0.05),
        default=float(grid[0]),
    )

    def dist(answerable: bool) -> dict[str, float]:
        values = [r["evidence"] for r in rows if r["answerable"] is answerable]
        return {f"p{p}": round(float(np.percentile(values, p)), 3) for p in (5, 25, 50, 75, 95)}

    return {
        "chosen_threshold": float(best),
        "tune": rates(tune, float(best)),
        "test": rates(test, float(best)),
        "test_at_default_0.35": rates(test, 0.35),
        "threshold_at_5pct_false_abstention": cautious,
        "test_at_5pct_threshold": rates(test, cautious),
        "evidence_answerable": dist(True),
        "evidence_unanswerable": dist(False),
        "questions": {"tune": len(tune), "test": len(test)},
    }


def write(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "abstention_calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    t, d = result["test"], result["test_at_default_0.35"]
    fa, ca, ba = "false_abstention_rate", "correct_abstention_rate", "balanced_accuracy"
    lines = [
        "# Abstention threshold calibration (COVID-QA, half the articles held out)",
        "",
        "Command: `.venv/bin/python bench/calibrate_abstention.py`",
        "",
        "Chosen threshold (max balanced accuracy on the tuning half): "
        f"**{result['chosen_threshold']}**",
        "",
        "| on held-out questions | at chosen | at 0.35 |",
        "|---|---|---|",
        f"| false abstention (answerable, abstained) | {t[fa]} | {d[fa]} |",
        f"| correct abstention (unanswerable, abstained) | {t[ca]} | {d[ca]} |",
        f"| balanced accuracy | {t[ba]} | {d[ba]} |",
        "",
        "Highest threshold with at most 5 % false abstention on the tuning half: "
        f"**{result['threshold_at_5pct_false_abstention']}** (held out: "
        f"{result['test_at_5pct_threshold']}).",
        "",
        f"Evidence (best passage cosine) percentiles, answerable: {result['evidence_answerable']}",
        f"; unanswerable: {result['evidence_unanswerable']}.",
    ]
    (out / "abstention_calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
