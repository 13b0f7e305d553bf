"""Skill-check totals from quiz score files: real `alr quiz score` output, and malformed files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alr.errors import ExportError
from autograder.export.quiz_scores import load_quiz_totals
from quizzes.api import record_answer, score_answers
from quizzes.bank import load_quizzes


def test_totals_of_really_scored_answers(tmp_path: Path) -> None:
    """Three of 3.1's four skill-check questions right: 3 out of the module's 4 points."""
    catalog = load_quizzes()
    check = catalog.module("3.1").skill_check
    when = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    for i, question in enumerate(check):
        wrong = next(o.id for o in question.options if not o.correct)
        response = question.correct_ids[0] if i else wrong
        record_answer(
            store=tmp_path / "store",
            student="alice",
            question=question,
            response=response,
            seed=None,
            now=when,
        )
    score_answers(answers=[tmp_path / "store"], out=tmp_path / "results", catalog=catalog)
    (total,) = load_quiz_totals([tmp_path / "results"])
    assert (total.student, total.score, total.max_score) == ("alice", 3.0, 4.0)


def test_column_maximum_counts_unanswered_questions(class_dir: Path) -> None:
    """bob answered only 3.1's skill check; alice also did 4.1: both are out of 3.1 + 4.1."""
    totals = {t.student: t for t in load_quiz_totals([class_dir], {"3.1": 4.0, "4.1": 4.0})}
    assert (totals["alice"].score, totals["alice"].max_score) == (7.0, 8.0)
    assert (totals["bob"].score, totals["bob"].max_score) == (2.0, 8.0)


def _write(tmp_path: Path, name: str, data: Any) -> None:
    (tmp_path / "quizzes").mkdir(exist_ok=True)
    (tmp_path / "quizzes" / name).write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("alice.json", {"student": "alice"}, "not a quiz score file"),
        (
            "alice.json",
            {"schema": "alr-quiz-score/1", "student": "bob", "skill_checks": {}},
            "does not match the file name",
        ),
        (
            "alice.json",
            {
                "schema": "alr-quiz-score/1",
                "student": "alice",
                "skill_checks": {"7.7": {"score": 1}},
            },
            "unknown module '7.7'",
        ),
        (
            "alice.json",
            {
                "schema": "alr-quiz-score/1",
                "student": "alice",
                "skill_checks": {"3.1": {"score": "4"}},
            },
            r"skill_checks\.3\.1\.score: expected a number",
        ),
    ],
)
def test_malformed_quiz_score_is_refused(
    tmp_path: Path, name: str, data: Any, message: str
) -> None:
    _write(tmp_path, name, data)
    with pytest.raises(ExportError, match=message):
        load_quiz_totals([tmp_path], {"3.1": 4.0})
