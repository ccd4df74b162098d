"""Follow-up rewriting on COVID-QA: retrieval hit@5 of follow-ups with and without rewriting.

COVID-QA has several questions per article. Two consecutive questions on one article make
a conversation: the first is asked as is; the second is turned into a follow-up by
removing the content words it shares with the first (the antecedent a user would not
repeat), in two styles:

- ``pronoun``: the first run of shared words becomes "it", the others are dropped
  ("What is the mortality rate of MERS-CoV?" → "What is the mortality rate of it?");
- ``ellipsis``: "and" + the second question's remaining content words ("and mortality rate?").

For each pair, hit@5 (a gold answer in one of the top five hybrid-retrieved chunks, as in
the answer benchmark) is measured for the original second question (the ceiling), the
follow-up searched as typed, and the follow-up rewritten by ``QueryRewriter`` with the
first question as history (the rules, or the LLM when ``KENNING_LLM__BASE_URL`` is set).
It also checks that standalone questions are left alone: the original second question is
given to the rewriter with the same history, and its hit@5 after rewriting is reported.

    .venv/bin/python bench/followup_rewrite.py [--pairs 400]

Writes bench/results/followup_rewrite.{json,md}. Indexing COVID-QA the first time takes a
couple of minutes (cached under bench/.cache afterwards). Not run in CI.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from kenning.eval.answer_benchmark import index_articles
from kenning.eval.squad import SquadQuestion, contains_answer, load_squad
from kenning.memory import RewriteMethod, Turn
from kenning.memory.rewrite import STOPWORDS, content_words
from kenning.settings import SearchMode, Settings
from kenning.types import Principal
from kenning.wiring import Components

ROOT = Path(__file__).resolve().parents[1]
TENANT = "followups-covidqa"
WORD = re.compile(r"[\w'-]+|[^\w\s]")


def follow_ups(first: str, second: str) -> dict[str, str] | None:
    """The second question as a pronoun and as an elliptical follow-up; None when the two
    share no content word (nothing to leave out) or nothing would remain."""
    shared = set(content_words(first)) & set(content_words(second))
    own = [w for w in content_words(second) if w not in shared]
    if not shared or not own:
        return None
    tokens = WORD.findall(second)
    marked = [t.lower().strip("'-") in shared for t in tokens]
    at = [i for i, m in enumerate(marked) if m]
    for a, b in itertools.pairwise(at):  # "SARS and MERS" is one antecedent
        if all(tokens[j].lower() in STOPWORDS for j in range(a + 1, b)):
            marked[a:b] = [True] * (b - a)
    pronoun: list[str] = []
    replaced = False
    for i, token in enumerate(tokens):
        if not marked[i]:
            pronoun.append(token)
        elif not replaced and (i == 0 or not marked[i - 1]):
            if pronoun and pronoun[-1].lower() in ("the", "a", "an"):
                pronoun.pop()
            pronoun.append("it")
            replaced = True
    text = " ".join(pronoun)
    text = re.sub(r"\s+([?.,;:!)])", r"\1", text).replace("( ", "(")
    return {"pronoun": text, "ellipsis": "and " + " ".join(own) + "?"}


def pairs(questions: list[SquadQuestion], limit: int) -> list[tuple[SquadQuestion, SquadQuestion]]:
    by_article: dict[str, list[SquadQuestion]] = defaultdict(list)
    for q in questions:
        by_article[q.article_id].append(q)
    found = []
    for article in sorted(by_article):
        items = by_article[article]
        for first, second in itertools.pairwise(items):
            if follow_ups(first.question, second.question) is not None:
                found.append((first, second))
    step = max(1, len(found) // limit) if limit else 1
    return found[::step][:limit] if limit else found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--squad", type=Path, default=ROOT.parent / "shared/data/qa/covid-qa/200423_covidQA.json"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench/.cache/covidqa-followups")
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args()

    dataset = load_squad(args.squad)
    components = Components(Settings(data_dir=args.data_dir))
    started = time.perf_counter()
    index_articles(components, dataset, TENANT)
    index_s = time.perf_counter() - started
    rewriter = components.conversation_memory.rewriter
    principal = Principal.system(TENANT)

    def hit(query: str, q: SquadQuestion) -> bool:
        hits = components.retriever.search(
            query, principal=principal, k=5, mode=SearchMode.HYBRID
        ).hits
        return any(contains_answer(h.chunk.text, q.answers) for h in hits)

    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for first, second in pairs(dataset.questions, args.pairs):
        history = [Turn(first.question, "")]
        made = follow_ups(first.question, second.question)
        assert made is not None
        row: dict[str, Any] = {"first": first.question, "second": second.question}
        row["original"] = hit(second.question, second)
        standalone = rewriter.rewrite(second.question, history)
        row["standalone_rewritten"] = standalone.method is not RewriteMethod.NONE
        row["standalone_after"] = hit(standalone.query, second)
        for style, text in made.items():
            rewrite = rewriter.rewrite(text, history)
            row[style] = {
                "follow_up": text,
                "rewritten": rewrite.query,
                "method": rewrite.method.value,
                "without": hit(text, second),
                "with": hit(rewrite.query, second),
            }
        rows.append(row)
    eval_s = time.perf_counter() - started
    components.close()
    result = summarise(rows, index_s, eval_s, components.settings.llm.base_url is not None)
    write(result, rows, args.out)


def _rate(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def summarise(
    rows: list[dict[str, Any]], index_s: float, eval_s: float, llm: bool
) -> dict[str, Any]:
    styles = {}
    for style in ("pronoun", "ellipsis"):
        styles[style] = {
            "hit@5_without_rewriting": _rate([r[style]["without"] for r in rows]),
            "hit@5_with_rewriting": _rate([r[style]["with"] for r in rows]),
            "detected_as_follow_up": _rate([r[style]["method"] != "none" for r in rows]),
        }
    return {
        "dataset": "COVID-QA (200423_covidQA.json)",
        "rewriter": "llm" if llm else "rules",
        "pairs": len(rows),
        "hit@5_original_second_question": _rate([r["original"] for r in rows]),
        "styles": styles,
        "standalone": {
            "rewritten_share": _rate([r["standalone_rewritten"] for r in rows]),
            "hit@5_after_rewriter": _rate([r["standalone_after"] for r in rows]),
        },
        "seconds": {"index": round(index_s, 1), "evaluate": round(eval_s, 1)},
    }


def write(result: dict[str, Any], rows: list[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "followup_rewrite.json").write_text(
        json.dumps({**result, "examples": rows[:15]}, indent=2) + "\n"
    )
    s = result["styles"]
    lines = [
        "# Follow-up rewriting: retrieval hit@5 on COVID-QA follow-ups",
        "",
        "Command: `.venv/bin/python bench/followup_rewrite.py` "
        f"(rewriter: {result['rewriter']}; {result['pairs']} question pairs on one article; "
        f"hybrid retrieval with the reranker, top 5).",
        "",
        "| follow-up style | hit@5 as typed | hit@5 rewritten | detected as follow-up |",
        "|---|---|---|---|",
    ]
    for style, label in (
        ("pronoun", 'pronoun ("... of it?")'),
        ("ellipsis", 'ellipsis ("and X?")'),
    ):
        v = s[style]
        lines.append(
            f"| {label} | {v['hit@5_without_rewriting']} | {v['hit@5_with_rewriting']} |"
            f" {v['detected_as_follow_up']} |"
        )
    st = result["standalone"]
    ceiling = result["hit@5_original_second_question"]
    lines += [
        f"| ceiling: the original second question | {ceiling} | | |",
        "",
        f"Standalone second questions given to the rewriter with the same history: "
        f"{st['rewritten_share']} rewritten, hit@5 {st['hit@5_after_rewriter']} "
        f"(vs {result['hit@5_original_second_question']} as asked).",
        "",
        f"Index {result['seconds']['index']} s (cached after the first run), "
        f"evaluation {result['seconds']['evaluate']} s. Examples in followup_rewrite.json.",
        "",
    ]
    (out / "followup_rewrite.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
