"""The practice queue: targeted practice for the mistakes a student showed, then what to learn
next, then spaced reviews, every entry with its reason in words.

The student model (`quizzes.mastery`) is replayed from the events at or before `now`. Entries:
1. fix (kind "learn", `misconception` set): for each active misconception, strongest evidence
   first (2 per graded result that showed it, 1 per quiz answer, then the most recent), a redo of
   each graded function that showed it, with the hint (until it has been tried REDO_LIMIT more
   times), then up to two practice-bank questions whose wrong options (or generated variants)
   name it and whose answer can still count (never answered, or generated). The reason says what
   the mistake is and what the rule says (the grader's hint text). When nothing that could show
   the mistake is gone is left, the misconception stays listed under `misconceptions` and its
   concept is practised through its learn entry.
2. learn: concepts not yet mastered. Those with direct evidence come first, in the course order
   of the items that gave it (a blank 4.1 notebook starts at bias_correction, 4.1's first
   function): direct evidence is never locked behind prerequisites nobody has observed. Then the
   unobserved concepts whose prerequisites are all mastered, ordered by the prerequisites:
   those that concepts being learned build on first, then the rest, in course order. Unobserved
   concepts with an unmastered prerequisite are "locked" and only listed under `concepts`.
3. review: mastered concepts due at `now` (FSRS), lowest retrievability first;
4. scheduled: the other mastered concepts, earliest due first.
Item of a learn entry: the concept's graded function with the lowest best score below 1 (in
course order), tried at most REDO_LIMIT times, then the concept's items in turn; reviews use bank
questions in turn. "In turn": the item practised longest ago first (never practised first), ties
to items whose answer still counts (a question never answered, a new instance of a generated
one, a new graded result); a repeated answer is practice, not evidence, but its feedback teaches.

Queue file `OUT/queues/<student>.json` (schema "alr-queue/1"; compact JSON, sorted keys):
    {"schema": "alr-queue/1", "student": "ann", "generated_at": "2026-03-03T08:00:00Z",
     "model": {"bkt_params": {...}, "mastery_threshold": 0.95, "fsrs_version": "6.3.2",
               "fsrs_parameters": [...], "desired_retention": 0.9},
     "entries": [{"rank": 1, "concept": "bias_correction", "kind": "learn",
                  "misconception": "no_bias_correction", "item": "exercise:adam_step",
                  "module": "4.1", "reason": "fix no_bias_correction: your adam_step ...",
                  "p_known": 0.171795, "retrievability": null, "due": "2026-03-03T08:00:00Z"}],
     "misconceptions": {"no_bias_correction": {"concept": "bias_correction", "active": true,
                        "revealed_by": ["exercise:adam_step"], "last_revealed": "...",
                        "cleared_at": null}},
     "concepts": {"ema": {"p_known": 0.99, "mastered": true, "mastered_at": "...",
                          "observations": 3, "retrievability": 0.97, "due": "...",
                          "state": "mastered" | "learning" | "locked", "prerequisites": []}}}
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import version
from typing import Any

from alr.contract import FUNCTION_MODULE
from quizzes.concepts import (
    FUNCTION_CONCEPTS,
    PREREQUISITES,
    ancestors,
    course_order,
)
from quizzes.evidence import Event
from quizzes.mastery import (
    BKT,
    DESIRED_RETENTION,
    MASTERY,
    SCHEDULER,
    ConceptState,
    MisconceptionState,
    StudentModel,
    replay,
)
from quizzes.misconceptions import MISCONCEPTIONS
from quizzes.model import Question, QuizCatalog
from quizzes.store import format_time

SCHEMA = "alr-queue/1"
_ORDER = course_order()
_FUNCTIONS = list(FUNCTION_CONCEPTS)
_FSRS_VERSION = version("fsrs")
_EPOCH = datetime.min.replace(tzinfo=UTC)


class EntryKind(StrEnum):
    LEARN = "learn"
    REVIEW = "review"
    SCHEDULED = "scheduled"


@dataclass(frozen=True)
class QueueEntry:
    """One line of a student's queue; `misconception` is set for targeted practice."""

    concept: str
    kind: EntryKind
    item: str
    module: str
    reason: str
    p_known: float
    retrievability: float | None
    due: datetime
    misconception: str | None = None


def _retrievability(state: ConceptState, now: datetime) -> float | None:
    if state.card is None:
        return None
    return float(SCHEDULER.get_card_retrievability(state.card, now))


def _pick_questions(
    candidates: Sequence[Question], model: StudentModel, n: int, taken: Collection[str] = ()
) -> list[Question]:
    """Never-answered questions first (only a first answer is evidence), then generated ones (a
    new instance is a fresh try), then the ones answered longest ago; ties by id. Never an item
    already listed."""

    def key(q: Question) -> tuple[bool, bool, datetime, str]:
        last = model.last_seen.get(f"quiz:{q.id}")
        return (last is not None, not q.generator, last or _EPOCH, q.id)

    return sorted((q for q in candidates if f"quiz:{q.id}" not in taken), key=key)[:n]


def _bank_item(concept: str, model: StudentModel, catalog: QuizCatalog) -> tuple[str, str]:
    """The concept's bank question practised longest ago (never first); ties: one whose answer
    still counts (a generated one) first. Reviews rotate through all of them: a repeat is
    practice, but its feedback still teaches."""
    candidates = [q for q in catalog.bank_questions if concept in q.concepts]
    if not candidates:
        return "", ""
    chosen = min(
        candidates,
        key=lambda q: (model.last_seen.get(f"quiz:{q.id}", _EPOCH), not q.generator, q.id),
    )
    return f"quiz:{chosen.id}", chosen.module


#: after this many results of a function without progress, practice moves to other items
REDO_LIMIT = 2


def _learn_item(
    concept: str, state: ConceptState, model: StudentModel, catalog: QuizCatalog, taken: set[str]
) -> tuple[str, str]:
    """The concept's graded function with the lowest best score below 1 (one the student was
    graded on first, then in course order) while it has been tried fewer than REDO_LIMIT times;
    then the concept's other items in turn, the one practised longest ago first, so that a
    student stuck on one function gets other ways in (a repeated question is practice, not
    evidence, but its feedback still teaches). Never an item already listed."""
    functions = [
        fn
        for fn, cs in FUNCTION_CONCEPTS.items()
        if concept in cs
        and state.best.get(f"exercise:{fn}", 0.0) < 1.0
        and f"exercise:{fn}" not in taken
    ]
    fresh = [fn for fn in functions if model.seen.get(f"exercise:{fn}", 0) < REDO_LIMIT]
    if fresh:
        fn = min(
            fresh,
            key=lambda f: (
                state.best.get(f"exercise:{f}", 0.0),
                0 if f"exercise:{f}" in state.best else 1,
                _FUNCTIONS.index(f),
            ),
        )
        return f"exercise:{fn}", FUNCTION_MODULE[fn]
    # least recently practised first; ties: what can still give evidence (a question never
    # answered, a new instance of a generated one, a new result of a function) before repeats
    options = [(1, f"exercise:{fn}", FUNCTION_MODULE[fn]) for fn in functions]
    for q in catalog.bank_questions:
        item = f"quiz:{q.id}"
        if concept in q.concepts and item not in taken:
            rank = 0 if item not in model.last_seen else 1 if q.generator else 2
            options.append((rank, item, q.module))
    if not options:
        return "", ""
    chosen = min(options, key=lambda o: (model.last_seen.get(o[1], _EPOCH), o[0], o[1]))
    return chosen[1], chosen[2]


def _words(m: str) -> str:
    found = MISCONCEPTIONS[m]
    return f"{found.did} {found.rule}"


def _fix_entries(model: StudentModel, catalog: QuizCatalog, now: datetime) -> list[QueueEntry]:
    active = [s for s in model.misconceptions.values() if s.active and s.id in MISCONCEPTIONS]
    active.sort(key=lambda s: (-s.weight, -s.last_revealed.timestamp(), s.id))
    entries: list[QueueEntry] = []
    for state in active:
        concept = MISCONCEPTIONS[state.id].concept
        p_known = model.states[concept].p_known
        taken = {e.item for e in entries}
        entries += _fix_for(state, concept, p_known, model, catalog, now, taken)
    return entries


def _fix_for(
    state: MisconceptionState,
    concept: str,
    p_known: float,
    model: StudentModel,
    catalog: QuizCatalog,
    now: datetime,
    taken: set[str],
) -> list[QueueEntry]:
    m = state.id
    shown_by = [i.split(":", 1)[1] for _, i, _ in state.reveals if i.startswith("quiz:")]
    entries = []
    redo = [i for i in state.exercise_items if i not in taken] if state.redos <= REDO_LIMIT else []
    for item in redo:
        fn = item.split(":", 1)[1]
        reason = f"fix {m}: your {fn} showed this mistake. {_words(m)} Redo {fn} with this hint."
        entries.append(
            QueueEntry(
                concept, EntryKind.LEARN, item, FUNCTION_MODULE[fn], reason, p_known, None, now, m
            )
        )
    targeting = catalog.questions_targeting(m)
    # a question already answered is practice only: it could never show the mistake is gone
    fresh = [q for q in targeting if q.generator or f"quiz:{q.id}" not in model.last_seen]
    for q in _pick_questions(fresh, model, 2, taken):
        if entries:
            reason = (
                f"practice for {m}: a question whose wrong answers include this mistake; "
                "a right first answer shows it is gone."
            )
        else:
            where = ", ".join(dict.fromkeys(shown_by)) or "a question"
            reason = (
                f"fix {m}: your answer to {where} showed this mistake. {_words(m)} "
                "This question's wrong answers include it; a right first answer clears it."
            )
        entries.append(
            QueueEntry(
                concept, EntryKind.LEARN, f"quiz:{q.id}", q.module, reason, p_known, None, now, m
            )
        )
    if not entries and not targeting:  # nothing targets it yet: practise its concept
        item, module = _bank_item(concept, model, catalog)
        reason = f"fix {m}: your answers showed this mistake. {_words(m)}"
        entries.append(
            QueueEntry(concept, EntryKind.LEARN, item, module, reason, p_known, None, now, m)
        )
    return entries


def _position(state: ConceptState, catalog: QuizCatalog) -> tuple[int, int]:
    """Where in the course the concept's direct evidence starts (module, then item order)."""
    best = (len(_ORDER) * 10, 0)
    for item in state.best:
        kind, _, name = item.partition(":")
        if kind == "exercise" and name in FUNCTION_MODULE:
            best = min(best, (_module_index(FUNCTION_MODULE[name]), _FUNCTIONS.index(name)))
        elif (q := catalog.question(name)) is not None:
            best = min(best, (_module_index(q.module), len(_FUNCTIONS)))
    return best


def _module_index(module: str) -> int:
    return sorted(set(FUNCTION_MODULE.values())).index(module)


def _learn_entries(
    model: StudentModel, catalog: QuizCatalog, now: datetime, listed: Sequence[QueueEntry]
) -> list[QueueEntry]:
    skip = {e.concept for e in listed}
    taken = {e.item for e in listed}
    mastered = model.mastered()
    observed = [c for c in _ORDER if c not in mastered and model.states[c].observations]
    needed = set().union(*(ancestors(c) for c in observed)) if observed else set()
    keyed = []
    for c in _ORDER:
        st = model.states[c]
        if c in mastered or c in skip:
            continue
        item, module = _learn_item(c, st, model, catalog, taken)
        p = f"P(known)={st.p_known:.2f} < {MASTERY:.2f}"
        if st.observations:
            best = st.best.get(item)
            done = (
                f"; your best on {item.split(':', 1)[1]} so far: {best:.0%}"
                if best is not None
                else ""
            )
            reason = f"learn {c}: {p} after {st.observations} observation(s){done}"
            key: tuple[Any, ...] = (0, _position(st, catalog), _ORDER.index(c))
        elif all(pre in mastered for pre in PREREQUISITES[c]):
            users = [d for d in observed if c in ancestors(d)]
            if users:
                why = f"needed for {', '.join(users)}, which you are learning"
            elif PREREQUISITES[c]:
                why = f"its prerequisites are mastered: {', '.join(PREREQUISITES[c])}"
            else:
                why = "it has no prerequisites"
            reason = f"learn {c}: not practised yet; {why}"
            key = (1 if c in needed else 2, (0, 0), _ORDER.index(c))
        else:
            continue
        keyed.append(
            (key, QueueEntry(c, EntryKind.LEARN, item, module, reason, st.p_known, None, now))
        )
    return [e for _, e in sorted(keyed, key=lambda x: x[0])]


def _review_entries(
    model: StudentModel, catalog: QuizCatalog, now: datetime
) -> tuple[list[QueueEntry], list[QueueEntry]]:
    review, scheduled = [], []
    for c in _ORDER:
        st = model.states[c]
        if st.card is None:
            continue
        r = _retrievability(st, now) or 0.0
        item, module = _bank_item(c, model, catalog)
        due = st.card.due
        if due <= now:
            reason = (
                f"review {c}: due {format_time(due)}, R={r:.2f} (target "
                f"{DESIRED_RETENTION:.2f}); mastered {format_time(st.mastered_at or due)}"
            )
            review.append(QueueEntry(c, EntryKind.REVIEW, item, module, reason, st.p_known, r, due))
        else:
            reason = f"scheduled {c}: R={r:.2f} now, next review due {format_time(due)}"
            scheduled.append(
                QueueEntry(c, EntryKind.SCHEDULED, item, module, reason, st.p_known, r, due)
            )
    review.sort(key=lambda e: (e.retrievability or 0.0, _ORDER.index(e.concept)))
    scheduled.sort(key=lambda e: (e.due, _ORDER.index(e.concept)))
    return review, scheduled


def plan(model: StudentModel, catalog: QuizCatalog, now: datetime) -> list[QueueEntry]:
    """The ordered entries for a student model (module docstring)."""
    fixes = _fix_entries(model, catalog, now)
    learn = _learn_entries(model, catalog, now, fixes)
    review, scheduled = _review_entries(model, catalog, now)
    return fixes + learn + review + scheduled


def student_model(events: Sequence[Event], catalog: QuizCatalog, now: datetime) -> StudentModel:
    """The model after every event at or before `now`."""
    return replay([e for e in events if e.time <= now], catalog.targets)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _time(x: datetime | None) -> str | None:
    return format_time(x) if x else None


def build_queue(
    student: str, events: Sequence[Event], catalog: QuizCatalog, now: datetime
) -> dict[str, Any]:
    """The queue document of one student (JSON object; see the module docstring)."""
    model = student_model(events, catalog, now)
    entries = plan(model, catalog, now)
    mastered = model.mastered()
    concepts = {}
    for c in _ORDER:
        st = model.states[c]
        locked = (
            st.card is None
            and not st.observations
            and not all(p in mastered for p in PREREQUISITES[c])
        )
        concepts[c] = {
            "p_known": _round(st.p_known),
            "mastered": st.mastered_at is not None,
            "mastered_at": _time(st.mastered_at),
            "observations": st.observations,
            "retrievability": _round(_retrievability(st, now)),
            "due": _time(st.card.due if st.card else None),
            "state": "locked" if locked else "mastered" if st.card else "learning",
            "prerequisites": list(PREREQUISITES[c]),
        }
    misconceptions = {
        m: {
            "concept": MISCONCEPTIONS[m].concept,
            "active": s.active,
            "revealed_by": sorted({i for _, i, _ in s.reveals}),
            "last_revealed": format_time(s.last_revealed),
            "cleared_at": _time(s.cleared_at),
        }
        for m, s in sorted(model.misconceptions.items())
        if m in MISCONCEPTIONS
    }
    return {
        "schema": SCHEMA,
        "student": student,
        "generated_at": format_time(now),
        "model": {
            "bkt_params": BKT.__dict__,
            "mastery_threshold": MASTERY,
            "fsrs_version": _FSRS_VERSION,
            "fsrs_parameters": list(SCHEDULER.parameters),
            "desired_retention": DESIRED_RETENTION,
        },
        "entries": [
            {
                "rank": i,
                "concept": e.concept,
                "kind": e.kind.value,
                "misconception": e.misconception,
                "item": e.item,
                "module": e.module,
                "reason": e.reason,
                "p_known": _round(e.p_known),
                "retrievability": _round(e.retrievability),
                "due": format_time(e.due),
            }
            for i, e in enumerate(entries, 1)
        ],
        "misconceptions": misconceptions,
        "concepts": concepts,
    }


def queue_json(document: dict[str, Any]) -> str:
    """The file text: compact JSON with sorted keys and a final newline (byte-stable; the C
    encoder, which json only uses without indent, keeps 1,000 queues well under a second)."""
    return json.dumps(document, sort_keys=True, allow_nan=False, separators=(",", ":")) + "\n"
