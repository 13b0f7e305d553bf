"""Skill-check scores: `DIR/quizzes/<student>.json` (schema "alr-quiz-score/1", `alr quiz score`).

This export reads each file's `student` and `skill_checks` ({module: {score, max_score,
answered}}); practice-bank answers do not count towards grades. The skill-check column is out of
the full skill checks of every module anyone answered, so a question left unanswered counts 0:

    score(student) = sum over modules of skill_checks[m].score
    max            = sum over modules answered by anyone of the points of m's skill check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alr.contract import MODULE_IDS
from alr.errors import ExportError
from autograder.export.gradesheet import QuizTotal
from autograder.export.results import MAX_RESULT_BYTES, check_number, total

SCHEMA = "alr-quiz-score/1"


def _read(path: Path) -> Mapping[str, Any]:
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            raise ExportError(f"{path}: larger than {MAX_RESULT_BYTES} bytes; not a quiz score")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: not valid JSON ({exc}); rerun 'alr quiz score'") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ExportError(
            f"{path}: not a quiz score file (schema {SCHEMA!r}); rerun 'alr quiz score'"
        )
    return data


def read_skill_checks(path: Path) -> tuple[str, dict[str, float]]:
    """(student, module -> skill-check score) of one quiz score file, validated."""
    path = Path(path)
    data = _read(path)
    student = data.get("student")
    if student != path.stem:
        raise ExportError(
            f"{path}: student: {student!r:.60} does not match the file name {path.name!r};"
            " quiz score files are named <student>.json"
        )
    checks = data.get("skill_checks")
    if not isinstance(checks, dict):
        raise ExportError(f"{path}: skill_checks: expected an object, got {type(checks).__name__}")
    scores: dict[str, float] = {}
    for module, entry in checks.items():
        if module not in MODULE_IDS:
            raise ExportError(f"{path}: skill_checks: unknown module {module!r:.40}")
        if not isinstance(entry, dict):
            raise ExportError(f"{path}: skill_checks.{module}: expected an object")
        scores[module] = check_number(path, f"skill_checks.{module}.score", entry.get("score"))
    return student, scores


def skill_check_points() -> dict[str, float]:
    """module -> total points of its four-question skill check, from the quiz files."""
    from quizzes.bank import load_quizzes

    return {m.module: math.fsum(q.points for q in m.skill_check) for m in load_quizzes().modules}


def load_quiz_totals(
    inputs: Sequence[Path], points: Mapping[str, float] | None = None
) -> tuple[QuizTotal, ...]:
    """Skill-check totals from `<folder>/quizzes/*.json` of every folder in `inputs`."""
    found: dict[str, tuple[Path, dict[str, float]]] = {}
    for folder in (Path(p) for p in inputs):
        quiz_dir = folder / "quizzes"
        for path in sorted(quiz_dir.glob("*.json")) if quiz_dir.is_dir() else ():
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
    max_score = total(points[m] for m in modules)
    return tuple(
        QuizTotal(student, total(scores.values()), max_score, path)
        for student, (path, scores) in sorted(found.items())
    )
