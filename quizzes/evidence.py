"""Evidence events for the practice queue, read from a results folder.

Sources:
- grading results `RESULTS_DIR/*.json` (Gradescope results.json with `tests[].tags =
  [module, function, diagnosis?]` and `tests[].extra_data.function`): every test with
  max_score > 0 gives one event per concept of its function (`FUNCTION_CONCEPTS`), fraction
  score/max_score, item "exercise:<function>"; a test whose diagnosis names a misconception also
  gives a 0 event for that misconception's concept (`DIAGNOSIS_CONCEPTS`), unless it is the same
  concept. Time: top-level `extra_data.graded_at`, else the test's `extra_data.graded_at`, else
  the result file's modification time (whole seconds, UTC).
- quiz scores `RESULTS_DIR/quizzes/*.json` ("alr-quiz-score/1"): every entry of `history` gives
  one event per concept of its question, item "quiz:<question id>", at `answered_at`.

Files that cannot be read are reported as problems and skipped; nothing else is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from quizzes.concepts import DIAGNOSIS_CONCEPTS, FUNCTION_CONCEPTS
from quizzes.model import QuizCatalog
from quizzes.store import parse_time


class Source(StrEnum):
    EXERCISE = "exercise"
    QUIZ = "quiz"


@dataclass(frozen=True)
class Event:
    """One piece of evidence: `frac` in [0, 1] of `item` answered/passed, about `concept`."""

    time: datetime
    concept: str
    item: str
    source: Source
    frac: float


def _graded_at(doc: dict[str, Any], test: dict[str, Any], fallback: datetime) -> datetime:
    for holder in (doc, test):
        extra = holder.get("extra_data")
        if isinstance(extra, dict) and isinstance(extra.get("graded_at"), str):
            return parse_time(extra["graded_at"])
    return fallback


def _function_of(test: dict[str, Any]) -> str | None:
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    fn = extra.get("function") if extra else None
    tags = test.get("tags")
    if fn is None and isinstance(tags, list) and len(tags) >= 2:
        fn = tags[1]
    return fn if isinstance(fn, str) and fn in FUNCTION_CONCEPTS else None


def _diagnosis_of(test: dict[str, Any]) -> str | None:
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    diag = extra.get("diagnosis") if extra else None
    tags = test.get("tags")
    if diag is None and isinstance(tags, list) and len(tags) >= 3:
        diag = tags[2]
    return diag if isinstance(diag, str) else None


def result_events(doc: dict[str, Any], mtime: datetime) -> list[Event]:
    """Events of one grading result (see the module docstring)."""
    events = []
    for test in doc.get("tests") or []:
        if not isinstance(test, dict):
            continue
        fn = _function_of(test)
        score, max_score = test.get("score"), test.get("max_score")
        if (
            fn is None
            or not isinstance(score, int | float)
            or not isinstance(max_score, int | float)
        ):
            continue
        if max_score <= 0:
            continue
        when = _graded_at(doc, test, mtime)
        frac = min(1.0, max(0.0, float(score) / float(max_score)))
        concepts = FUNCTION_CONCEPTS[fn]
        events += [Event(when, c, f"exercise:{fn}", Source.EXERCISE, frac) for c in concepts]
        wrong = DIAGNOSIS_CONCEPTS.get(_diagnosis_of(test) or "")
        if wrong and wrong not in concepts and frac < 1.0:
            events.append(Event(when, wrong, f"exercise:{fn}", Source.EXERCISE, 0.0))
    return events


def quiz_events(
    doc: dict[str, Any], catalog: QuizCatalog, where: str = ""
) -> tuple[list[Event], list[str]]:
    """Events of one quiz score file's history, and a problem line per entry that is unusable."""
    events, problems = [], []
    history = doc.get("history")
    if not isinstance(history, list):
        return [], [f"{where}: no history list; not a quiz score file (alr quiz score writes them)"]
    for i, h in enumerate(history):
        try:
            question = catalog.question(str(h["question"]))
            if question is None:
                raise ValueError(f"unknown question {h['question']!r}")
            frac = min(1.0, max(0.0, float(h["score"]) / float(h["max_score"])))
            when = parse_time(h["answered_at"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            problems.append(f"{where}: history[{i}]: {exc!r}; skipped")
            continue
        events += [
            Event(when, c, f"quiz:{question.id}", Source.QUIZ, frac) for c in question.concepts
        ]
    return events, problems


def _load_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: cannot read it as JSON ({exc}); skipped")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{path}: expected a JSON object; skipped")
        return None
    return doc


def read_results_dir(
    results: Path, catalog: QuizCatalog
) -> tuple[dict[str, list[Event]], list[str]]:
    """Every student's events (from grading results and quiz scores), and the problems found."""
    by_student: dict[str, list[Event]] = {}
    problems: list[str] = []
    for path in sorted(results.glob("*.json")):
        doc = _load_json(path, problems)
        if doc is None or not isinstance(doc.get("tests"), list):
            if doc is not None:
                problems.append(f"{path}: not a grading result (no tests list); skipped")
            continue
        extra = doc.get("extra_data") if isinstance(doc.get("extra_data"), dict) else {}
        student = str((extra or {}).get("student") or path.stem)
        mtime = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        try:
            by_student.setdefault(student, []).extend(result_events(doc, mtime))
        except ValueError as exc:
            problems.append(f"{path}: {exc}; skipped")
    for path in sorted((results / "quizzes").glob("*.json")):
        doc = _load_json(path, problems)
        if doc is None:
            continue
        student = str(doc.get("student") or path.stem)
        events, quiz_problems = quiz_events(doc, catalog, str(path))
        by_student.setdefault(student, []).extend(events)
        problems += quiz_problems
    return by_student, problems
