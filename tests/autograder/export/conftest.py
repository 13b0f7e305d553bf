"""The export tests' class: 3 students x 3 modules in the result model, with blanks, an unscoped
error, skill-check scores, rosters (one missing a student, one address starting with '-').

    student  3.1    4.1    4.3                   skill checks  identity in the results
    alice    6/6    6/6    3.333333333333333/4  7/8           user_id 1001, email
    bob      4/6    4.5/6  blank                 2/8           none
    carol    5/6    blank  blank                 blank         none; plus an unscoped error

Result files are written with `alr.results.write_result` (what the grader writes), quiz score
files with `quizzes.scoring.write_score_file`. Set ALR_UPDATE_GOLDEN=1 to rewrite golden files
from the current output (then review the diff).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from alr.results import ModuleResult, Results, TestRecord, read_results, write_result
from autograder.export.gradesheet import GradeSheet, read_sheet
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
from quizzes.scoring import SCHEMA, write_score_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "export"
GOLDEN = FIXTURES / "golden"
CANVAS_ROSTER = FIXTURES / "canvas-roster.csv"  # alice, bob, Eve (no results); not carol
EMAIL_ROSTER = FIXTURES / "email-roster.csv"  # alice, bob ('-bob@...'); not carol
LTI_USERS = FIXTURES / "lti-users.csv"  # alice, bob; not carol
TITLES = {"3.1": "3.1 Geometry of RMSProp", "4.1": "4.1 Bias correction", "4.3": "4.3 AMSGrad"}
THIRD = 2 / 3

#: (student, module) -> function -> [(score, max_score, diagnosis)]
GRADED: Mapping[tuple[str, str], Mapping[str, Sequence[tuple[float, float, str | None]]]] = {
    ("alice", "3.1"): {
        "ema": [(1, 1, None), (1, 1, None)],
        "coupled_l2_grad": [(1, 1, None), (1, 1, None)],
        "rmsprop_step": [(1, 1, None), (1, 1, None)],
    },
    ("alice", "4.1"): {
        "bias_correction": [(1, 1, None), (1, 1, None)],
        "adam_step": [(1, 1, None), (1, 1, None)],
        "adafactor_beta2": [(1, 1, None), (1, 1, None)],
    },
    ("alice", "4.3"): {
        "amsgrad_step": [
            (THIRD, THIRD, None),
            (THIRD, THIRD, None),
            (0, THIRD, "amsgrad_max_of_corrected"),
        ],
        "lamb_step": [(1, 1, None), (1, 1, None)],
    },
    ("bob", "3.1"): {
        "ema": [(1, 1, None), (1, 1, None)],
        "coupled_l2_grad": [(1, 1, None), (1, 1, None)],
        "rmsprop_step": [
            (0, 1, "decoupled_instead_of_coupled"),
            (0, 1, "decoupled_instead_of_coupled"),
        ],
    },
    ("bob", "4.1"): {
        "bias_correction": [(1, 1, None), (1, 1, None)],
        "adam_step": [(0.5, 1, "no_bias_correction"), (0, 1, "no_bias_correction")],
        "adafactor_beta2": [(1, 1, None), (1, 1, None)],
    },
    ("carol", "3.1"): {
        "ema": [(1, 1, None), (0, 1, None)],
        "coupled_l2_grad": [(1, 1, None), (1, 1, None)],
        "rmsprop_step": [(1, 1, None), (1, 1, None)],
    },
}
IDENTITY: Mapping[str, Mapping[str, str]] = {
    "alice": {"user_id": "1001", "email": "alice@school.example", "name": "Alice Liddell"},
}
UNSCOPED_ERROR = (
    "no module: the notebook has no module metadata and its name names none; "
    "regrade it with --module"
)
#: student -> module -> skill-check score (each module's skill check is worth 4 points)
SKILL_CHECKS = {"alice": {"3.1": 4.0, "4.1": 3.0}, "bob": {"3.1": 2.0}}
EXPECTED_BLANKS = (
    ("bob", "4.3"),
    ("carol", "4.1"),
    ("carol", "4.3"),
    ("carol", "skill-checks"),
)


def module_result(student: str, module: str) -> ModuleResult:
    tests = tuple(
        TestRecord(
            name=f"{module} {function}: case {i}",
            score=score,
            max_score=max_score,
            output="matches the reference" if score == max_score else "differs from the reference",
            module=module,
            function=function,
            case=f"case {i}",
            dtype="float64",
            diagnosis=diagnosis,
        )
        for function, cases in GRADED[(student, module)].items()
        for i, (score, max_score, diagnosis) in enumerate(cases)
    )
    return ModuleResult(
        student=student,
        module=module,
        tests=tests,
        output=f"{module} graded",
        submission=f"module-{module.replace('.', '-')}.ipynb",
        grader_version="0.1.0",
        sandbox="L1",
        graded_at="2026-03-02T10:00:00Z",
        identity=IDENTITY.get(student, {}),
    )


def write_class(root: Path) -> Path:
    """Write the class above into the results folder `root`; returns it."""
    for student, module in GRADED:
        write_result(root, module_result(student, module))
    write_result(
        root,
        ModuleResult(
            student="carol",
            module=None,
            tests=(),
            submission="notes.ipynb",
            error=UNSCOPED_ERROR,
        ),
    )
    for student, checks in SKILL_CHECKS.items():
        document = {
            "schema": SCHEMA,
            "student": student,
            "skill_checks": {
                m: {"score": s, "max_score": 4.0, "answered": 4} for m, s in checks.items()
            },
        }
        write_score_file(root, document)
    return root


def assert_golden(name: str, text: str) -> None:
    """`text` equals the golden file `name` byte for byte."""
    path = GOLDEN / name
    if os.environ.get("ALR_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.read_bytes().decode("utf-8") == text


@pytest.fixture(scope="session")
def class_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class's results folder (read-only by convention: tests that change it copy it)."""
    return write_class(tmp_path_factory.mktemp("class") / "results")


@pytest.fixture
def results(class_dir: Path) -> Results:
    return read_results(class_dir)


@pytest.fixture
def sheet(class_dir: Path) -> GradeSheet:
    """The class's results and skill-check scores as one grade table."""
    return read_sheet([class_dir], titles=TITLES)


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
