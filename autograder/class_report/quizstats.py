"""Skill-check results per question (which options students pick) and practice-queue load.

Reads, when present, the folders the quiz commands write into a results folder:

    DIR/quizzes/<student>.json   quiz scores (schema "alr-quiz-score/1"): per question id, module,
                                 score, max_score, correct
    DIR/answers/<student>.jsonl  synced answers (schema "alr-answer/1"): the option(s) picked
    DIR/queues/<student>.json    practice queues (schema "alr-queue/1"): entries with a kind

Per question q and option o, counting each student's first answer to q only (the one that
scores and counts for the queue; later answers are practice):

    picks(q, o) = number of students whose first response to q is o (or includes o)

and a question's mean score is sum(score) / sum(max_score) over the students scored on it.
Which options are correct, and their texts, come from the course's quiz files.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alr.errors import AlrError
from alr.results import read_json
from autograder.class_report import page, plots
from autograder.class_report.load import ReportError
from quizzes.bank import load_quizzes
from quizzes.store import read_answer_file

#: A skill-check total below this share of its points flags the student.
QUIZ_ATTENTION_BELOW = 0.5


@dataclass(frozen=True)
class Answer:
    """One student's scored answer to one question (the first, which scores)."""

    question: str
    module: str
    score: float
    max_score: float


@dataclass(frozen=True)
class QuizScore:
    student: str
    answers: tuple[Answer, ...]

    @property
    def fraction(self) -> float:
        top = sum(a.max_score for a in self.answers)
        return sum(a.score for a in self.answers) / top if top else 0.0


@dataclass(frozen=True)
class QuestionStats:
    question: str
    module: str
    answered: int
    mean: float
    picks: tuple[tuple[str, int, bool], ...]  # (option id, students, correct)
    texts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SkillChecks:
    scores: tuple[QuizScore, ...]
    questions: tuple[QuestionStats, ...]
    to_learn: tuple[tuple[str, int], ...] = ()  # concept -> students with it to learn
    queues: int = 0


def fail(path: Path, where: str, problem: str) -> ReportError:
    """A ReportError in the project's `file: key path: problem` form."""
    return ReportError(f"{path}: {where}: {problem}; rerun the command that wrote it")


def get_object(path: Path, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise fail(path, where or "top level", f"expected an object, got {type(value).__name__}")
    return value


def get_list(path: Path, where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise fail(path, where, f"expected a list, got {type(value).__name__}")
    return value


def get_number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise fail(path, where, f"expected a finite number, got {value!r:.60}")
    return float(value)


def get_text(path: Path, where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise fail(path, where, f"expected a string, got {type(value).__name__}")
    return value


def read_quiz_score(path: Path) -> QuizScore:
    """One quiz score file into a QuizScore."""
    data = get_object(path, "", read_json(path))
    answers = []
    for i, raw in enumerate(get_list(path, "questions", data.get("questions"))):
        where = f"questions[{i}]"
        q = get_object(path, where, raw)
        answers.append(
            Answer(
                question=get_text(path, f"{where}.id", q.get("id")),
                module=get_text(path, f"{where}.module", q.get("module")),
                score=get_number(path, f"{where}.score", q.get("score")),
                max_score=get_number(path, f"{where}.max_score", q.get("max_score")),
            )
        )
    return QuizScore(get_text(path, "student", data.get("student")), tuple(answers))


def first_responses(answers_dir: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """question id -> student -> option ids of that student's first choice answer."""
    out: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for path in sorted(answers_dir.glob("*.jsonl")):
        records, _ = read_answer_file(path)
        for r in sorted(records, key=lambda r: (r.answered_at, r.event_id)):
            if isinstance(r.response, str):
                out[r.question].setdefault(r.student, (r.response,))
            elif isinstance(r.response, list):
                out[r.question].setdefault(r.student, tuple(r.response))
    return out


def _catalog() -> dict[str, Any]:
    """Question id -> Question from the course's quiz files (empty if they cannot be loaded)."""
    try:
        return {q.id: q for q in load_quizzes().questions}
    except AlrError:  # the report stays useful without option texts
        return {}


def question_stats(
    scores: Sequence[QuizScore], responses: Mapping[str, Mapping[str, tuple[str, ...]]]
) -> tuple[QuestionStats, ...]:
    """Per question (quiz-file order, then id): students scored, mean score, picks per option."""
    catalog = _catalog()
    scored = {s.student for s in scores}
    by_q: dict[str, list[Answer]] = defaultdict(list)
    for s in scores:
        for a in s.answers:
            by_q[a.question].append(a)
    rank = {qid: i for i, qid in enumerate(catalog)}
    out = []
    for qid in sorted(by_q, key=lambda q: (rank.get(q, len(rank)), q)):
        answers = by_q[qid]
        known = catalog.get(qid)
        picked = responses.get(qid, {})
        counts = Counter(o for st, opts in picked.items() if st in scored for o in opts)
        options = list(known.option_ids) if known else []
        options += sorted(set(counts) - set(options))
        correct = set(known.correct_ids) if known else set()
        top = sum(a.max_score for a in answers)
        out.append(
            QuestionStats(
                question=qid,
                module=answers[0].module,
                answered=len(answers),
                mean=sum(a.score for a in answers) / top if top else 0.0,
                picks=tuple((o, counts.get(o, 0), o in correct) for o in options),
                texts={o.id: o.text for o in known.options} if known else {},
            )
        )
    return tuple(out)


def _to_learn(path: Path) -> list[str]:
    """The concepts a queue file lists with kind "learn"."""
    data = get_object(path, "", read_json(path))
    concepts = []
    for i, raw in enumerate(get_list(path, "entries", data.get("entries"))):
        entry = get_object(path, f"entries[{i}]", raw)
        if entry.get("kind") == "learn":
            concepts.append(get_text(path, f"entries[{i}].concept", entry.get("concept")))
    return concepts


def read_skill_checks(results_dir: Path) -> SkillChecks:
    """Quiz scores, answers and queues of a results folder (absent folders: nothing to show)."""
    paths = sorted(p for p in (results_dir / "quizzes").glob("*.json") if p.name[0] != ".")
    scores = tuple(read_quiz_score(p) for p in paths)
    seen: dict[str, Path] = {}
    for score, path in zip(scores, paths, strict=True):
        if score.student in seen:
            raise fail(path, "student", f"{score.student!r} also scored in {seen[score.student]}")
        seen[score.student] = path
    responses = first_responses(results_dir / "answers")
    queues = sorted(p for p in (results_dir / "queues").glob("*.json") if p.name[0] != ".")
    learn = Counter(c for p in queues for c in set(_to_learn(p)))
    return SkillChecks(
        scores,
        question_stats(scores, responses),
        tuple(sorted(learn.items(), key=lambda kv: (-kv[1], kv[0]))),
        len(queues),
    )


def quiz_reasons(checks: SkillChecks, students: Sequence[str]) -> dict[str, list[str]]:
    """Attention reasons from skill checks: a low total, or no skill check taken."""
    reasons: dict[str, list[str]] = {}
    if not checks.scores:
        return reasons
    by_student = {s.student: s for s in checks.scores}
    for student in students:
        score = by_student.get(student)
        if score is None:
            reasons[student] = ["took no skill check"]
        elif score.fraction < QUIZ_ATTENTION_BELOW:
            reasons[student] = [f"skill checks {score.fraction:.0%} correct"]
    return reasons


def skill_checks_section(checks: SkillChecks) -> str:
    """Per module: a bar plot of picks per option (correct in green) and a table of distractors."""
    head = '<section id="skill-checks"><h2>Skill checks</h2>'
    if not checks.questions:
        return (
            head + "<p>No skill-check scores in this folder (<code>quizzes/</code>).</p></section>"
        )
    parts = [
        head,
        f"<p>{len(checks.scores)} students' answers; bars count students per "
        "option, green the correct option(s).</p>",
    ]
    modules: dict[str, list[QuestionStats]] = defaultdict(list)
    for q in checks.questions:
        modules[q.module].append(q)
    for module, questions in modules.items():
        panels = [(q.question.split(".")[-1], q.picks) for q in questions]
        key = "quiz-" + module.replace(".", "-")
        svg = plots.option_bars(key, panels, f"Skill-check answers in module {module}")
        parts.append(f"<h3>Module {page.esc(module)}</h3>")
        parts.append(page.figure(svg, f"Options picked in module {page.esc(module)}.", key))
        rows = []
        for q in questions:
            wrong = sorted(((n, o) for o, n, ok in q.picks if not ok and n), reverse=True)
            picked = "; ".join(
                f"<code>{page.esc(o)}</code> {page.esc(q.texts.get(o, ''))} ({n})" for n, o in wrong
            )
            rows.append(
                [
                    f"<code>{page.esc(q.question)}</code>",
                    f"#{q.answered}",
                    f"#{page.pct(q.mean)}",
                    picked or '<span class="muted">none</span>',
                ]
            )
        parts.append(page.table(["question", "answered", "mean", "distractors picked"], rows))
    return "".join(parts) + "</section>"


def queues_section(checks: SkillChecks) -> str:
    """Which concepts the practice queues send the most students to learn."""
    head = '<section id="queues"><h2>Practice queues</h2>'
    if not checks.queues:
        return head + "<p>No practice queues here (<code>queues/</code>).</p></section>"
    rows = [[f"<code>{page.esc(c)}</code>", f"#{n}"] for c, n in checks.to_learn]
    return (
        head + f"<p>{checks.queues} queues. Concepts the queues send students to learn (not yet "
        "mastered, prerequisites mastered), most students first:</p>"
        + page.table(["concept", "students"], rows)
        + "</section>"
    )
