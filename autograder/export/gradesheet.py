"""The grade table every export renders: one row per student, one column per item.

Items are the course modules anybody was graded in (in course order), then one skill-check
column when quiz scores are given. It is built from the result model only (`alr.results`):

    cell(s, m) = the result DIR/<s>/<m>.json: score = sum of its tests' scores (full
                 precision), max = sum of their maxima; no result: blank (never 0)

A blank cell is written empty (an LMS reads "no grade") and listed (`GradeSheet.blanks`); a
result that no module could be given (`unscoped-<n>.json`) is a problem, listed and never a
grade. Scores shown to people (feedback text) are rounded to 2 decimals (`alr.results.shown`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alr.contract import MODULE_IDS
from alr.errors import ExportError
from alr.results import ModuleResult, Results, read_results, shown
from autograder.export.identity import Identity, merge_identity
from autograder.export.quiz_scores import QuizTotal, load_quiz_totals
from course.load import load_course

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
class Problem:
    """A submission that earned no grade because no module could be given to it."""

    student: str
    submission: str
    error: str

    def __str__(self) -> str:
        return f"{self.student}: {self.submission or 'a submission'}: {self.error}"


@dataclass(frozen=True)
class GradeSheet:
    columns: tuple[Column, ...]
    rows: Mapping[str, Mapping[str, Cell]]  # student -> column key -> cell (absent: blank)
    students: tuple[str, ...]  # every student: graded, with skill checks, or with problems only
    identities: Mapping[str, Identity] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def cell(self, student: str, key: str) -> Cell | None:
        return self.rows.get(student, {}).get(key)

    def identity(self, student: str) -> Identity:
        return self.identities.get(student, Identity())

    def blanks(self, students: Iterable[str] | None = None) -> tuple[tuple[str, str], ...]:
        """(student, column key) of every cell without a grade (of `students`, default all)."""
        chosen = self.students if students is None else tuple(students)
        return tuple(
            (s, c.key) for s in chosen for c in self.columns if self.cell(s, c.key) is None
        )


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote, what it left blank, and whom it could not place."""

    path: Path
    students: tuple[str, ...]  # students written, in output order
    unmatched: tuple[str, ...] = ()  # graded students the roster does not know: not written
    missing: tuple[str, ...] = ()  # roster entries without results (left untouched)
    blanks: tuple[tuple[str, str], ...] = ()  # (student, column key) written blank
    problems: tuple[Problem, ...] = ()  # submissions that earned no grade


def module_titles() -> dict[str, str]:
    """module id -> assignment name in an LMS, "<id> <section title>" from the course files."""
    return {spec.id: f"{spec.id} {spec.title}" for spec in load_course().modules}


def module_feedback(result: ModuleResult) -> str:
    """One line per module: total, then each function's points and any diagnosed misconception.

    Example: "3.1: 4.5/6. ema 2/2; rmsprop_step 0.5/2 (looks like coupled_l2)."
    """
    parts: list[str] = []
    for function in result.functions():
        tests = [t for t in result.tests if t.function == function]
        score = math.fsum(t.score for t in tests)
        max_score = math.fsum(t.max_score for t in tests)
        diagnoses = sorted({t.diagnosis for t in tests if t.diagnosis})
        hint = f" (looks like {', '.join(diagnoses)})" if diagnoses else ""
        parts.append(f"{function} {shown(score)}/{shown(max_score)}{hint}")
    text = f"{result.module}: {shown(result.score)}/{shown(result.max_score)}."
    if parts:
        text += f" {'; '.join(parts)}."
    if result.error:
        text += f" {result.error}"
    return text


def quiz_feedback(quiz: QuizTotal) -> str:
    return f"{QUIZ_TITLE}: {shown(quiz.score)}/{shown(quiz.max_score)}."


def _common_max(key: str, sources: Sequence[tuple[str, float]]) -> float:
    """The one maximum of a column; different maxima mean different course versions."""
    maxima: dict[float, str] = {}
    for where, value in sources:
        if not any(math.isclose(value, m, rel_tol=1e-9, abs_tol=1e-9) for m in maxima):
            maxima[value] = where
    if len(maxima) > 1:
        listed = ", ".join(f"{shown(m)} in {w}" for m, w in maxima.items())
        raise ExportError(
            f"{key}: students have different maximum scores ({listed}); the results come from"
            " different course versions, regrade them with one version"
        )
    return next(iter(maxima))


def _identities(results: Results) -> dict[str, Identity]:
    fields: dict[str, list[tuple[str, Mapping[str, object]]]] = {}
    for r in results:
        where = str(results.path(r))
        fields.setdefault(r.student, []).append((where, r.identity))
    return {s: merge_identity(s, f) for s, f in fields.items()}


def grade_sheet(
    results: Results,
    quizzes: Iterable[QuizTotal] = (),
    *,
    titles: Mapping[str, str] | None = None,
    only: Collection[str] | None = None,
) -> GradeSheet:
    """The grade table of `results` (and skill-check totals), checked for consistent maxima.

    `titles` (module id -> assignment name) defaults to the course's (`module_titles`); `only`
    keeps just these columns (module ids and/or QUIZ_KEY).
    """
    quizzes = tuple(quizzes)
    if not results.cells and not results.unscoped and not quizzes:
        raise ExportError(
            f"{results.root}: no results (<student>/<module>.json) and no quiz scores; run "
            f"`alr grade SUBMISSION... --out {results.root}` first"
        )
    if only is not None:
        unknown = sorted(set(only) - {*MODULE_IDS, QUIZ_KEY})
        if unknown:
            raise ExportError(f"--only {', '.join(unknown)}: expected module ids or {QUIZ_KEY!r}")
    keep = (lambda key: True) if only is None else (lambda key: key in only)
    rows: dict[str, dict[str, Cell]] = {}
    sources: dict[str, list[tuple[str, float]]] = {}
    for (student, module), result in results.cells.items():
        if keep(module):
            rows.setdefault(student, {})[module] = Cell(
                result.score, result.max_score, module_feedback(result)
            )
        where = str(results.path(result))
        sources.setdefault(module, []).append((where, result.max_score))
    quiz_students = []
    for quiz in quizzes:
        quiz_students.append(quiz.student)
        if keep(QUIZ_KEY):
            rows.setdefault(quiz.student, {})[QUIZ_KEY] = Cell(
                quiz.score, quiz.max_score, quiz_feedback(quiz)
            )
        sources.setdefault(QUIZ_KEY, []).append((str(quiz.source), quiz.max_score))
    names = titles if titles is not None else module_titles()
    columns = [
        Column(m, names.get(m, f"Module {m}"), _common_max(f"module {m}", sources[m]))
        for m in MODULE_IDS
        if m in sources and keep(m)
    ]
    if QUIZ_KEY in sources and keep(QUIZ_KEY):
        columns.append(Column(QUIZ_KEY, QUIZ_TITLE, _common_max(QUIZ_TITLE, sources[QUIZ_KEY])))
    if only is not None and not columns:
        raise ExportError(f"--only {', '.join(sorted(only))}: nobody was graded in these columns")
    problems = tuple(Problem(r.student, r.submission, r.error or "") for r in results.unscoped)
    return GradeSheet(
        columns=tuple(columns),
        rows=rows,
        students=tuple(sorted({*results.students, *quiz_students})),
        identities=_identities(results),
        problems=problems,
    )


def read_sheet(
    roots: Sequence[Path],
    *,
    only: Collection[str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> GradeSheet:
    """The grade table of one or more results folders (`alr grade --out`), with the skill-check
    totals of their `quizzes/` folders."""
    results = read_results([Path(r) for r in roots])
    return grade_sheet(results, load_quiz_totals(roots), titles=titles, only=only)


def require_roster(unmatched: Sequence[str], what: str, *, strict: bool) -> None:
    """With `strict`, graded students the roster does not know are an error (nothing written)."""
    if strict and unmatched:
        raise ExportError(
            f"{len(unmatched)} graded student(s) have no {what}: {', '.join(unmatched)}; nothing "
            "was written (add them to the roster, or leave out --strict to export the others)"
        )


def column_title(sheet: GradeSheet, key: str) -> str:
    return next((c.title for c in sheet.columns if c.key == key), key)
