"""SQuAD answer metrics on hand-computed cases, and the loader on real COVID-QA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kenning.errors import InvalidInputError
from kenning.eval.answer_benchmark import article_records
from kenning.eval.squad import contains_answer, exact_match, load_squad, normalize_answer, token_f1
from kenning.types import BlockKind


def test_normalization_follows_squad() -> None:
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert normalize_answer("an apple a day") == "apple day"


def test_token_f1_hand_computed() -> None:
    # prediction tokens: [cat, sat, on, mat]; gold: [cat, sat]; overlap 2
    # precision 2/4, recall 2/2 -> F1 = 2 * 0.5 * 1 / 1.5 = 0.6667
    assert token_f1("the cat sat on the mat", "cat sat") == pytest.approx(2 / 3)
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "") == 1.0
    # repeated tokens count once per occurrence: pred [a1,a1,b], gold [a1,b,b] -> overlap 2
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)


def test_exact_match_and_containment() -> None:
    assert exact_match("The 25 days.", "25 days") == 1.0
    assert exact_match("25 working days", "25 days") == 0.0
    assert contains_answer("Employees get 25 Days of leave.", ("25 days",))
    assert not contains_answer("Employees get 30 days.", ("25 days",))
    assert not contains_answer("anything", ("the",))  # normalises to empty: never matches


def test_load_real_covid_qa(shared_data: Path) -> None:
    data = load_squad(shared_data / "qa" / "covid-qa" / "200423_covidQA.json")
    assert len(data.articles) == 98
    assert len(data.questions) == 1380
    sample = data.questions[0]
    assert sample.answers[0] in data.articles[sample.article_id].context


def test_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInputError, match="SQuAD"):
        load_squad(bad)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"data": []}))
    with pytest.raises(InvalidInputError, match="no answerable"):
        load_squad(empty)


def test_articles_take_their_first_line_as_title(tmp_path: Path) -> None:
    """The benchmark indexes contexts the way the plain-text parser would: a title-like
    first line titles the document (and every chunk's context header)."""
    contexts = {
        "1": "Bats and Coronaviruses\nBats host many viruses. Some spill over.",
        "2": "Bats host many viruses.\nSome spill over.",
    }
    paragraphs = [
        {
            "document_id": doc_id,
            "context": context,
            "qas": [
                {
                    "id": f"q{doc_id}",
                    "question": "What do bats host?",
                    "answers": [{"text": "many viruses", "answer_start": 0}],
                    "is_impossible": False,
                }
            ],
        }
        for doc_id, context in contexts.items()
    ]
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"data": [{"paragraphs": paragraphs}]}))
    records = {doc.source: (doc, parsed) for doc, parsed in article_records(load_squad(path), "t")}
    titled, parsed = records["squad:1"]
    assert titled.title == parsed.title == "Bats and Coronaviruses"
    assert parsed.blocks[0].kind is BlockKind.HEADING
    assert records["squad:2"][0].title == "Article 2"
