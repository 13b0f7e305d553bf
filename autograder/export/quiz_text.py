"""What the QTI and Moodle XML exports share: question selection, HTML text, numeric answers.

A generated numeric question is exported as one fixed instance (`Question.instantiate(seed)`,
seed 0 by default): LMS quiz engines cannot run the course's generators. A numeric answer x is
accepted when |x - answer| <= margin, margin = max(abs_tol, rel_tol * |answer|).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from markdown_it import MarkdownIt

from alr.errors import ExportError
from quizzes.model import ModuleQuiz, Question, QuestionKind, QuizCatalog

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


class Part(StrEnum):
    """Which questions of a module an exported quiz holds."""

    SKILL_CHECK = "check"
    BANK = "bank"


@dataclass(frozen=True)
class QuizPart:
    """One exported quiz: a module's skill check or its practice bank."""

    module: str
    part: Part
    title: str
    questions: tuple[Question, ...]

    @property
    def ident(self) -> str:
        """Stable identifier, e.g. "alr-3.1-check"."""
        return f"alr-{self.module}-{self.part.value}"


def quiz_parts(catalog: QuizCatalog, modules: tuple[str, ...] = ()) -> tuple[QuizPart, ...]:
    """The skill check and practice bank of every module (or of `modules`), in course order."""
    unknown = sorted(set(modules) - {m.module for m in catalog.modules})
    if unknown:
        known = ", ".join(m.module for m in catalog.modules)
        raise ExportError(f"no quiz for module(s) {', '.join(unknown)}; known: {known}")
    chosen: list[ModuleQuiz] = [m for m in catalog.modules if not modules or m.module in modules]
    parts = []
    for quiz in chosen:
        name = f"{quiz.module} {quiz.title}"
        parts.append(
            QuizPart(quiz.module, Part.SKILL_CHECK, f"{name}: skill check", quiz.skill_check)
        )
        parts.append(QuizPart(quiz.module, Part.BANK, f"{name}: practice", quiz.bank))
    return tuple(parts)


def html(markdown: str) -> str:
    """Question text as HTML (CommonMark; raw HTML in the source is escaped, not passed on)."""
    return _MARKDOWN.render(markdown).strip()


@dataclass(frozen=True)
class NumericAnswer:
    stem: str
    answer: float
    margin: float


def numeric_answer(question: Question, seed: int = 0) -> NumericAnswer:
    """Stem, answer and accepted margin of a NUMERIC or GENERATED_NUMERIC question."""
    if question.kind not in (QuestionKind.NUMERIC, QuestionKind.GENERATED_NUMERIC):
        raise ValueError(f"{question.id}: not a numeric question")
    instance = question.instantiate(seed)
    tol = question.tolerance
    margin = max(tol.abs, tol.rel * abs(instance.answer))
    return NumericAnswer(instance.stem, instance.answer, margin)


def decimal(value: float) -> str:
    """A float as exact-enough decimal text for XML (repr: round-trips, no locale)."""
    return repr(float(value))
