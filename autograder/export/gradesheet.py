"""The grade table every spreadsheet export renders: one row per student, one column per item.

Items are the course modules present in the results (in course order), then one skill-check
column when quiz scores are given. A cell holds a score and a short feedback text; a student
without a grade for an item has no cell there (rendered blank: "not graded", never zero).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from alr.contract import MODULE_IDS
from alr.errors import ExportError
from autograder.export.results import ModuleGrade, ResultFile, module_grades

QUIZ_KEY = "skill-checks"
QUIZ_TITLE = "Skill checks"


@dataclass(frozen=True)
class Column:
    key: str  # a module id, or QUIZ_KEY
    title: str
    max_score: float


@dataclass(frozen=True)
class Cell:
    score: float
    max_score: float
    feedback: str


@dataclass(frozen=True)
class QuizTotal:
    """A student's skill-check total over the quiz score files given."""

    student: str
    score: float
    max_score: float
    source: Path


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and which students it could not place."""

    path: Path
    students: tuple[str, ...]  # result students written, in output order
    unmatched: tuple[str, ...]  # result students with no roster row: not written
    missing: tuple[str, ...] = ()  # roster students with no result (left untouched)


@dataclass(frozen=True)
class GradeSheet:
    columns: tuple[Column, ...]
    rows: Mapping[str, Mapping[str, Cell]]  # student -> column key -> cell

    @property
    def students(self) -> tuple[str, ...]:
        return tuple(sorted(self.rows))


def module_titles() -> dict[str, str]:
    """module id -> assignment name in an LMS, "<id> <section title>" from the course files."""
    from course.load import load_course

    return {spec.id: f"{spec.id} {spec.title}" for spec in load_course().modules}


def module_feedback(grade: ModuleGrade) -> str:
    """One line per module: total, then each function's points and any diagnosed misconception.

    Example: "3.1: 4.5/6. ema 2/2; rmsprop_step 0.5/2 (looks like coupled_l2)."
    """
    parts: list[str] = []
    functions = dict.fromkeys(t.function for t in grade.tests)
    for function in functions:
        tests = [t for t in grade.tests if t.function == function]
        score = math.fsum(t.score for t in tests)
        max_score = math.fsum(t.max_score for t in tests)
        diagnoses = sorted({t.diagnosis for t in tests if t.diagnosis})
        hint = f" (looks like {', '.join(diagnoses)})" if diagnoses else ""
        parts.append(f"{function} {_short(score)}/{_short(max_score)}{hint}")
    total = f"{grade.module}: {_short(grade.score)}/{_short(grade.max_score)}"
    return f"{total}. {'; '.join(parts)}."


def _short(value: float) -> str:
    return f"{round(value, 4):g}"


def _max_of(key: str, cells: Iterable[tuple[Path, Cell]]) -> float:
    maxima: dict[float, Path] = {}
    for source, cell in cells:
        maxima.setdefault(cell.max_score, source)
    if len(maxima) > 1:
        shown = ", ".join(f"{_short(m)} in {p}" for m, p in maxima.items())
        raise ExportError(
            f"{key}: students have different maximum scores ({shown}); the results come from"
            " different course versions, regrade them with one version"
        )
    return next(iter(maxima))


def grade_sheet(
    results: Iterable[ResultFile],
    quizzes: Iterable[QuizTotal] = (),
    *,
    titles: Mapping[str, str] | None = None,
    only: Collection[str] | None = None,
) -> GradeSheet:
    """The grade table of `results` (and skill-check totals), checked for consistent maxima.

    `titles` (module id -> assignment name) defaults to the course's (`module_titles`); `only`
    keeps just these columns (module ids and/or QUIZ_KEY), and the students graded in them.
    """
    grades = module_grades(results)
    rows: dict[str, dict[str, Cell]] = {}
    sources: dict[str, list[tuple[Path, Cell]]] = {}
    for student, per_module in grades.items():
        for module, grade in per_module.items():
            cell = Cell(grade.score, grade.max_score, module_feedback(grade))
            rows.setdefault(student, {})[module] = cell
            sources.setdefault(module, []).append((grade.source, cell))
    for quiz in quizzes:
        feedback = f"Skill checks: {_short(quiz.score)}/{_short(quiz.max_score)}."
        cell = Cell(quiz.score, quiz.max_score, feedback)
        rows.setdefault(quiz.student, {})[QUIZ_KEY] = cell
        sources.setdefault(QUIZ_KEY, []).append((quiz.source, cell))
    if titles is None:
        titles = module_titles()
    columns = [
        Column(m, titles.get(m, f"Module {m}"), _max_of(f"module {m}", sources[m]))
        for m in MODULE_IDS
        if m in sources
    ]
    if QUIZ_KEY in sources:
        columns.append(Column(QUIZ_KEY, QUIZ_TITLE, _max_of(QUIZ_TITLE, sources[QUIZ_KEY])))
    if only is not None:
        unknown = sorted(set(only) - {*MODULE_IDS, QUIZ_KEY})
        if unknown:
            raise ExportError(f"columns {unknown}: expected module ids or {QUIZ_KEY!r}")
        columns = [c for c in columns if c.key in only]
        kept = {s: {k: c for k, c in cells.items() if k in only} for s, cells in rows.items()}
        rows = {s: cells for s, cells in kept.items() if cells}
    return GradeSheet(tuple(columns), rows)


def blank_cells(sheet: GradeSheet) -> int:
    """How many (student, column) cells have no grade (written blank)."""
    return sum(c.key not in sheet.rows[s] for s in sheet.rows for c in sheet.columns)
