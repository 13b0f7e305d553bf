"""Grades round-trip through a real nbgrader gradebook (nbgrader's API and SQLite), read back by
the real `nbgrader export`; writing them raises no warning."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from alr.contract import MODULE_FUNCTIONS
from alr.errors import ExportError
from alr.results import read_result, read_results, result_path, write_result
from autograder.export.nbgrader_db import QUIZ_ASSIGNMENT, QUIZ_CELL, export_nbgrader, nbgrader_name
from autograder.export.quiz_scores import load_quiz_totals

from .conftest import GRADED

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("error")]
POINTS = 2
MODULES = ("3.1", "4.1", "4.3")


def _source_notebook(module: str) -> nbformat.NotebookNode:
    """A minimal nbgrader source notebook: solution_<f> and test_<f> cells per graded function."""
    nb = nbformat.v4.new_notebook(metadata={"alr": {"module": module}})
    for function in MODULE_FUNCTIONS[module]:
        solution = nbformat.v4.new_code_cell(
            f"def {function}(*args, **kwargs):\n    ### BEGIN SOLUTION\n    return None\n"
            "    ### END SOLUTION"
        )
        solution.metadata["nbgrader"] = {
            "schema_version": 3,
            "grade": False,
            "solution": True,
            "locked": False,
            "grade_id": f"solution_{function}",
        }
        test = nbformat.v4.new_code_cell(f"assert callable({function})")
        test.metadata["nbgrader"] = {
            "schema_version": 3,
            "grade": True,
            "solution": False,
            "locked": True,
            "grade_id": f"test_{function}",
            "points": POINTS,
        }
        nb.cells += [solution, test]
    return nb


def _nbgrader(course: Path, *args: str) -> None:
    """Run the real nbgrader CLI (it calls `alembic` from PATH: the environment's bin first)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"],
        cwd=course,
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PATH": path},
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course folder whose gradebook has the assignments of modules 3.1, 4.1 and 4.3."""
    root = tmp_path_factory.mktemp("nbgrader-course")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'alr'\n"
    )
    for module in MODULES:
        name = nbgrader_name(module)
        (root / "source" / name).mkdir(parents=True)
        nbformat.write(_source_notebook(module), root / "source" / name / f"{name}.ipynb")
        _nbgrader(root, "generate_assignment", name)
    return root


@pytest.fixture
def course(generated: Path, tmp_path: Path) -> Path:
    """A fresh copy of the generated course (each test starts from an empty gradebook)."""
    return Path(shutil.copytree(generated, tmp_path / "course"))


def _db(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def _export(course: Path, class_dir: Path):
    return export_nbgrader(
        results=read_results(class_dir),
        quizzes=load_quiz_totals([class_dir]),
        db=_db(course),
        course_id="alr",
    )


def test_gradebook_holds_exactly_the_graded_cells(course: Path, class_dir: Path) -> None:
    """A submission per graded (student, module), none for a blank one; every test cell's auto
    score is the function's score; skill checks in their own assignment."""
    for _ in range(2):  # a second export updates the same rows
        written, report = _export(course, class_dir)
    assert len(written) == sum(len(f) for f in GRADED.values()) + 2  # + alice's and bob's quiz
    assert report.blanks == (
        ("bob", "4.3"),
        ("carol", "4.1"),
        ("carol", "4.3"),
        ("carol", "skill-checks"),
    )
    with Gradebook(_db(course), course_id="alr") as gb:
        submitted = {
            (s.student.id, s.assignment.name)
            for a in gb.assignments
            for s in gb.assignment_submissions(a.name)
        }
        assert submitted == {(s, nbgrader_name(m)) for s, m in GRADED} | {
            ("alice", QUIZ_ASSIGNMENT),
            ("bob", QUIZ_ASSIGNMENT),
        }
        for (student, module), functions in GRADED.items():
            name = nbgrader_name(module)
            for function, cases in functions.items():
                grade = gb.find_grade(f"test_{function}", name, name, student)
                assert grade.auto_score == pytest.approx(sum(c[0] for c in cases), abs=1e-12)
                assert grade.max_score == POINTS
        with pytest.raises(MissingEntry):
            gb.find_submission(nbgrader_name("4.3"), "bob")
        quiz = gb.find_grade(QUIZ_CELL, QUIZ_ASSIGNMENT, QUIZ_ASSIGNMENT, "alice")
        assert (quiz.auto_score, quiz.max_score) == (7.0, 8.0)


def test_nbgrader_export_reads_the_grades(course: Path, class_dir: Path) -> None:
    """`nbgrader export` sees each graded cell's total. Its CSV has a row for every student and
    assignment and writes a missing submission as 0 (nbgrader's own choice): the gradebook has
    no submission there, which is what formgrader shows."""
    _export(course, class_dir)
    _nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as handle:
        rows = {
            (r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(handle)
        }
    assert rows == {
        ("alice", "module-3-1"): 6.0,
        ("alice", "module-4-1"): 6.0,
        ("alice", "module-4-3"): pytest.approx(3.333333333333333),
        ("alice", QUIZ_ASSIGNMENT): 7.0,
        ("bob", "module-3-1"): 4.0,
        ("bob", "module-4-1"): 4.5,
        ("bob", "module-4-3"): 0.0,  # no submission
        ("bob", QUIZ_ASSIGNMENT): 2.0,
        ("carol", "module-3-1"): 5.0,
        ("carol", "module-4-1"): 0.0,  # no submission
        ("carol", "module-4-3"): 0.0,  # no submission
        ("carol", QUIZ_ASSIGNMENT): 0.0,  # no submission
    }


def test_missing_assignment_is_refused_before_anything_is_written(
    course: Path, class_dir: Path
) -> None:
    with Gradebook(_db(course), course_id="alr") as gb:
        gb.remove_assignment(nbgrader_name("4.3"))
    with pytest.raises(ExportError, match="'module-4-3' is not in the gradebook; run 'nbgrader"):
        _export(course, class_dir)
    with Gradebook(_db(course), course_id="alr") as gb:
        assert gb.students == []


def test_points_mismatch_is_refused(course: Path, class_dir: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(class_dir, tmp_path / "results"))
    for student, module in GRADED:
        old = read_result(result_path(root, student, module))
        doubled = tuple(
            dataclasses.replace(t, score=2 * t.score, max_score=2 * t.max_score) for t in old.tests
        )
        write_result(root, dataclasses.replace(old, tests=doubled))
    with pytest.raises(ExportError, match="worth 2 points but .* grades it out of 4"):
        _export(course, root)
