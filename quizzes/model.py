"""Typed quiz questions, as loaded from quizzes/data/<module>.yaml.

A module's quiz file holds its four-question skill check (one question per `Slot`) and a practice
bank. Every question has a stable id `"<module>.<check|bank>.<name>"`, concept tags (see
`quizzes.concepts`), points and per-option explanations. Kinds:

- SINGLE_CHOICE: exactly one correct option; score = points if the chosen option is correct.
- MULTIPLE_ANSWER: any non-empty set of correct options, scored with a named `PartialCredit` rule
  (PrairieLearn's `pl-checkbox` rules; see `quizzes.scoring.multiple_answer_fraction`).
- NUMERIC: one number, correct when |x - answer| <= max(abs_tol, rel_tol * |answer|).
- GENERATED_NUMERIC: a numeric question whose stem and answer come from parameters drawn by
  `instantiate(seed)`; the answer is computed by a named generator in `quizzes.generators`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any


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
    """One choice of a choice question; `explanation` says why it is right or wrong."""

    id: str
    text: str
    correct: bool
    explanation: str


@dataclass(frozen=True)
class Tolerance:
    """A numeric answer x is right when |x - answer| <= max(abs, rel * |answer|)."""

    rel: float = 1e-3
    abs: float = 0.0

    def accepts(self, x: float, answer: float) -> bool:
        return math.isfinite(x) and abs(x - answer) <= max(self.abs, self.rel * abs(answer))


@dataclass(frozen=True)
class Instance:
    """A concrete numeric question: the stem with values filled in, and its answer."""

    stem: str
    answer: float
    params: tuple[tuple[str, Any], ...]


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

    def instantiate(self, seed: int) -> Instance:
        """The concrete question for `seed`: same seed, same stem and answer, on every machine.

        Parameter values are drawn with `random.Random(f"{id}:{seed}")` in the declared order.
        For a NUMERIC question this is the stem and fixed answer, whatever the seed.
        """
        if self.kind is QuestionKind.NUMERIC and self.answer is not None:
            return Instance(self.stem, self.answer, ())
        if self.kind is not QuestionKind.GENERATED_NUMERIC:
            raise ValueError(f"{self.id}: only numeric questions can be instantiated")
        from quizzes.generators import GENERATORS, format_value

        rng = random.Random(f"{self.id}:{seed}")
        params = tuple(
            (name, values[rng.randrange(len(values))]) for name, values in self.parameters
        )
        values = dict(params)
        stem = self.stem.format_map({k: format_value(v) for k, v in values.items()})
        return Instance(stem, GENERATORS[self.generator].compute(values), params)


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
