"""The adaptive practice queue: a BKT mastery gate per concept, then FSRS spaced review.

Per student and concept, the events (`quizzes.evidence`) are folded into observations: events
of one source (exercise or quiz) that fall within `SESSION` of the first event of a run form one
observation, frac = mean of their fractions, at the time of the run's first event.

Acquisition (hand-written BKT; p_init 0.2, p_learn 0.15, p_slip 0.1, p_guess 0.25 for quiz and
0.05 for exercise observations). The update uses the fractional likelihood
    P(obs | known) = y (1 - slip) + (1 - y) slip,   P(obs | unknown) = y guess + (1 - y)(1 - guess)
(y = frac; with y in {0, 1} this is standard BKT, for partial credit a documented, non-standard
generalisation), then P(known) <- P(known | obs) + (1 - P(known | obs)) p_learn. It is increasing
in y and in the prior, so a new correct answer never lowers P(known). A concept is mastered once
P(known) >= 0.95 (and stays mastered: later lapses are FSRS "Again" reviews).

Retention (`fsrs`, default parameters, desired retention 0.9, fuzzing off, no intra-day learning
steps, so every interval is whole days as a course's reviews are): from the observation
that masters a concept on, each observation is an FSRS review with rating Good (frac >= 0.9),
Hard (0.6 <= frac < 0.9) or Again (frac < 0.6). Easy is never given.

Order of entries (ties always broken by concept id):
1. "learn": unmastered concepts whose prerequisites are all mastered, lowest P(known) first;
2. "review": mastered concepts due at `now` (due <= now), lowest retrievability R first;
3. "scheduled": the other mastered concepts, earliest due first.
Concepts with an unmastered prerequisite are "locked" and only listed under `concepts`.
Item of an entry: for "learn", the concept's graded function with the lowest best score (below
1; functions in course order), else a bank question; for reviews, a bank question. A bank
question is the concept's question answered longest ago (never answered first), then by id.
Only evidence at or before `now` counts; `now` is the caller's (api.write_queues defaults it to
the latest event time, so equal inputs give equal bytes).

Queue file `OUT/queues/<student>.json` (schema "alr-queue/1"; compact JSON, sorted keys):
    {"schema": "alr-queue/1", "student": "ann", "generated_at": "2026-03-03T08:00:00Z",
     "model": {"bkt_params": {...}, "mastery_threshold": 0.95, "session_seconds": 3600,
               "fsrs_version": "6.3.2", "fsrs_parameters": [...], "desired_retention": 0.9},
     "entries": [{"rank": 1, "concept": "bias_correction", "kind": "learn",
                  "item": "exercise:bias_correction", "module": "4.1",
                  "reason": "learn: P(known)=0.17 < 0.95 after 1 observation(s); ...",
                  "p_known": 0.171795, "retrievability": null, "due": "2026-03-03T08:00:00Z"}],
     "concepts": {"ema": {"p_known": 0.99, "mastered": true, "mastered_at": "...",
                          "observations": 3, "retrievability": 0.97, "due": "...",
                          "state": "mastered" | "learning" | "locked", "prerequisites": []}}}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

from fsrs import Card, Rating, Scheduler

from alr.contract import FUNCTION_MODULE
from quizzes.concepts import FUNCTION_CONCEPTS, PREREQUISITES, topological_order
from quizzes.evidence import Event, Source
from quizzes.model import QuizCatalog
from quizzes.store import format_time

SCHEMA = "alr-queue/1"
SESSION = timedelta(hours=1)
MASTERY = 0.95
DESIRED_RETENTION = 0.9


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
_ORDER = topological_order()
_FSRS_VERSION = version("fsrs")
_SCHEDULER = Scheduler(
    desired_retention=DESIRED_RETENTION,
    learning_steps=(),
    relearning_steps=(),
    enable_fuzzing=False,
)


def bkt_update(p: float, y: float, guess: float, params: BktParams = BKT) -> float:
    """One BKT step with the fractional likelihood (module docstring)."""
    known = p * (y * (1 - params.p_slip) + (1 - y) * params.p_slip)
    unknown = (1 - p) * (y * guess + (1 - y) * (1 - guess))
    posterior = known / (known + unknown)
    return posterior + (1 - posterior) * params.p_learn


def rating(frac: float) -> Rating:
    return Rating.Good if frac >= 0.9 else Rating.Hard if frac >= 0.6 else Rating.Again


@dataclass(frozen=True)
class Observation:
    time: datetime
    source: Source
    frac: float


def fold(events: Sequence[Event]) -> list[Observation]:
    """One observation per (source, session) of one concept's events, in time order."""
    out: list[Observation] = []
    ordered = sorted(events, key=lambda e: (e.time, e.item))
    for source in Source:
        start: datetime | None = None
        fracs: list[float] = []
        for e in ordered:
            if e.source is not source:
                continue
            if start is not None and e.time - start >= SESSION:
                out.append(Observation(start, source, sum(fracs) / len(fracs)))
                start, fracs = None, []
            if start is None:
                start = e.time
            fracs.append(e.frac)
        if start is not None:
            out.append(Observation(start, source, sum(fracs) / len(fracs)))
    out.sort(key=lambda o: (o.time, o.source is Source.QUIZ))
    return out


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
            known *= float(_SCHEDULER.get_card_retrievability(self.card, when))
        return known * (1 - BKT.p_slip) + (1 - known) * BKT.guess(source)

    def observe(self, obs: Observation) -> None:
        """BKT update; the mastering observation and every later one are FSRS reviews."""
        self.observations += 1
        self.p_known = bkt_update(self.p_known, obs.frac, BKT.guess(obs.source))
        if self.mastered_at is None and self.p_known >= MASTERY:
            self.mastered_at = obs.time
            self.card = Card(card_id=1, due=obs.time)
        if self.card is not None:
            self.card, _ = _SCHEDULER.review_card(self.card, rating(obs.frac), obs.time)


def concept_state(events: Sequence[Event]) -> ConceptState:
    """Replay one concept's events through BKT and, once mastered, FSRS."""
    state = ConceptState()
    for e in events:
        state.last_seen[e.item] = max(e.time, state.last_seen.get(e.item, e.time))
        state.best[e.item] = max(e.frac, state.best.get(e.item, 0.0))
    for obs in fold(events):
        state.observe(obs)
    return state


@dataclass(frozen=True)
class QueueEntry:
    """One line of a student's queue; `kind` is "learn", "review" or "scheduled"."""

    concept: str
    kind: str
    item: str
    module: str
    reason: str
    p_known: float
    retrievability: float | None
    due: datetime


def _retrievability(state: ConceptState, now: datetime) -> float | None:
    if state.card is None:
        return None
    return float(_SCHEDULER.get_card_retrievability(state.card, now))


def _bank_item(concept: str, state: ConceptState, catalog: QuizCatalog) -> tuple[str, str]:
    epoch = datetime.min.replace(tzinfo=UTC)
    candidates = [q for q in catalog.bank_questions if concept in q.concepts]
    if not candidates:
        return "", ""
    best = min(candidates, key=lambda q: (state.last_seen.get(f"quiz:{q.id}", epoch), q.id))
    return f"quiz:{best.id}", best.module


def _learn_item(concept: str, state: ConceptState, catalog: QuizCatalog) -> tuple[str, str]:
    open_fns = [
        fn
        for fn, cs in FUNCTION_CONCEPTS.items()
        if concept in cs and state.best.get(f"exercise:{fn}", 0.0) < 1.0
    ]
    if open_fns:
        order = list(FUNCTION_CONCEPTS)
        fn = min(open_fns, key=lambda f: (state.best.get(f"exercise:{f}", 0.0), order.index(f)))
        return f"exercise:{fn}", FUNCTION_MODULE[fn]
    return _bank_item(concept, state, catalog)


def _entries(
    states: dict[str, ConceptState], catalog: QuizCatalog, now: datetime
) -> list[QueueEntry]:
    mastered = {c for c, s in states.items() if s.mastered_at is not None}
    learn, review, scheduled = [], [], []
    for concept in sorted(states):
        st = states[concept]
        r = _retrievability(st, now)
        if st.card is None:
            if not all(p in mastered for p in PREREQUISITES[concept]):
                continue
            item, module = _learn_item(concept, st, catalog)
            pre = ", ".join(PREREQUISITES[concept]) or "none"
            reason = (
                f"learn: P(known)={st.p_known:.2f} < {MASTERY:.2f} after "
                f"{st.observations} observation(s); prerequisites mastered: {pre}"
            )
            learn.append(QueueEntry(concept, "learn", item, module, reason, st.p_known, None, now))
            continue
        item, module = _bank_item(concept, st, catalog)
        due = st.card.due
        if due <= now:
            reason = (
                f"review: due {format_time(due)}, R={r:.2f} "
                f"(target {DESIRED_RETENTION:.2f}); mastered {format_time(st.mastered_at or due)}"
            )
            review.append(QueueEntry(concept, "review", item, module, reason, st.p_known, r, due))
        else:
            reason = f"scheduled: R={r:.2f} now, next review due {format_time(due)}"
            scheduled.append(
                QueueEntry(concept, "scheduled", item, module, reason, st.p_known, r, due)
            )
    learn.sort(key=lambda e: (e.p_known, e.concept))
    review.sort(key=lambda e: (e.retrievability or 0.0, e.concept))
    scheduled.sort(key=lambda e: (e.due, e.concept))
    return learn + review + scheduled


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def build_queue(
    student: str, events: Sequence[Event], catalog: QuizCatalog, now: datetime
) -> dict[str, Any]:
    """The queue document of one student (JSON object; see `write_queue` for the file)."""
    by_concept: dict[str, list[Event]] = {c: [] for c in PREREQUISITES}
    for e in events:
        if e.time <= now and e.concept in by_concept:
            by_concept[e.concept].append(e)
    states = {c: concept_state(evs) for c, evs in by_concept.items()}
    entries = _entries(states, catalog, now)
    mastered = {c for c, s in states.items() if s.mastered_at is not None}
    concepts = {}
    for c in _ORDER:
        st = states[c]
        locked = st.card is None and not all(p in mastered for p in PREREQUISITES[c])
        concepts[c] = {
            "p_known": _round(st.p_known),
            "mastered": st.mastered_at is not None,
            "mastered_at": format_time(st.mastered_at) if st.mastered_at else None,
            "observations": st.observations,
            "retrievability": _round(_retrievability(st, now)),
            "due": format_time(st.card.due) if st.card else None,
            "state": "locked" if locked else "mastered" if st.card else "learning",
            "prerequisites": list(PREREQUISITES[c]),
        }
    return {
        "schema": SCHEMA,
        "student": student,
        "generated_at": format_time(now),
        "model": {
            "bkt_params": BKT.__dict__,
            "mastery_threshold": MASTERY,
            "session_seconds": int(SESSION.total_seconds()),
            "fsrs_version": _FSRS_VERSION,
            "fsrs_parameters": list(_SCHEDULER.parameters),
            "desired_retention": DESIRED_RETENTION,
        },
        "entries": [
            {
                "rank": i,
                "concept": e.concept,
                "kind": e.kind,
                "item": e.item,
                "module": e.module,
                "reason": e.reason,
                "p_known": _round(e.p_known),
                "retrievability": _round(e.retrievability),
                "due": format_time(e.due),
            }
            for i, e in enumerate(entries, 1)
        ],
        "concepts": concepts,
    }


def queue_json(document: dict[str, Any]) -> str:
    """The file text: compact JSON with sorted keys and a final newline (byte-stable; the C
    encoder, which json only uses without indent, keeps 1,000 queues well under a second)."""
    return json.dumps(document, sort_keys=True, allow_nan=False, separators=(",", ":")) + "\n"
