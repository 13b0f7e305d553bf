"""The class as the report sees it: the result model (`alr.results`) grouped by student.

A results folder is what `alr grade --out DIR` (and the quiz and queue commands) write:

    DIR/<student>/<module>.json       one graded cell (its feedback page <module>.html beside it)
    DIR/<student>/unscoped-<n>.json   a submission no module could be given: a problem, no grade
    DIR/quizzes/<student>.json        skill-check scores (optional)
    DIR/queues/<student>.json         practice queues (optional)

Result files are read and checked by `alr.results.read_results` only (errors are its
`ResultError`: file, key path, problem). A module a student did not submit is blank: it is left
out of every distribution and total, never counted as 0, and the report lists it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from alr.errors import AlrError
from alr.results import ModuleResult, Results, TestRecord, read_results


class ReportError(AlrError):
    """The class report cannot be written (the message says where, why and what to do)."""


@dataclass(frozen=True)
class StudentRow:
    """One student: their graded modules (course order), their problems, their blank modules."""

    student: str
    results: tuple[ModuleResult, ...]
    unscoped: tuple[ModuleResult, ...] = ()
    blank: tuple[str, ...] = ()

    @property
    def tests(self) -> tuple[TestRecord, ...]:
        return tuple(t for r in self.results for t in r.tests)

    @property
    def score(self) -> float:
        return math.fsum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return math.fsum(r.max_score for r in self.results)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class ClassResults:
    """Every student of a results folder, and the matrix they come from."""

    results: Results
    students: tuple[StudentRow, ...]


def read_class(results_dir: Path) -> ClassResults:
    """The students of `results_dir` (sorted by id), with their blank modules and problems."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReportError(
            f"{results_dir}: not a folder; pass the --out folder of `alr grade` (it holds "
            "<student>/<module>.json per graded submission)"
        )
    results = read_results(results_dir)
    if not results.students:
        raise ReportError(
            f"{results_dir}: no result files (<student>/<module>.json); run `alr grade "
            f"SUBMISSION... --out {results_dir}` first"
        )
    blank: dict[str, list[str]] = {}
    for student, module in results.blanks():
        blank.setdefault(student, []).append(module)
    rows = tuple(
        StudentRow(
            student=s,
            results=results.of(s),
            unscoped=tuple(u for u in results.unscoped if u.student == s),
            blank=tuple(blank.get(s, ())),
        )
        for s in results.students
    )
    return ClassResults(results, rows)
