"""The quiz and queue jobs as keyword-only functions (the CLI is a thin view of these).

alr quiz take 3.1     questions_to_take + record_answer  -> alr-answers/<student>.jsonl
alr quiz sync R       sync(store=, results=)             -> R/answers/<student>.jsonl
alr quiz score A...   score_answers(answers=, out=)      -> OUT/quizzes/<student>.json
alr queue R           write_queues(results=, out=, now=) -> OUT/queues/<student>.json
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alr.errors import AlrError
from alr.fileio import write_atomic
from quizzes.bank import load_quizzes
from quizzes.evidence import read_results_dir
from quizzes.model import Question, QuizCatalog
from quizzes.queue import build_queue, queue_json
from quizzes.scoring import QuestionResult, score_document, score_records, score_response
from quizzes.scoring import write_score_file as _write_score_file
from quizzes.store import (
    AnswerRecord,
    SyncReport,
    append_answers,
    check_student,
    format_time,
    read_answer_file,
    sync_answers,
)


def questions_to_take(
    catalog: QuizCatalog,
    module: str,
    *,
    bank: bool = False,
    count: int | None = None,
    rng: random.Random | None = None,
) -> list[tuple[Question, int | None]]:
    """The questions of a sitting with the seed of each generated one (None for the others).

    The skill check is its four questions in slot order; a bank sitting takes `count` questions
    (default all) in a shuffled order.
    """
    try:
        quiz = catalog.module(module)
    except KeyError:
        ids = [m.module for m in catalog.modules]
        raise AlrError(f"no quiz for module {module!r}; modules: {', '.join(ids)}") from None
    rng = rng or random.Random()
    chosen = list(quiz.bank if bank else quiz.skill_check)
    if bank:
        rng.shuffle(chosen)
        chosen = chosen[: count or len(chosen)]
    return [(q, rng.randrange(1_000_000) if q.generator else None) for q in chosen]


@dataclass(frozen=True)
class Recorded:
    """A stored answer's result, which answer to the question it was, and whether it is practice
    (the question, or this instance of a generated one, was answered before: the first answer is
    the one that counts)."""

    result: QuestionResult
    attempt: int
    practice: bool


def record_answer(
    *,
    store: Path,
    student: str,
    question: Question,
    response: Any,
    seed: int | None,
    source: str = "terminal",
    now: datetime | None = None,
    labels: Mapping[str, str] | None = None,
) -> Recorded:
    """Score one response (raises scoring.InvalidResponse if it does not fit), store it, and say
    whether it counts. `labels` names options as the student saw them (for the feedback)."""
    result = score_response(question, response, seed, labels)
    record = AnswerRecord(
        event_id=uuid.uuid4().hex,
        student=check_student(student),
        module=question.module,
        question=question.id,
        response=response,
        answered_at=format_time(now or datetime.now(UTC)),
        source=source,
        seed=seed,
    )
    path = store / f"{record.student}.jsonl"
    before = read_answer_file(path)[0] if path.exists() else []
    earlier = [r for r in before if r.question == question.id]
    append_answers(store, [record])
    instance = seed if question.generator else None
    practice = any((r.seed if question.generator else None) == instance for r in earlier)
    return Recorded(result, len(earlier) + 1, practice)


def sync(*, store: Path, results: Path) -> list[SyncReport]:
    """Copy every local answer to `results/answers/` without duplicates (see quizzes.store)."""
    return sync_answers(store, results)


@dataclass(frozen=True)
class Written:
    """What a job wrote, and the problems it skipped over (it never stops at the first)."""

    paths: tuple[Path, ...]
    problems: tuple[str, ...]


def _answer_paths(answers: Sequence[Path]) -> tuple[list[Path], list[str]]:
    paths, problems = [], []
    for p in answers:
        if p.is_dir():
            found = sorted(p.glob("*.jsonl"))
            if not found:
                problems.append(f"{p}: no .jsonl answer files in this folder")
            paths += found
        elif p.exists():
            paths.append(p)
        else:
            problems.append(f"{p}: no such answer file")
    return paths, problems


def score_answers(
    *, answers: Sequence[Path], out: Path, catalog: QuizCatalog | None = None
) -> Written:
    """Score answer files (or folders of them) into `out/quizzes/<student>.json`."""
    catalog = catalog or load_quizzes()
    paths, problems = _answer_paths(answers)
    by_student: dict[str, list[AnswerRecord]] = {}
    for path in paths:
        records, file_problems = read_answer_file(path)
        problems += file_problems
        for r in records:
            by_student.setdefault(r.student, []).append(r)
    written = []
    for student, records in sorted(by_student.items()):
        unique = list({r.event_id: r for r in records}.values())
        scored, record_problems = score_records(unique, catalog)
        problems += record_problems
        written.append(_write_score_file(out, score_document(student, scored, record_problems)))
    if not written:
        raise AlrError("no valid answers to score: " + ("; ".join(problems) or "no files given"))
    return Written(tuple(written), tuple(problems))


def write_queues(
    *,
    results: Path,
    out: Path | None = None,
    now: datetime | None = None,
    catalog: QuizCatalog | None = None,
) -> tuple[Written, datetime]:
    """Write `out/queues/<student>.json` (out defaults to results) for every student found.

    `now` defaults to the latest event time in the inputs, so equal inputs give equal bytes.
    """
    if not results.is_dir():
        raise AlrError(f"{results}: not a folder; pass the folder `alr grade --out` wrote")
    catalog = catalog or load_quizzes()
    by_student, problems = read_results_dir(results, catalog)
    times = [e.time for events in by_student.values() for e in events]
    if not times:
        raise AlrError(
            f"{results}: no grading results or quiz scores with usable tests "
            "or answers; run `alr grade` / `alr quiz score` first"
        )
    now = now or max(times)
    written = []
    for student, events in sorted(by_student.items()):
        try:
            check_student(student)
        except AlrError as exc:
            problems.append(f"{exc}; no queue written for it")
            continue
        path = (out or results) / "queues" / f"{student}.json"
        write_atomic(path, queue_json(build_queue(student, events, catalog, now)), durable=False)
        written.append(path)
    return Written(tuple(written), tuple(problems)), now
