"""Grades round-trip through a real nbgrader gradebook, read back by the real `nbgrader export`."""

from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from alr.contract import MODULE_FUNCTIONS
from alr.errors import ExportError
from autograder.export.nbgrader_db import export_nbgrader, nbgrader_name
from autograder.export.results import ResultFile

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),  # nbgrader's own add_submission
]
POINTS = 2


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
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course folder whose gradebook has assignment module-3-1 only."""
    root = tmp_path_factory.mktemp("nbgrader-course")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'alr'\n"
    )
    name = nbgrader_name("3.1")
    (root / "source" / name).mkdir(parents=True)
    nbformat.write(_source_notebook("3.1"), root / "source" / name / f"{name}.ipynb")
    _nbgrader(root, "generate_assignment", "module-3-1")
    return root


def _db(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def test_missing_assignment_is_refused_before_anything_is_written(
    course: Path, results: tuple[ResultFile, ...]
) -> None:
    with pytest.raises(ExportError, match="'module-4-1' is not in the gradebook; run 'nbgrader"):
        export_nbgrader(results=results, db=_db(course), course_id="alr")
    with Gradebook(_db(course), course_id="alr") as gb:
        assert gb.students == []


def test_points_mismatch_is_refused(course: Path, results: tuple[ResultFile, ...]) -> None:
    alice = next(r for r in results if r.student == "alice")
    doubled = dataclasses.replace(
        alice,
        tests=tuple(
            dataclasses.replace(t, max_score=2 * t.max_score)
            for t in alice.tests
            if t.module == "3.1"
        ),
    )
    with pytest.raises(ExportError, match="worth 2 points but .* grades it out of 4"):
        export_nbgrader(results=[doubled], db=_db(course), course_id="alr")


def test_grades_round_trip_through_nbgrader_export(
    course: Path, results: tuple[ResultFile, ...]
) -> None:
    only_31 = [
        dataclasses.replace(r, tests=tuple(t for t in r.tests if t.module == "3.1"))
        for r in results
    ]
    for _ in range(2):  # a second export updates the same rows
        written = export_nbgrader(results=only_31, db=_db(course), course_id="alr")
    assert len(written) == 4 * 3  # three graded functions of 3.1 for four students
    with Gradebook(_db(course), course_id="alr") as gb:
        grade = gb.find_grade("test_rmsprop_step", "module-3-1", "module-3-1", "bob")
        assert (grade.auto_score, grade.max_score) == (0.0, POINTS)
        grade = gb.find_grade("test_ema", "module-3-1", "module-3-1", "carol")
        assert (grade.auto_score, grade.max_score) == (1.0, POINTS)
    _nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert {r["assignment"] for r in rows.values()} == {"module-3-1"}
    assert {k: float(r["score"]) for k, r in rows.items()} == {
        "alice": 6,
        "bob": 4,
        "carol": 5,
        "dave": 5.5,
    }
    assert {float(r["max_score"]) for r in rows.values()} == {3.0 * POINTS}
