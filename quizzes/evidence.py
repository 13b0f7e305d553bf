"""Evidence events for the practice queue, read from a results folder.

An `Event` is what the queue works on (tests build them directly); the readers below turn
today's files into events:
- grading results `RESULTS_DIR/<student>/<module>.json` (the result model, `alr.results`): the
  tests of one function (max_score > 0) give one event per concept of the function
  (`FUNCTION_CONCEPTS`) with fraction sum(score)/sum(max_score), item "exercise:<function>",
  naming the misconceptions its failed tests were diagnosed with; a diagnosed misconception whose
  concept the function does not cover also gives a 0 event for that concept. Time: the result's
  `graded_at`, else the file's modification time (whole seconds, UTC). A module a student did not
  submit gives no event (it is blank, not evidence), nor does an unscoped error result.
- quiz scores `RESULTS_DIR/quizzes/*.json` ("alr-quiz-score/1"): every entry of `history` gives
  one event per concept of its question, item "quiz:<question id>", at `answered_at`, naming the
  misconceptions the answer revealed (and a 0 event for a misconception's concept the question
  does not cover). An entry marked practice (a repeated answer) gives `practice` events: they
  tell the queue when the item was practised, and are no evidence.

Files that cannot be read are reported as problems and skipped; nothing else is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from alr.results import ModuleResult, ResultError, read_result, result_files
from quizzes.concepts import FUNCTION_CONCEPTS
from quizzes.misconceptions import MISCONCEPTIONS
from quizzes.model import QuizCatalog
from quizzes.store import parse_time


class Source(StrEnum):
    EXERCISE = "exercise"
    QUIZ = "quiz"


@dataclass(frozen=True)
class Event:
    """One piece of evidence: `frac` in [0, 1] of `item` answered/passed, about `concept`, and
    the misconceptions (ids of `quizzes.misconceptions`) the answer or result revealed. A
    `practice` event (a repeated answer) only says when the item was last practised."""

    time: datetime
    concept: str
    item: str
    source: Source
    frac: float
    misconceptions: tuple[str, ...] = ()
    practice: bool = False  # a repeat answer: when the item was practised, not evidence


def _concept_of(misconception: str) -> str | None:
    found = MISCONCEPTIONS.get(misconception)
    return found.concept if found else None


def result_events(result: ModuleResult, mtime: datetime) -> list[Event]:
    """Events of one graded result (see the module docstring)."""
    when = parse_time(result.graded_at) if result.graded_at else mtime
    totals: dict[str, list[float]] = {}  # function -> [score, max]
    shown: dict[str, set[str]] = {}  # function -> misconceptions
    for test in result.tests:
        if test.function not in FUNCTION_CONCEPTS or test.max_score <= 0:
            continue
        total = totals.setdefault(test.function, [0.0, 0.0])
        total[0] += min(test.max_score, max(0.0, test.score))
        total[1] += test.max_score
        if test.diagnosis and _concept_of(test.diagnosis) and not test.passed:
            shown.setdefault(test.function, set()).add(test.diagnosis)
    events = []
    for fn, (got, out) in totals.items():
        found = tuple(sorted(shown.get(fn, ())))
        item = f"exercise:{fn}"
        events += [
            Event(when, c, item, Source.EXERCISE, got / out, found) for c in FUNCTION_CONCEPTS[fn]
        ]
        events += [
            Event(when, concept, item, Source.EXERCISE, 0.0, (m,))
            for m in found
            if (concept := _concept_of(m)) and concept not in FUNCTION_CONCEPTS[fn]
        ]
    return sorted(events, key=lambda e: (e.time, e.concept, e.item, e.frac))


def _history_events(h: Any, catalog: QuizCatalog) -> list[Event]:
    """The events of one history entry (none for practice); raises on a malformed entry."""
    question = catalog.question(str(h["question"]))
    if question is None:
        raise ValueError(f"unknown question {h['question']!r}")
    frac = min(1.0, max(0.0, float(h["score"]) / float(h["max_score"])))
    when = parse_time(h["answered_at"])
    found = h.get("misconceptions") or []
    if not isinstance(found, list) or not all(isinstance(m, str) for m in found):
        raise ValueError(f"misconceptions: expected a list of ids, got {found!r}")
    item, named = f"quiz:{question.id}", tuple(sorted(m for m in found if _concept_of(m)))
    if h.get("practice") is True:
        return [Event(when, c, item, Source.QUIZ, frac, practice=True) for c in question.concepts]
    events = [Event(when, c, item, Source.QUIZ, frac, named) for c in question.concepts]
    return events + [
        Event(when, concept, item, Source.QUIZ, 0.0, (m,))
        for m in named
        if (concept := _concept_of(m)) and concept not in question.concepts
    ]


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
            events += _history_events(h, catalog)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            problems.append(f"{where}: history[{i}]: {exc!r}; skipped")
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
    for path in result_files(results) if results.is_dir() else ():
        try:
            result = read_result(path)
            mtime = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
            events = result_events(result, mtime) if result.module else []
        except (ResultError, ValueError) as exc:
            problems.append(f"{exc}; skipped")
            continue
        by_student.setdefault(result.student, []).extend(events)
    for path in sorted((results / "quizzes").glob("*.json")):
        doc = _load_json(path, problems)
        if doc is None:
            continue
        student = str(doc.get("student") or path.stem)
        events, quiz_problems = quiz_events(doc, catalog, str(path))
        by_student.setdefault(student, []).extend(events)
        problems += quiz_problems
    return by_student, problems
