"""Shared fixtures of the export tests: the fixture result files, rosters and golden files.

Set ALR_UPDATE_GOLDEN=1 to rewrite golden files from the current output (then review the diff).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograder.export.gradesheet import GradeSheet, grade_sheet
from autograder.export.quiz_scores import load_quiz_totals
from autograder.export.results import ResultFile, load_results
from quizzes.model import (
    ModuleQuiz,
    Option,
    PartialCredit,
    Question,
    QuestionKind,
    QuizCatalog,
    Slot,
    Tolerance,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "export"
RESULTS = FIXTURES / "results"
GOLDEN = FIXTURES / "golden"
TITLES = {"3.1": "3.1 Geometry of RMSProp", "4.1": "4.1 Bias correction"}


def assert_golden(name: str, text: str) -> None:
    """`text` equals the golden file `name` byte for byte."""
    path = GOLDEN / name
    if os.environ.get("ALR_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.read_bytes().decode("utf-8") == text


@pytest.fixture
def results() -> tuple[ResultFile, ...]:
    return load_results([RESULTS])


@pytest.fixture
def sheet(results: tuple[ResultFile, ...]) -> GradeSheet:
    """The fixture results and skill-check scores as one grade table."""
    return grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES)


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture results folder."""
    return Path(shutil.copytree(RESULTS, tmp_path / "results"))


@pytest.fixture
def small_catalog() -> QuizCatalog:
    """A hand-built one-module catalog with every question kind (and text that needs escaping)."""
    options = (
        Option("a", "Geometry & guarantees", True, "Right: <b>3.1</b> is geometry."),
        Option("b", "Algorithms", False, "That is module 4."),
    )
    check = (
        Question(
            "3.1.check.module",
            "3.1",
            Slot.MODULE,
            QuestionKind.SINGLE_CHOICE,
            "Which module? `ema` <script>alert(1)</script> ]]>",
            ("rmsprop",),
            options=options,
        ),
    )
    bank = (
        Question(
            "3.1.bank.props",
            "3.1",
            None,
            QuestionKind.MULTIPLE_ANSWER,
            "Which are true?",
            ("rmsprop",),
            points=2.0,
            options=(
                Option("a", "eps is outside the sqrt", True, "Yes."),
                Option("b", "v is bias-corrected", False, "No: RMSProp has none."),
                Option("c", "alpha weighs the old average", True, "Yes."),
            ),
            partial_credit=PartialCredit.NET_CORRECT,
        ),
        Question(
            "3.1.bank.weight",
            "3.1",
            None,
            QuestionKind.NUMERIC,
            "1 - 0.9**10 to 3 decimals?",
            ("ema",),
            answer=0.6513215599,
            tolerance=Tolerance(rel=0.0, abs=0.0005),
            explanation="Sum the weights.",
        ),
        Question(
            "3.1.bank.ema",
            "3.1",
            None,
            QuestionKind.GENERATED_NUMERIC,
            "beta = {beta}, avg_0 = {avg0}, xs = {xs}: avg_3?",
            ("ema",),
            tolerance=Tolerance(rel=1e-3, abs=1e-6),
            generator="ema_final",
            parameters=(("beta", (0.5, 0.9)), ("avg0", (0.0, 1.0)), ("xs", ((1.0, 2.0, 3.0),))),
        ),
    )
    return QuizCatalog((ModuleQuiz("3.1", "Geometry of RMSProp", check, bank),))
