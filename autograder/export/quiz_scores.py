"""Reading skill-check scores (`DIR/quizzes/<student>.json`, written by `alr quiz score`).

Each file is one student's scored answers; this export needs its totals only:
`student`, `score` and `max_score` (numbers >= 0). Folders without a `quizzes/` subfolder simply
contribute no skill-check column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from autograder.export.gradesheet import QuizTotal
from autograder.export.results import MAX_RESULT_BYTES, check_number
from course.errors import ExportError


def load_quiz_total(path: Path) -> QuizTotal:
    """One student's skill-check total, validated."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            raise ExportError(f"{path}: larger than {MAX_RESULT_BYTES} bytes; not a quiz score")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: not valid JSON ({exc}); rerun 'alr quiz score'") from exc
    if not isinstance(data, dict):
        raise ExportError(f"{path}: expected a JSON object, got {type(data).__name__}")
    student = data.get("student")
    if student != path.stem:
        raise ExportError(
            f"{path}: student: {student!r:.60} does not match the file name {path.name!r};"
            " quiz score files are named <student>.json"
        )
    return QuizTotal(
        student=student,
        score=check_number(path, "score", data.get("score")),
        max_score=check_number(path, "max_score", data.get("max_score")),
        source=path,
    )


def load_quiz_totals(inputs: Sequence[Path]) -> tuple[QuizTotal, ...]:
    """The quiz totals under `<folder>/quizzes/` of every folder in `inputs` (one per student)."""
    totals: dict[str, QuizTotal] = {}
    for folder in (Path(p) for p in inputs):
        quiz_dir = folder / "quizzes"
        if not quiz_dir.is_dir():
            continue
        for path in sorted(quiz_dir.glob("*.json")):
            total = load_quiz_total(path)
            if total.student in totals:
                raise ExportError(
                    f"{path}: skill checks of {total.student!r} are also in"
                    f" {totals[total.student].source}; export one of the folders"
                )
            totals[total.student] = total
    return tuple(totals[s] for s in sorted(totals))
