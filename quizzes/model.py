"""Typed quiz questions, as loaded from quizzes/data/<module>.yaml.

A module's quiz file holds its four-question skill check (one question per `Slot`) and a practice
bank. Every question has a stable id `"<module>.<check|bank>.<name>"`, concept tags (see
`quizzes.concepts`), points and per-option explanations. Kinds:

- SINGLE_CHOICE: exactly one correct option; score = points if the chosen option is correct.
- MULTIPLE_ANSWER: any non-empty set of correct options, scored with a named `PartialCredit` rule
  (PrairieLearn's `pl-checkbox` rules; see `quizzes.scoring.multiple_answer_fraction`).
- NUMERIC: one number, correct when |x - answer| <= max(abs_tol, rel_tol * |answer|).
- GENERATED_NUMERIC: a numeric question whose stem and answer come from parameters drawn by
  `instantiate(seed)`; a named generator in `quizzes.generators` draws a realisable state and
  computes the answer, and what each misconception would compute instead.

Every wrong option names the misconception it reveals (`Option.misconception`, None for a
confusion that is not one of them), so a wrong answer is evidence the queue can use. Options are
shown in an order of their own to each student (`Question.presentation(student)`): the same for
the same student and question everywhere, and unrelated between students.
"""

from __future__ import annotations

import hashlib
import math
import random
import string
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from quizzes.generators import GENERATORS, format_value


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_ANSWER = "multiple_answer"
    NUMERIC = "numeric"
    GENERATED_NUMERIC = "generated_numeric"


class Slot(StrEnum):
    """The four slots of a lesson's skill check, in the order the lesson asks them."""

    MODULE = "module"  # which module the lesson belongs to
    SECTION = "section"  # which section it covers
    TERM = "term"  # which term is most central
    PRACTICE = "practice"  # the best way to use the lesson for real learning


class PartialCredit(StrEnum):
    """Multiple-answer scoring rules, named as in PrairieLearn's pl-checkbox.

    With c correct options, n options, t correct picks and f wrong picks:
    OFF: 1 if the picked set equals the correct set, else 0.
    NET_CORRECT: max(0, (t - f) / c).
    COVERAGE: (t / c) * (t / (t + f)), 0 when nothing is picked.
    EACH_ANSWER: the share of the n options whose picked/unpicked state is right.
    """

    OFF = "off"
    NET_CORRECT = "net-correct"
    COVERAGE = "coverage"
    EACH_ANSWER = "each-answer"


@dataclass(frozen=True)
class Option:
    """One choice of a choice question; `explanation` says why it is right or wrong, and a wrong
    option's `misconception` names the misconception choosing it reveals (None: none of them)."""

    id: str
    text: str
    correct: bool
    explanation: str
    misconception: str | None = None


def shuffle_key(student: str, question_id: str, option_id: str) -> str:
    """The sort key that orders one student's options of one question (the notebook cell
    computes the same key with hashlib: keep the two in step)."""
    return hashlib.sha256(f"{student}|{question_id}|{option_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Presentation:
    """A question's options in the order one student sees them, lettered a, b, c, ..."""

    options: tuple[Option, ...]

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(string.ascii_lowercase[: len(self.options)])

    def option_id(self, letter: str) -> str | None:
        """The option shown under `letter` (None for a letter not shown)."""
        i = string.ascii_lowercase.find(letter)
        return self.options[i].id if len(letter) == 1 and 0 <= i < len(self.options) else None

    def letter(self, option_id: str) -> str:
        return next(L for L, o in zip(self.letters, self.options, strict=True) if o.id == option_id)


@dataclass(frozen=True)
class Tolerance:
    """A numeric answer x is right when |x - answer| <= max(abs, rel * |answer|)."""

    rel: float = 1e-3
    abs: float = 0.0

    def accepts(self, x: float, answer: float) -> bool:
        return math.isfinite(x) and abs(x - answer) <= max(self.abs, self.rel * abs(answer))


@dataclass(frozen=True)
class Instance:
    """A concrete numeric question: the stem with values filled in, its answer, the drawn
    parameters, the realised state (what a reference implementation needs to recompute the
    answer) and the value each misconception gives (`variants`)."""

    stem: str
    answer: float
    params: tuple[tuple[str, Any], ...]
    state: tuple[tuple[str, Any], ...] = ()
    variants: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Question:
    """One quiz question. `slot` is set for skill-check questions and None for bank questions.

    `parameters` (GENERATED_NUMERIC only) maps each parameter name to the tuple of values it can
    take; `generator` names the function of `quizzes.generators` that computes the answer.
    """

    id: str
    module: str
    slot: Slot | None
    kind: QuestionKind
    stem: str
    concepts: tuple[str, ...]
    points: float = 1.0
    options: tuple[Option, ...] = ()
    partial_credit: PartialCredit = PartialCredit.OFF
    answer: float | None = None
    tolerance: Tolerance = Tolerance()
    explanation: str = ""
    generator: str = ""
    parameters: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def correct_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options if o.correct)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def misconceptions(self) -> tuple[str, ...]:
        """The misconceptions a wrong answer can reveal: the wrong options' ids, or for a
        generated question its generator's variants; sorted, without repeats."""
        ids = {o.misconception for o in self.options if o.misconception}
        if self.kind is QuestionKind.GENERATED_NUMERIC and self.generator in GENERATORS:
            ids.update(GENERATORS[self.generator].core)
        return tuple(sorted(ids))

    def presentation(self, student: str) -> Presentation:
        """The options in `student`'s order for this question (deterministic, per question)."""
        return Presentation(
            tuple(sorted(self.options, key=lambda o: shuffle_key(student, self.id, o.id)))
        )

    def instantiate(self, seed: int) -> Instance:
        """The concrete question for `seed`: same seed, same stem and answer, on every machine.

        Parameter values are drawn with `random.Random(f"{id}:{seed}")` in the declared order;
        the generator then draws the rest of its state from the same generator. For a NUMERIC
        question this is the stem and fixed answer, whatever the seed.
        """
        if self.kind is QuestionKind.NUMERIC and self.answer is not None:
            return Instance(self.stem, self.answer, ())
        if self.kind is not QuestionKind.GENERATED_NUMERIC:
            raise ValueError(f"{self.id}: only numeric questions can be instantiated")
        rng = random.Random(f"{self.id}:{seed}")
        params = tuple(
            (name, values[rng.randrange(len(values))]) for name, values in self.parameters
        )
        draw = GENERATORS[self.generator].draw(dict(params), rng)
        fields = {k: format_value(v) for k, v in (*params, *draw.shown.items())}
        variants = tuple(
            (m, value)
            for m, value in sorted(draw.variants.items())
            if not self.tolerance.accepts(value, draw.answer)
        )
        return Instance(
            self.stem.format_map(fields),
            draw.answer,
            params,
            tuple(sorted(draw.state.items())),
            variants,
        )

    def misconception_of(self, response: float, seed: int) -> str | None:
        """The misconception whose value a wrong numeric `response` matches (None if none)."""
        instance = self.instantiate(seed)
        if self.tolerance.accepts(response, instance.answer):
            return None
        return next(
            (m for m, value in instance.variants if self.tolerance.accepts(response, value)), None
        )


@dataclass(frozen=True)
class ModuleQuiz:
    """One module's quiz file: its title, the four skill-check questions in slot order, the bank."""

    module: str
    title: str
    skill_check: tuple[Question, ...]
    bank: tuple[Question, ...]


@dataclass(frozen=True)
class QuizCatalog:
    """Every module's quiz, by module id, with lookup of any question by id."""

    modules: tuple[ModuleQuiz, ...]

    def module(self, module_id: str) -> ModuleQuiz:
        for quiz in self.modules:
            if quiz.module == module_id:
                return quiz
        raise KeyError(f"no quiz for module {module_id!r}")

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for m in self.modules for q in (*m.skill_check, *m.bank))

    @cached_property
    def bank_questions(self) -> tuple[Question, ...]:
        return tuple(q for m in self.modules for q in m.bank)

    @cached_property
    def _by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    @cached_property
    def _targeting(self) -> dict[str, tuple[Question, ...]]:
        found: dict[str, list[Question]] = {}
        for q in self.bank_questions:
            for m in q.misconceptions:
                found.setdefault(m, []).append(q)
        return {m: tuple(qs) for m, qs in found.items()}

    def questions_targeting(self, misconception: str) -> tuple[Question, ...]:
        """The bank questions a student holding `misconception` can get wrong by it."""
        return self._targeting.get(misconception, ())

    def targets(self, item: str) -> tuple[str, ...]:
        """The misconceptions an item ("quiz:<question id>") can reveal; () for other items."""
        kind, _, name = item.partition(":")
        question = self._by_id.get(name) if kind == "quiz" else None
        return question.misconceptions if question else ()
