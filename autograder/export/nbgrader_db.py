"""Grades into nbgrader's own gradebook, so `nbgrader export` and formgrader show them.

The nbgrader course names follow the build: module 3.1 is assignment `module-3-1` with notebook
`module-3-1`, and graded function f has the autograder test cell `test_<f>`. For every graded
(student, module) cell of the results:

    auto_score(test_<f>) = points(test_<f>) * (sum of f's test scores) / (sum of their maxima)

at full precision, written through `nbgrader.api.Gradebook` (students and submissions are
created when missing). A module a student did not submit gets no submission (blank; an existing
one is left as it is). Skill-check totals go to an assignment `skill-checks` (notebook
`skill-checks`, one grade cell `skill_checks` worth the skill-check column's maximum), which this
export creates since the course has no notebook for it. Everything is checked before anything is
written: each module's assignment, notebook and test cells must exist (created by `nbgrader
generate_assignment`) and each cell's points must equal the function's maximum in the results
(to POINTS_TOLERANCE).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from alr.errors import ExportError
from alr.results import Results
from autograder.export.gradesheet import ExportReport, grade_sheet
from autograder.export.quiz_scores import QuizTotal

QUIZ_ASSIGNMENT = "skill-checks"
#: A cell's points and the function's maximum in the results agree to this: a grader that writes
#: each test's points to 6 decimals (2/12 as 0.166667) sums a function's maximum to within 1e-5.
POINTS_TOLERANCE = 1e-3
QUIZ_CELL = "skill_checks"


@dataclass(frozen=True)
class CellScore:
    student: str
    assignment: str  # also the notebook name
    cell: str
    score: float
    max_score: float
    source: str


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


def cell_scores(results: Results) -> tuple[CellScore, ...]:
    """The score of every test cell the results grade (blank cells have none)."""
    scores = []
    for r in results:
        if r.module is None:
            continue
        for function in r.functions():
            tests = [t for t in r.tests if t.function == function]
            scores.append(
                CellScore(
                    student=r.student,
                    assignment=nbgrader_name(r.module),
                    cell=f"test_{function}",
                    score=math.fsum(t.score for t in tests),
                    max_score=math.fsum(t.max_score for t in tests),
                    source=str(results.path(r)),
                )
            )
    return tuple(scores)


def quiz_scores(quizzes: Iterable[QuizTotal]) -> tuple[CellScore, ...]:
    """The skill-check totals as scores of the `skill-checks` assignment's one grade cell."""
    return tuple(
        CellScore(q.student, QUIZ_ASSIGNMENT, QUIZ_CELL, q.score, q.max_score, str(q.source))
        for q in quizzes
    )


def _grade_cells(gb: Gradebook, url: str, assignment: str) -> dict[str, float]:
    try:
        found = gb.find_assignment(assignment)
    except MissingEntry:
        raise ExportError(
            f"{url}: assignment {assignment!r} is not in the gradebook; run"
            f" 'nbgrader generate_assignment {assignment}' first"
        ) from None
    notebooks = {nb.name: nb for nb in found.notebooks}
    if assignment not in notebooks:
        raise ExportError(
            f"{url}: assignment {assignment!r} has no notebook"
            f" {assignment + '.ipynb'!r} (it has {sorted(notebooks)})"
        )
    return {c.name: c.max_score for c in notebooks[assignment].grade_cells}


def _check_cells(gb: Gradebook, url: str, scores: Sequence[CellScore]) -> None:
    cells: dict[str, dict[str, float]] = {}
    for score in scores:
        if score.assignment not in cells:
            cells[score.assignment] = _grade_cells(gb, url, score.assignment)
        points = cells[score.assignment].get(score.cell)
        if points is None:
            raise ExportError(
                f"{url}: {score.assignment}.ipynb has no grade cell {score.cell!r} (graded in"
                f" {score.source}); regenerate the assignment from the current course"
            )
        if not math.isclose(points, score.max_score, rel_tol=1e-6, abs_tol=POINTS_TOLERANCE):
            raise ExportError(
                f"{url}: cell {score.cell!r} of {score.assignment} is worth {points:g} points but"
                f" {score.source} grades it out of {score.max_score:.6g}; regenerate the"
                " assignment or regrade with the same course version"
            )


def _quiz_assignment(gb: Gradebook, scores: Sequence[CellScore]) -> None:
    """Create (or update) the skill-check assignment, notebook and grade cell."""
    if not scores:
        return
    gb.update_or_create_assignment(QUIZ_ASSIGNMENT)
    gb.update_or_create_notebook(QUIZ_ASSIGNMENT, QUIZ_ASSIGNMENT)
    gb.update_or_create_grade_cell(
        QUIZ_CELL,
        QUIZ_ASSIGNMENT,
        QUIZ_ASSIGNMENT,
        max_score=scores[0].max_score,
        cell_type="markdown",
    )


def _ensure_submissions(gb: Gradebook, scores: Sequence[CellScore]) -> None:
    for student in dict.fromkeys(s.student for s in scores):
        gb.update_or_create_student(student)
    for assignment, student in dict.fromkeys((s.assignment, s.student) for s in scores):
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            # nbgrader builds the submission's notebooks and grades before adding it to the
            # session; an autoflush in between (a lazy load) would flush the half-built object
            # and make SQLAlchemy warn "not in session, add operation ... will not proceed".
            with gb.db.no_autoflush:
                gb.add_submission(assignment, student)


def _points(score: CellScore, points: float) -> float:
    """The cell's auto score: the result's score, scaled when the cell is worth other points."""
    if points == score.max_score:
        return score.score
    return score.score / score.max_score * points if score.max_score > 0 else 0.0


def export_nbgrader(
    *,
    results: Results,
    quizzes: Sequence[QuizTotal] = (),
    db: str,
    course_id: str = "default_course",
) -> tuple[tuple[CellScore, ...], ExportReport]:
    """Write the scores of `results` (and skill-check totals) into the gradebook at `db`;
    returns the cell scores written and the report (blank cells, problems)."""
    url = db_url(db)
    sheet = grade_sheet(results, quizzes, titles={})  # checks the maxima agree
    scores = cell_scores(results)
    quiz = quiz_scores(quizzes)
    with Gradebook(url, course_id=course_id) as gb:
        _check_cells(gb, url, scores)
        _quiz_assignment(gb, quiz)
        _ensure_submissions(gb, scores + quiz)
        for score in scores + quiz:
            grade = gb.find_grade(score.cell, score.assignment, score.assignment, score.student)
            grade.auto_score = _points(score, grade.max_score)
        gb.db.commit()
    report = ExportReport(
        path=Path(url.removeprefix("sqlite:///")),
        students=tuple(dict.fromkeys(s.student for s in scores + quiz)),
        blanks=sheet.blanks(),
        problems=sheet.problems,
    )
    return scores + quiz, report
