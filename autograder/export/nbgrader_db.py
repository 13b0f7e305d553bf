"""Grades into nbgrader's own gradebook, so `nbgrader export` and formgrader show them.

The nbgrader course names follow the build: module 3.1 is assignment `module-3-1` with notebook
`module-3-1`, and graded function f has the autograder test cell `test_<f>`. For every student
and module in the results:

    auto_score(test_<f>) = points(test_<f>) * (sum of f's test scores) / (sum of their maxima),

written through `nbgrader.api.Gradebook` (students and submissions are created when missing).
Everything is checked before anything is written: each assignment, notebook and test cell must
exist (created by `nbgrader generate_assignment`) and each cell's points must equal the
function's maximum in the results (to 1e-3: result files round each test to 6 places).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from alr.errors import ExportError
from autograder.export.results import ResultFile, module_grades, total


@dataclass(frozen=True)
class CellScore:
    student: str
    assignment: str  # also the notebook name
    cell: str
    score: float
    max_score: float
    source: Path


def nbgrader_name(module: str) -> str:
    """The nbgrader assignment (and notebook) id of a module: "3.1" -> "module-3-1"."""
    return "module-" + module.replace(".", "-")


def db_url(db: str) -> str:
    """A SQLAlchemy URL; a plain path must name an existing nbgrader gradebook file."""
    if "://" in db:
        path = db.removeprefix("sqlite:///") if db.startswith("sqlite:///") else None
    else:
        path, db = db, f"sqlite:///{Path(db).resolve()}"
    if path is not None and not Path(path).is_file():
        raise ExportError(
            f"{path}: no nbgrader gradebook there; run 'nbgrader generate_assignment' in the"
            " course folder first (it creates gradebook.db)"
        )
    return db


def cell_scores(results: Sequence[ResultFile]) -> tuple[CellScore, ...]:
    """The auto score of every test cell the results grade."""
    scores = []
    for student, per_module in sorted(module_grades(results).items()):
        for module, grade in per_module.items():
            for function in dict.fromkeys(t.function for t in grade.tests):
                tests = [t for t in grade.tests if t.function == function]
                scores.append(
                    CellScore(
                        student=student,
                        assignment=nbgrader_name(module),
                        cell=f"test_{function}",
                        score=total(t.score for t in tests),
                        max_score=total(t.max_score for t in tests),
                        source=grade.source,
                    )
                )
    return tuple(scores)


def _check_cells(gb: Gradebook, url: str, scores: Sequence[CellScore]) -> None:
    cells: dict[str, dict[str, float]] = {}
    for score in scores:
        if score.assignment not in cells:
            try:
                assignment = gb.find_assignment(score.assignment)
            except MissingEntry:
                raise ExportError(
                    f"{url}: assignment {score.assignment!r} is not in the gradebook; run"
                    f" 'nbgrader generate_assignment {score.assignment}' first"
                ) from None
            notebooks = {nb.name: nb for nb in assignment.notebooks}
            if score.assignment not in notebooks:
                raise ExportError(
                    f"{url}: assignment {score.assignment!r} has no notebook"
                    f" {score.assignment + '.ipynb'!r} (it has {sorted(notebooks)})"
                )
            grade_cells = notebooks[score.assignment].grade_cells
            cells[score.assignment] = {c.name: c.max_score for c in grade_cells}
        points = cells[score.assignment].get(score.cell)
        if points is None:
            raise ExportError(
                f"{url}: {score.assignment}.ipynb has no grade cell {score.cell!r} (graded in"
                f" {score.source}); regenerate the assignment from the current course"
            )
        if not math.isclose(points, score.max_score, rel_tol=1e-6, abs_tol=1e-3):
            raise ExportError(
                f"{url}: cell {score.cell!r} of {score.assignment} is worth {points:g} points but"
                f" {score.source} grades it out of {score.max_score:g}; regenerate the"
                " assignment or regrade with the same course version"
            )


def export_nbgrader(
    *, results: Sequence[ResultFile], db: str, course_id: str = "default_course"
) -> tuple[CellScore, ...]:
    """Write the auto scores of `results` into the gradebook at `db`; returns what was written."""
    url = db_url(db)
    scores = cell_scores(results)
    with Gradebook(url, course_id=course_id) as gb:
        _check_cells(gb, url, scores)
        for student in dict.fromkeys(s.student for s in scores):
            gb.update_or_create_student(student)
        for assignment, student in dict.fromkeys((s.assignment, s.student) for s in scores):
            try:
                gb.find_submission(assignment, student)
            except MissingEntry:
                gb.add_submission(assignment, student)
        for score in scores:
            grade = gb.find_grade(score.cell, score.assignment, score.assignment, score.student)
            fraction = score.score / score.max_score if score.max_score > 0 else 0.0
            grade.auto_score = round(fraction * grade.max_score, 6)
        gb.db.commit()
    return scores
