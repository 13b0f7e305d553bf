"""Scoring answers, and the score file `DIR/quizzes/<student>.json` (schema "alr-quiz-score/1").

Skill checks are formative, and only a student's first answer to a question is taken as what
they knew: the score and the queue use it, and later answers are practice (the student may have
seen the feedback). A generated question's answer to a new instance (another seed, new numbers)
is a fresh try the queue counts as evidence, but the score still uses the first answer.

    {"schema": "alr-quiz-score/1", "student": "alice", "modules": ["3.1", "4.1"],
     "questions": [            # each question's FIRST answer, sorted by id
       {"id": "3.1.check.term", "module": "3.1", "kind": "single_choice", "slot": "term",
        "score": 1.0, "max_score": 1.0, "correct": true, "feedback": "Right: ...",
        "misconceptions": [], "concepts": ["coupled_l2"], "answered_at": "2026-03-02T10:15:00Z",
        "attempts": 2}],
     "history": [              # every valid answer in time order (the queue reads this)
       {"event_id": "...", "question": "3.1.check.term", "score": 0.0, "max_score": 1.0,
        "answered_at": "...", "attempt": 1, "practice": false,
        "misconceptions": ["decoupled_instead_of_coupled"]}],
     "concepts": {"coupled_l2": {"score": 1.0, "max_score": 1.0}},   # over `questions`
     "skill_checks": {"3.1": {"score": 3.0, "max_score": 4.0, "answered": 4}},
     "totals": {"score": 4.0, "max_score": 5.0, "answered": 5},
     "problems": ["answers/alice.jsonl: line 7: unknown question '3.1.bank.nope'; skipped"]}

`attempt` counts the student's answers to the question so far; `practice` is true for an answer
to a question (or generated instance) already answered before. `misconceptions` names what a
wrong answer reveals: the chosen wrong options' ids, or for a generated question the mistake
whose value the answer matches.

A multiple-answer question scores points x the fraction of its `PartialCredit` rule; a numeric
answer is right within the question's tolerance; a generated numeric answer is checked against
`question.instantiate(seed)` with the seed stored in the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alr.fileio import write_atomic
from quizzes.misconceptions import MISCONCEPTIONS
from quizzes.model import PartialCredit, Question, QuestionKind, QuizCatalog
from quizzes.store import AnswerRecord, format_time

SCHEMA = "alr-quiz-score/1"


@dataclass(frozen=True)
class QuestionResult:
    """The score of one answer, the feedback shown to the learner, and the misconceptions the
    answer reveals."""

    score: float
    max_score: float
    correct: bool
    feedback: str
    misconceptions: tuple[str, ...] = ()


def multiple_answer_fraction(
    rule: PartialCredit, picked: set[str], correct: set[str], options: set[str]
) -> float:
    """Credit in [0, 1] for a picked set; formulas in `PartialCredit`'s docstring."""
    t, f, c = len(picked & correct), len(picked - correct), len(correct)
    if rule is PartialCredit.OFF:
        return 1.0 if picked == correct else 0.0
    if rule is PartialCredit.NET_CORRECT:
        return max(0.0, (t - f) / c)
    if rule is PartialCredit.COVERAGE:
        return (t / c) * (t / (t + f)) if picked else 0.0
    right = sum((o in picked) == (o in correct) for o in options)
    return right / len(options)


class InvalidResponse(ValueError):
    """The response does not fit the question (wrong type, unknown option, missing seed)."""


def _choices(question: Question, response: Any) -> set[str]:
    picked = {response} if isinstance(response, str) else set(response)
    unknown = sorted(picked - set(question.option_ids))
    if unknown:
        raise InvalidResponse(f"options {unknown} are not among {list(question.option_ids)}")
    return picked


def score_response(
    question: Question,
    response: Any,
    seed: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> QuestionResult:
    """Score one response; raises InvalidResponse when it cannot be an answer to `question`.

    `labels` maps option ids to the letters the student saw (their own order of the options),
    so that the feedback names options the way they were shown.
    """
    pts = question.points
    if question.kind is QuestionKind.SINGLE_CHOICE:
        if not isinstance(response, str):
            raise InvalidResponse(f"expected one option id, got {response!r}")
        option = question.option(response)
        if option is None:
            raise InvalidResponse(f"{response!r} is not among {list(question.option_ids)}")
        found = (option.misconception,) if option.misconception else ()
        return QuestionResult(
            pts if option.correct else 0.0, pts, option.correct, option.explanation, found
        )
    if question.kind is QuestionKind.MULTIPLE_ANSWER:
        return _multiple_answer(question, response, labels or {})
    if isinstance(response, bool) or not isinstance(response, int | float):
        raise InvalidResponse(f"expected a number, got {response!r}")
    if question.kind is QuestionKind.GENERATED_NUMERIC and seed is None:
        raise InvalidResponse("a generated question's answer needs the seed it was answered for")
    instance = question.instantiate(seed or 0)
    ok = question.tolerance.accepts(float(response), instance.answer)
    mistake = None if ok else question.misconception_of(float(response), seed or 0)
    verdict = "Right." if ok else f"Not quite: the answer is {instance.answer:.6g}."
    if mistake:
        verdict += f" Your {float(response):.6g} is what you get if {_did(mistake)}"
    found = (mistake,) if mistake else ()
    return QuestionResult(pts if ok else 0.0, pts, ok, f"{verdict} {question.explanation}", found)


def _did(misconception: str) -> str:
    """'you ...' from the misconception's words ("Your update uses m" -> "your update uses m")."""
    did = MISCONCEPTIONS[misconception].did
    return did[0].lower() + did[1:] if did else misconception


def _multiple_answer(
    question: Question, response: Any, labels: Mapping[str, str]
) -> QuestionResult:
    if not isinstance(response, str | list):
        raise InvalidResponse(f"expected a list of option ids, got {response!r}")
    picked, correct = _choices(question, response), set(question.correct_ids)
    frac = multiple_answer_fraction(
        question.partial_credit, picked, correct, set(question.option_ids)
    )
    notes = [
        f"{labels.get(o.id, o.id)}: {o.explanation}" for o in question.options if o.id in picked
    ]
    missed = sorted(labels.get(o, o) for o in correct - picked)
    if missed:
        notes.append(f"also correct: {', '.join(missed)}")
    rule = f"({question.partial_credit.value} partial credit: {frac:.2f})"
    found = tuple(
        sorted({o.misconception for o in question.options if o.id in picked and o.misconception})
    )
    pts = question.points
    return QuestionResult(round(pts * frac, 6), pts, frac == 1.0, " ".join([rule, *notes]), found)


@dataclass(frozen=True)
class ScoredAnswer:
    record: AnswerRecord
    question: Question
    result: QuestionResult


def score_records(
    records: Iterable[AnswerRecord], catalog: QuizCatalog
) -> tuple[list[ScoredAnswer], list[str]]:
    """Score every record that fits its question; one problem line for each that does not."""
    scored, problems = [], []
    for r in records:
        question = catalog.question(r.question)
        if question is None:
            problems.append(
                f"{r.student}: event {r.event_id}: unknown question {r.question!r}; "
                "skipped (check the module's quiz file for the current ids)"
            )
            continue
        if r.module != question.module:
            problems.append(
                f"{r.student}: event {r.event_id}: module {r.module!r} does not match question "
                f"{r.question!r} (module {question.module}); refused"
            )
            continue
        try:
            scored.append(ScoredAnswer(r, question, score_response(question, r.response, r.seed)))
        except InvalidResponse as exc:
            problems.append(f"{r.student}: event {r.event_id}: {r.question}: {exc}; skipped")
    # stable: answers given in the same second keep the order they were written in
    scored.sort(key=lambda s: s.record.time)
    return scored, problems


def _add(totals: dict[str, dict[str, float]], key: str, score: float, max_score: float) -> None:
    entry = totals.setdefault(key, {"score": 0.0, "max_score": 0.0})
    entry["score"] = round(entry["score"] + score, 6)
    entry["max_score"] = round(entry["max_score"] + max_score, 6)


def _attempts(scored: list[ScoredAnswer]) -> list[tuple[int, bool]]:
    """(attempt number, practice?) of each time-ordered answer (see the module docstring)."""
    count: dict[str, int] = {}
    seen: set[tuple[str, int | None]] = set()
    out = []
    for s in scored:
        qid = s.question.id
        count[qid] = count.get(qid, 0) + 1
        instance = (qid, s.record.seed if s.question.generator else None)
        out.append((count[qid], instance in seen))
        seen.add(instance)
    return out


def score_document(student: str, scored: list[ScoredAnswer], problems: list[str]) -> dict[str, Any]:
    """The score-file object of one student (see the module docstring); `scored` is in time
    order (as `score_records` returns it)."""
    first: dict[str, ScoredAnswer] = {}
    attempts: dict[str, int] = {}
    for s in scored:
        first.setdefault(s.question.id, s)
        attempts[s.question.id] = attempts.get(s.question.id, 0) + 1
    questions: list[dict[str, Any]] = []
    concepts: dict[str, dict[str, float]] = {}
    checks: dict[str, dict[str, float]] = {}
    totals = {"score": 0.0, "max_score": 0.0, "answered": 0}
    for qid in sorted(first):
        s = first[qid]
        q, res = s.question, s.result
        questions.append(
            {
                "id": qid,
                "module": q.module,
                "kind": q.kind.value,
                "slot": q.slot.value if q.slot else None,
                "score": res.score,
                "max_score": res.max_score,
                "correct": res.correct,
                "feedback": res.feedback,
                "misconceptions": list(res.misconceptions),
                "concepts": list(q.concepts),
                "answered_at": format_time(s.record.time),
                "attempts": attempts[qid],
            }
        )
        for c in q.concepts:
            _add(concepts, c, res.score, res.max_score)
        if q.slot is not None:
            _add(checks, q.module, res.score, res.max_score)
            checks[q.module]["answered"] = checks[q.module].get("answered", 0) + 1
        totals["score"] = round(totals["score"] + res.score, 6)
        totals["max_score"] = round(totals["max_score"] + res.max_score, 6)
        totals["answered"] += 1
    history = [
        {
            "event_id": s.record.event_id,
            "question": s.question.id,
            "score": s.result.score,
            "max_score": s.result.max_score,
            "answered_at": format_time(s.record.time),
            "attempt": attempt,
            "practice": practice,
            "misconceptions": list(s.result.misconceptions),
        }
        for s, (attempt, practice) in zip(scored, _attempts(scored), strict=True)
    ]
    return {
        "schema": SCHEMA,
        "student": student,
        "modules": sorted({s.question.module for s in scored}),
        "questions": questions,
        "history": history,
        "concepts": concepts,
        "skill_checks": checks,
        "totals": totals,
        "problems": problems,
    }


def write_score_file(out_dir: Path, document: dict[str, Any]) -> Path:
    """Write `out_dir/quizzes/<student>.json` atomically; returns the path."""
    path = out_dir / "quizzes" / f"{document['student']}.json"
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path
