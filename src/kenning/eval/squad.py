"""SQuAD-format QA data (e.g. COVID-QA) and the SQuAD answer metrics.

``normalize_answer``, ``exact_match`` and ``token_f1`` follow the official SQuAD v1.1
evaluation script: lower-case, strip punctuation and the articles a/an/the, collapse
whitespace; F1 over the bag of normalised tokens.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kenning.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class SquadArticle:
    id: str
    context: str


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str


@dataclass(frozen=True, slots=True)
class SquadDataset:
    articles: dict[str, SquadArticle]
    questions: list[SquadQuestion]


def load_squad(path: Path) -> SquadDataset:
    """Articles (one per paragraph entry, keyed by ``document_id``) and their questions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: not a readable SQuAD JSON file: {exc}") from exc
    articles: dict[str, SquadArticle] = {}
    questions: list[SquadQuestion] = []
    for entry in data.get("data", []):
        for i, paragraph in enumerate(entry.get("paragraphs", [])):
            article_id = str(paragraph.get("document_id", f"{entry.get('title', 'doc')}-{i}"))
            articles[article_id] = SquadArticle(article_id, paragraph["context"])
            for qa in paragraph.get("qas", []):
                answers = tuple(a["text"] for a in qa.get("answers", []) if a.get("text"))
                if answers and not qa.get("is_impossible", False):
                    questions.append(
                        SquadQuestion(str(qa["id"]), qa["question"], answers, article_id)
                    )
    if not questions:
        raise InvalidInputError(f"{path}: no answerable questions found")
    return SquadDataset(articles, questions)


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(pred) & Counter(ref)
    overlap = sum(common.values())
    if not pred or not ref or overlap == 0:
        return float(pred == ref)
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(
    metric: Callable[[str, str], float], prediction: str, golds: tuple[str, ...]
) -> float:
    """SQuAD scores a prediction against its best-matching gold answer."""
    return max(metric(prediction, g) for g in golds)


def contains_answer(text: str, golds: tuple[str, ...]) -> bool:
    """Whether a passage contains a gold answer (normalised substring match)."""
    haystack = normalize_answer(text)
    return any(normalize_answer(g) and normalize_answer(g) in haystack for g in golds)
