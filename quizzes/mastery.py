"""A student's model: per-concept mastery (BKT, then FSRS review) and the misconceptions shown.

Every event (`quizzes.evidence.Event`) is one observation of its concept, replayed in time order
(ties by item): there is no grouping into sessions, so the model is a composition of per-event
updates, each increasing in its prior. Practice events (repeated answers) only record when the
item was practised.

Acquisition (hand-written BKT; p_init 0.2, p_learn 0.15, p_slip 0.1, p_guess 0.25 for quiz and
0.05 for exercise observations) uses the fractional likelihood
    P(obs | known) = y (1 - slip) + (1 - y) slip,   P(obs | unknown) = y guess + (1 - y)(1 - guess)
(y = frac; with y in {0, 1} this is standard BKT, for partial credit a documented, non-standard
generalisation), then P(known) <- P(known | obs) + (1 - P(known | obs)) p_learn.

Monotone: for y = 1 the update never lowers P(known) (it needs 1 - slip >= guess), and every
update is increasing in the prior, so a correct answer added anywhere in a history never lowers
the final P(known), nor the highest value reached: a concept once mastered stays mastered. A
property test inserts correct answers at random places in thousands of histories.

A concept is mastered once P(known) >= 0.95. From the observation that masters it on, each
observation is also an FSRS review (`fsrs`, default parameters, desired retention 0.9, no
fuzzing, no intra-day steps) rated Good (frac >= 0.9), Hard (0.6 <= frac < 0.9) or Again.

Misconceptions: an event that names one (a graded test's diagnosis, a quiz distractor, a wrong
numeric answer that matches a mistake) reveals it. It stays active until a later event on an item
that targets it is right (frac >= 0.9, naming no misconception): a passing result of the function
that showed it, or a right answer to a question whose wrong options (or generated variants) name
it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from fsrs import Card, Rating, Scheduler

from quizzes.concepts import PREREQUISITES
from quizzes.evidence import Event, Source

MASTERY = 0.95
DESIRED_RETENTION = 0.9
RIGHT = 0.9  # an event at or above this fraction is "right" (FSRS Good, clears misconceptions)

SCHEDULER = Scheduler(
    desired_retention=DESIRED_RETENTION,
    learning_steps=(),
    relearning_steps=(),
    enable_fuzzing=False,
)


@dataclass(frozen=True)
class BktParams:
    p_init: float = 0.2
    p_learn: float = 0.15
    p_slip: float = 0.1
    p_guess_quiz: float = 0.25
    p_guess_exercise: float = 0.05

    def guess(self, source: Source) -> float:
        return self.p_guess_quiz if source is Source.QUIZ else self.p_guess_exercise


BKT = BktParams()


def bkt_update(p: float, y: float, guess: float, params: BktParams = BKT) -> float:
    """One BKT step with the fractional likelihood (module docstring)."""
    known = p * (y * (1 - params.p_slip) + (1 - y) * params.p_slip)
    unknown = (1 - p) * (y * guess + (1 - y) * (1 - guess))
    posterior = known / (known + unknown)
    return posterior + (1 - posterior) * params.p_learn


def rating(frac: float) -> Rating:
    return Rating.Good if frac >= RIGHT else Rating.Hard if frac >= 0.6 else Rating.Again


@dataclass
class ConceptState:
    """One student's running model of one concept (mutable; internal to the queue)."""

    p_known: float = BKT.p_init
    mastered_at: datetime | None = None
    card: Card | None = None
    observations: int = 0
    last_seen: dict[str, datetime] = field(default_factory=dict)  # item -> last time
    best: dict[str, float] = field(default_factory=dict)  # item -> best fraction

    def predict(self, when: datetime, source: Source) -> float:
        """P(correct) of the next observation: k (1 - slip) + (1 - k) guess, with
        k = P(known), times FSRS retrievability R(when) once the concept is mastered."""
        known = self.p_known
        if self.card is not None:
            known *= float(SCHEDULER.get_card_retrievability(self.card, when))
        return known * (1 - BKT.p_slip) + (1 - known) * BKT.guess(source)

    def observe(self, time: datetime, source: Source, frac: float, item: str = "") -> None:
        """BKT update; the mastering observation and every later one are FSRS reviews."""
        if item:
            self.last_seen[item] = max(time, self.last_seen.get(item, time))
            self.best[item] = max(frac, self.best.get(item, 0.0))
        self.observations += 1
        self.p_known = bkt_update(self.p_known, frac, BKT.guess(source))
        if self.mastered_at is None and self.p_known >= MASTERY:
            self.mastered_at = time
            self.card = Card(card_id=1, due=time)
        if self.card is not None:
            self.card, _ = SCHEDULER.review_card(self.card, rating(frac), time)


@dataclass
class MisconceptionState:
    """What the events say about one misconception (mutable; internal to the queue)."""

    id: str
    reveals: list[tuple[datetime, str, Source]] = field(default_factory=list)
    cleared_at: datetime | None = None
    redos: int = 0  # results of the functions that showed it, since it was (re)revealed

    @property
    def last_revealed(self) -> datetime:
        return max(t for t, _, _ in self.reveals)

    @property
    def active(self) -> bool:
        return self.cleared_at is None or self.cleared_at < self.last_revealed

    @property
    def exercise_items(self) -> tuple[str, ...]:
        """The graded functions' items that showed it, in the order they first did."""
        return tuple(dict.fromkeys(i for _, i, s in self.reveals if s is Source.EXERCISE))

    @property
    def weight(self) -> int:
        """How strongly the events point to it since it was last cleared: 2 per graded result,
        1 per quiz answer."""
        since = self.cleared_at
        return sum(
            2 if s is Source.EXERCISE else 1
            for t, _, s in self.reveals
            if since is None or t > since
        )


#: item -> the misconceptions it targets (a question's wrong options or variants)
Targets = Callable[[str], Collection[str]]


@dataclass
class StudentModel:
    """Concept states and misconceptions of one student, fed one event at a time (in time order)."""

    states: dict[str, ConceptState] = field(
        default_factory=lambda: {c: ConceptState() for c in PREREQUISITES}
    )
    misconceptions: dict[str, MisconceptionState] = field(default_factory=dict)
    last_seen: dict[str, datetime] = field(default_factory=dict)  # item -> last time
    seen: dict[str, int] = field(default_factory=dict)  # item -> distinct times it was answered

    def observe(self, event: Event, targets: Targets) -> None:
        new_time = self.last_seen.get(event.item) != event.time
        if new_time:
            self.seen[event.item] = self.seen.get(event.item, 0) + 1
        self.last_seen[event.item] = max(event.time, self.last_seen.get(event.item, event.time))
        if event.practice:
            return
        if event.concept in self.states:
            self.states[event.concept].observe(event.time, event.source, event.frac, event.item)
        for m in event.misconceptions:
            state = self.misconceptions.setdefault(m, MisconceptionState(m))
            if state.reveals and not state.active:
                state.redos = 0  # back after it was cleared: redo the function again
            reveal = (event.time, event.item, event.source)
            if reveal not in state.reveals:
                state.reveals.append(reveal)
        for state in self.misconceptions.values():
            if new_time and state.active and event.item in state.exercise_items:
                state.redos += 1
        if event.frac < RIGHT or event.misconceptions:
            return
        aimed = set(targets(event.item))
        for state in self.misconceptions.values():
            if (state.id in aimed or event.item in state.exercise_items) and (
                event.time > state.last_revealed
            ):
                state.cleared_at = event.time

    def mastered(self) -> set[str]:
        return {c for c, s in self.states.items() if s.mastered_at is not None}


def replay(events: Collection[Event], targets: Targets) -> StudentModel:
    """The model after all `events`, fed in time order (ties by item, then fraction)."""
    model = StudentModel()
    for e in sorted(events, key=lambda e: (e.time, e.item, e.concept, e.frac)):
        model.observe(e, targets)
    return model


def concept_state(events: Collection[Event]) -> ConceptState:
    """Replay one concept's events (no misconceptions needed) and return its state."""
    state = ConceptState()
    for e in sorted(events, key=lambda e: (e.time, e.item, e.concept, e.frac)):
        if not e.practice:
            state.observe(e.time, e.source, e.frac, e.item)
    return state
