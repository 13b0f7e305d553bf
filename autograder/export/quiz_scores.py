"""Skill-check totals from the quizzes package's score files (`DIR/quizzes/<student>.json`).

A score file (schema "alr-quiz-score/1", written by `alr quiz score`, format in
`quizzes.scoring`) holds, among others, `student` and `skill_checks` ({module: {score,
max_score, answered}}); practice-bank answers do not count towards grades. The skill-check
column is out of the full skill checks of every module anyone answered, so a question left
unanswered counts 0 (a student without a score file is blank):

    score(student) = sum over modules of skill_checks[m].score
    max            = sum over modules answered by anyone of the points of m's skill check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alr.contract import MODULE_IDS
from alr.errors import ExportError
from alr.results import read_json
from quizzes.bank import load_quizzes
from quizzes.scoring import SCHEMA


@dataclass(frozen=True)
class QuizTotal:
    """A student's skill-check total over the quiz score files given."""

    student: str
    score: float
    max_score: float
    source: Path


def _fail(path: Path, where: str, problem: str) -> ExportError:
    return ExportError(f"{path}: {where}: {problem}; rerun `alr quiz score`")


def _score(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, where, f"expected a number, got {value!r:.40}")
    if not math.isfinite(value) or value < 0:
        raise _fail(path, where, f"expected a finite number >= 0, got {value!r}")
    return float(value)


def read_skill_checks(path: Path) -> tuple[str, dict[str, float]]:
    """(student, module -> skill-check score) of one quiz score file, validated."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ExportError(
            f"{path}: not a quiz score file (schema {SCHEMA!r}); rerun `alr quiz score`"
        )
    student = data.get("student")
    if student != path.stem:
        raise _fail(
            path,
            "student",
            f"{student!r:.60} does not match the file name {path.name!r} (files are named "
            "<student>.json)",
        )
    checks = data.get("skill_checks")
    if not isinstance(checks, dict):
        raise _fail(path, "skill_checks", f"expected an object, got {type(checks).__name__}")
    scores: dict[str, float] = {}
    for module, entry in checks.items():
        if module not in MODULE_IDS:
            raise _fail(path, "skill_checks", f"unknown module {module!r:.40}")
        if not isinstance(entry, dict):
            raise _fail(path, f"skill_checks.{module}", "expected an object")
        scores[module] = _score(path, f"skill_checks.{module}.score", entry.get("score"))
    return student, scores


def skill_check_points() -> dict[str, float]:
    """module -> total points of its four-question skill check, from the quiz files."""
    return {m.module: math.fsum(q.points for q in m.skill_check) for m in load_quizzes().modules}


def load_quiz_totals(
    inputs: Sequence[Path], points: Mapping[str, float] | None = None
) -> tuple[QuizTotal, ...]:
    """Skill-check totals from `<folder>/quizzes/*.json` of every folder in `inputs`."""
    found: dict[str, tuple[Path, dict[str, float]]] = {}
    for folder in (Path(p) for p in inputs):
        quiz_dir = folder / "quizzes"
        paths = sorted(quiz_dir.glob("*.json")) if quiz_dir.is_dir() else []
        for path in (p for p in paths if not p.name.startswith(".")):
            student, scores = read_skill_checks(path)
            if student in found:
                raise ExportError(
                    f"{path}: skill checks of {student!r} are also in {found[student][0]};"
                    " export one of the folders"
                )
            found[student] = (path, scores)
    if not found:
        return ()
    points = skill_check_points() if points is None else points
    modules = sorted({m for _, scores in found.values() for m in scores})
    missing = [m for m in modules if m not in points]
    if missing:
        raise ExportError(f"skill checks answered for module(s) {missing} that have no quiz file")
    max_score = math.fsum(points[m] for m in modules)
    return tuple(
        QuizTotal(student, math.fsum(scores.values()), max_score, path)
        for student, (path, scores) in sorted(found.items())
    )
