"""The grade table: exactly the class's student x module cells, blanks listed, problems apart."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from alr.errors import ExportError
from alr.results import read_result, read_results, result_path, write_result
from autograder.export.gradesheet import (
    QUIZ_KEY,
    grade_sheet,
    module_feedback,
    read_sheet,
    require_roster,
)
from autograder.export.identity import Identity

from .conftest import EXPECTED_BLANKS, TITLES, UNSCOPED_ERROR, GradeSheet, module_result


def test_cells_are_the_graded_results_and_nothing_else(sheet: GradeSheet) -> None:
    """Every (student, column) with a result has its full-precision score; the rest is blank."""
    cells = {
        (s, key): (c.score, c.max_score) for s, row in sheet.rows.items() for key, c in row.items()
    }
    assert cells == {
        ("alice", "3.1"): (6.0, 6.0),
        ("alice", "4.1"): (6.0, 6.0),
        ("alice", "4.3"): (3.333333333333333, 4.0),
        ("alice", QUIZ_KEY): (7.0, 8.0),
        ("bob", "3.1"): (4.0, 6.0),
        ("bob", "4.1"): (4.5, 6.0),
        ("bob", QUIZ_KEY): (2.0, 8.0),
        ("carol", "3.1"): (5.0, 6.0),
    }
    assert [c.key for c in sheet.columns] == ["3.1", "4.1", "4.3", QUIZ_KEY]
    assert [c.max_score for c in sheet.columns] == [6.0, 6.0, 4.0, 8.0]
    assert sheet.students == ("alice", "bob", "carol")
    assert sheet.blanks() == EXPECTED_BLANKS


def test_unscoped_error_is_a_problem_never_a_grade(sheet: GradeSheet) -> None:
    assert [(p.student, p.submission, p.error) for p in sheet.problems] == [
        ("carol", "notes.ipynb", UNSCOPED_ERROR)
    ]
    assert set(sheet.rows["carol"]) == {"3.1"}
    assert str(sheet.problems[0]).startswith("carol: notes.ipynb: no module")


def test_identity_comes_from_the_results(sheet: GradeSheet) -> None:
    assert sheet.identity("alice") == Identity("1001", "alice@school.example", "Alice Liddell")
    assert sheet.identity("bob") == Identity()


def test_feedback_rounds_to_two_decimals_and_names_misconceptions(results) -> None:
    """People see 3.33, never 3.333333333333333; the grade cell keeps full precision."""
    assert module_feedback(results.get("alice", "4.3")) == (
        "4.3: 3.33/4. amsgrad_step 1.33/2 (looks like amsgrad_max_of_corrected); lamb_step 2/2."
    )
    assert module_feedback(results.get("bob", "4.1")) == (
        "4.1: 4.5/6. bias_correction 2/2; adam_step 0.5/2 (looks like no_bias_correction);"
        " adafactor_beta2 2/2."
    )


def test_only_keeps_the_chosen_columns_and_every_student(results) -> None:
    sheet = grade_sheet(results, titles=TITLES, only=["4.1"])
    assert [c.key for c in sheet.columns] == ["4.1"]
    assert sheet.blanks() == (("carol", "4.1"),)
    with pytest.raises(ExportError, match=r"--only 9\.9: expected module ids or 'skill-checks'"):
        grade_sheet(results, titles=TITLES, only=["9.9"])
    with pytest.raises(ExportError, match="nobody was graded in these columns"):
        grade_sheet(results, titles=TITLES, only=["3.2"])


def test_different_maxima_of_one_module_are_refused(class_dir: Path, tmp_path: Path) -> None:
    """Results of two course versions (3.1 worth 6 and 12) cannot share a column."""
    root = Path(shutil.copytree(class_dir, tmp_path / "results"))
    bob = read_result(result_path(root, "bob", "3.1"))
    doubled = tuple(dataclasses.replace(t, score=2 * t.score, max_score=2) for t in bob.tests)
    write_result(root, dataclasses.replace(bob, tests=doubled))
    with pytest.raises(ExportError, match=r"module 3\.1: students have different maximum"):
        read_sheet([root], titles=TITLES)


def test_results_of_one_student_must_agree_on_identity(tmp_path: Path) -> None:
    write_result(tmp_path, module_result("alice", "3.1"))
    other = dataclasses.replace(module_result("alice", "4.1"), identity={"email": "al@x.example"})
    write_result(tmp_path, other)
    with pytest.raises(ExportError, match="results of 'alice' disagree on email"):
        grade_sheet(read_results(tmp_path), titles=TITLES)


def test_an_empty_results_folder_says_to_grade_first(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no results .* run `alr grade SUBMISSION"):
        read_sheet([tmp_path], titles=TITLES)


def test_strict_turns_unmatched_students_into_an_error() -> None:
    require_roster(("carol",), "roster row", strict=False)
    with pytest.raises(ExportError, match="1 graded student.* no roster row: carol; nothing"):
        require_roster(("carol",), "roster row", strict=True)
