"""Skill-check results per question (which options students pick) and practice-queue load.

Reads `DIR/quizzes/<student>.json` (quiz scores) and `DIR/queues/<student>.json` (practice
queues) when present. Per question q and option o:

    picks(q, o) = number of students whose recorded answer to q includes o

and a question's mean score is sum(score) / sum(max_score) over the students who answered it.
Option texts and which options are correct come from the score files' own records; the course's
quiz bank fills in texts the score files do not carry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.class_report import page, plots
from autograder.class_report.load import (
    fail,
    get_list,
    get_number,
    get_object,
    get_text,
    read_json,
)

#: A skill-check total below this share of its points flags the student.
QUIZ_ATTENTION_BELOW = 0.5


@dataclass(frozen=True)
class Answer:
    """One student's recorded answer to one question."""

    question: str
    module: str
    picked: tuple[str, ...]  # option ids (empty for numeric answers)
    score: float
    max_score: float
    correct: tuple[str, ...] = ()


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
    stem: str = ""


@dataclass(frozen=True)
class SkillChecks:
    scores: tuple[QuizScore, ...]
    questions: tuple[QuestionStats, ...]
    queue_lengths: Mapping[str, int] = field(default_factory=dict)


def _picked(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(
        get_text(path, f"{where}[{i}]", v) for i, v in enumerate(get_list(path, where, value))
    )


def read_quiz_score(path: Path) -> QuizScore:
    """One quiz score file into a QuizScore."""
    data = get_object(path, "", read_json(path))
    answers = []
    for i, raw in enumerate(get_list(path, "questions", data.get("questions"))):
        where = f"questions[{i}]"
        q = get_object(path, where, raw)
        qid = get_text(path, f"{where}.id", q.get("id"))
        answers.append(
            Answer(
                question=qid,
                module=get_text(path, f"{where}.module", q.get("module", qid.split(".check")[0])),
                picked=_picked(path, f"{where}.answer", q.get("answer")),
                score=get_number(path, f"{where}.score", q.get("score")),
                max_score=get_number(path, f"{where}.max_score", q.get("max_score")),
                correct=_picked(path, f"{where}.correct", q.get("correct")),
            )
        )
    student = get_text(path, "student", data.get("student", path.stem))
    return QuizScore(student, tuple(answers))


def _catalog() -> dict[str, Any]:
    """Question id -> Question from the course's quiz files (empty if they cannot be loaded)."""
    try:
        from quizzes.bank import load_quizzes

        return {q.id: q for q in load_quizzes().questions}
    except Exception:  # the report stays useful without option texts
        return {}


def question_stats(scores: Sequence[QuizScore]) -> tuple[QuestionStats, ...]:
    """Per question (sorted by id): answers, mean score, and picks per option."""
    catalog = _catalog()
    by_q: dict[str, list[Answer]] = defaultdict(list)
    for s in scores:
        for a in s.answers:
            by_q[a.question].append(a)
    out = []
    for qid in sorted(by_q):
        answers = by_q[qid]
        known = catalog.get(qid)
        counts = Counter(o for a in answers for o in a.picked)
        correct = set(known.correct_ids if known else ()) | {o for a in answers for o in a.correct}
        options = list(known.option_ids) if known else []
        options += sorted(set(counts) - set(options))
        top = sum(a.max_score for a in answers)
        out.append(
            QuestionStats(
                question=qid,
                module=answers[0].module,
                answered=len(answers),
                mean=sum(a.score for a in answers) / top if top else 0.0,
                picks=tuple((o, counts.get(o, 0), o in correct) for o in options),
                texts={o.id: o.text for o in known.options} if known else {},
                stem=known.stem if known else "",
            )
        )
    return tuple(out)


def _queue_length(path: Path) -> int:
    data = get_object(path, "", read_json(path))
    return len(get_list(path, "entries", data.get("entries")))


def read_skill_checks(quiz_dir: Path, queue_dir: Path) -> SkillChecks:
    """Quiz scores and queue lengths from their folders (missing folders: nothing to show)."""
    scores = tuple(read_quiz_score(p) for p in sorted(quiz_dir.glob("*.json")) if quiz_dir.is_dir())
    seen: dict[str, Path] = {}
    for s, p in zip(scores, sorted(quiz_dir.glob("*.json")), strict=False):
        if s.student in seen:
            raise fail(p, "student", f"{s.student!r} also scored in {seen[s.student].name}")
        seen[s.student] = p
    queues = {p.stem: _queue_length(p) for p in sorted(queue_dir.glob("*.json"))}
    return SkillChecks(scores, question_stats(scores), queues)


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
    if checks.queue_lengths:
        lengths = sorted(checks.queue_lengths.values())
        parts.append(
            f"<p>Practice queues: {len(lengths)} written, median length "
            f"{lengths[len(lengths) // 2]} entries, longest {lengths[-1]}.</p>"
        )
    return "".join(parts) + "</section>"
