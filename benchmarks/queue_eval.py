"""Offline evaluation, teaching simulation and speed of the practice queue.

1. Prediction quality. Simulated learners practise the lesson's concepts (quiz and exercise
   events at random intervals over ~10 weeks) in three generative worlds:
     bkt          learn-then-slip BKT with parameters unlike the model's, no forgetting;
     exponential  acquisition, then exponential forgetting with a half-life that grows on
                  success and shrinks on failure (the HLR/Ebisu family);
     power-law    acquisition, then FSRS-6 forgetting with per-learner perturbed parameters.
   The queue model (quizzes.mastery.ConceptState: BKT gate + FSRS retention, fixed default
   parameters) replays each learner's events in time order and predicts every outcome before
   seeing it. Time-ordered split: events before the 70% time quantile are "train" (they only
   set the baselines and warm the model), later events are scored. Reported: log loss and AUC
   of the model, of the always-average baseline (train mean) and of the per-concept mean.
   Simulation is a sanity check, not evidence that the queue helps learning.
2. Teaching. Simulated learners hold misconceptions (about 1 in 8 of the course's named ones,
   about 5 each) that block learning their concept until practice reveals them and the
   feedback is read (a graded function that shows the mistake gives its hint; a question whose
   chosen wrong option names it gives its explanation): then the mistake goes with
   probability 0.5. Each practice item otherwise teaches each of its concepts with probability
   0.25 (a third of that while a prerequisite is unknown). Items are the course's graded
   functions and practice-bank questions; 20 items a day. Policies: this queue; the same
   mastery gate without misconception targeting (misconception ids stripped from the
   evidence); round-robin over concepts in course order; random order. Reported: practice
   items until every concept is known and no misconception is held (capped), in three
   worlds: no forgetting, exponential forgetting, power-law forgetting.
3. Speed. `write_queues` on a results folder of S students x 10 modules (96 graded tests and 40
   quiz answers per student), against a baseline measured in the same run: reading and parsing
   the same input files (the I/O floor). Also the compute-only time (events already in memory).

    .venv/bin/python benchmarks/queue_eval.py [--learners 300] [--students 1000] [--seed 0]
        [--teach-learners 60] [--cap 1500]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

from alr.contract import FUNCTION_MODULE
from quizzes.api import write_queues
from quizzes.bank import load_quizzes
from quizzes.concepts import (
    FUNCTION_CONCEPTS,
    PREREQUISITES,
    ancestors,
    course_order,
    topological_order,
)
from quizzes.evidence import Event, Source, read_results_dir
from quizzes.mastery import ConceptState, StudentModel
from quizzes.misconceptions import MISCONCEPTIONS
from quizzes.model import Question, QuizCatalog
from quizzes.queue import EntryKind, build_queue, plan

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONCEPTS = topological_order()
Sample = tuple[datetime, str, Source, float]  # time, concept, source, outcome


def _schedule(rng: random.Random) -> list[tuple[datetime, str, Source]]:
    """When a learner practises what: concepts in course order, 5-9 sessions each."""
    out = []
    for k, concept in enumerate(CONCEPTS):
        day = 2.5 * k + rng.uniform(0, 2)
        for _ in range(rng.randint(5, 9)):
            source = Source.QUIZ if rng.random() < 0.7 else Source.EXERCISE
            out.append((T0 + timedelta(days=day, hours=rng.uniform(0, 8)), concept, source))
            day += rng.expovariate(1 / 4.0) + 0.1
    return sorted(out, key=lambda x: x[0])


def _guess(source: Source) -> float:
    return 0.2 if source is Source.QUIZ else 0.08


def world_bkt(rng: random.Random) -> list[Sample]:
    known = {c: rng.random() < 0.3 for c in CONCEPTS}
    samples = []
    for when, c, src in _schedule(rng):
        y = rng.random() < (0.92 if known[c] else _guess(src))
        samples.append((when, c, src, float(y)))
        known[c] = known[c] or rng.random() < 0.25
    return samples


def world_exponential(rng: random.Random) -> list[Sample]:
    learned: dict[str, bool] = {c: False for c in CONCEPTS}
    half: dict[str, float] = {c: 1.0 for c in CONCEPTS}
    last: dict[str, datetime] = {}
    samples = []
    for when, c, src in _schedule(rng):
        if learned[c]:
            recall = 2 ** (-(when - last[c]).total_seconds() / 86400 / half[c])
            p = recall * 0.95 + (1 - recall) * _guess(src)
        else:
            p = _guess(src)
        y = rng.random() < p
        samples.append((when, c, src, float(y)))
        if learned[c]:
            half[c] = half[c] * 2.5 if y else max(0.5, half[c] / 2)
        learned[c] = learned[c] or rng.random() < 0.5
        last[c] = when
    return samples


def world_power_law(rng: random.Random) -> list[Sample]:
    base = Scheduler().parameters
    params = (
        [  # perturbed, kept inside fsrs's accepted bounds
            min(hi, max(lo, p * rng.uniform(0.7, 1.3)))
            for p, lo, hi in zip(
                base[:-1], LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=False
            )
        ]
        + [base[-1]]
    )
    sched = Scheduler(
        parameters=params, learning_steps=(), relearning_steps=(), enable_fuzzing=False
    )
    cards: dict[str, Card] = {}
    samples = []
    for when, c, src in _schedule(rng):
        if c in cards:
            r = float(sched.get_card_retrievability(cards[c], when))
            p = r * 0.95 + (1 - r) * _guess(src)
        else:
            p = _guess(src)
        y = rng.random() < p
        samples.append((when, c, src, float(y)))
        if c in cards:
            cards[c], _ = sched.review_card(cards[c], Rating.Good if y else Rating.Again, when)
        elif rng.random() < 0.5:
            cards[c], _ = sched.review_card(Card(card_id=1, due=when), Rating.Good, when)
    return samples


WORLDS: dict[str, Callable[[random.Random], list[Sample]]] = {
    "bkt": world_bkt,
    "exponential": world_exponential,
    "power-law": world_power_law,
}


def log_loss(ps: list[float], ys: list[float]) -> float:
    eps = 1e-6
    return -sum(
        y * math.log(max(p, eps)) + (1 - y) * math.log(max(1 - p, eps))
        for p, y in zip(ps, ys, strict=True)
    ) / len(ys)


def auc(ps: list[float], ys: list[float]) -> float:
    """Mann-Whitney AUC with average ranks for ties (0.5 = no discrimination)."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    ranks = [0.0] * len(ps)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and ps[order[j + 1]] == ps[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(ys)
    neg = len(ys) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    return (sum(r for r, y in zip(ranks, ys, strict=True) if y) - pos * (pos + 1) / 2) / (pos * neg)


def evaluate_world(name: str, learners: int, seed: int) -> dict[str, float]:
    rng = random.Random(f"{name}:{seed}")
    logs = [WORLDS[name](rng) for _ in range(learners)]
    times = sorted(s[0] for log in logs for s in log)
    cutoff = times[int(0.7 * len(times))]
    train = [s for log in logs for s in log if s[0] < cutoff]
    avg = sum(s[3] for s in train) / len(train)
    per_concept = {c: [s[3] for s in train if s[1] == c] for c in CONCEPTS}
    concept_mean = {c: (sum(v) / len(v) if v else avg) for c, v in per_concept.items()}
    model, ys, base_c = [], [], []
    for log in logs:
        states = {c: ConceptState() for c in CONCEPTS}
        for when, c, src, y in log:
            if when >= cutoff:
                model.append(states[c].predict(when, src))
                ys.append(y)
                base_c.append(concept_mean[c])
            states[c].observe(when, src, y)
    base = [avg] * len(ys)
    return {
        "events": len(times),
        "scored": len(ys),
        "model_logloss": log_loss(model, ys),
        "avg_logloss": log_loss(base, ys),
        "concept_logloss": log_loss(base_c, ys),
        "model_auc": auc(model, ys),
        "avg_auc": auc(base, ys),
        "concept_auc": auc(base_c, ys),
    }


# --- 2. teaching -------------------------------------------------------------------------------
P_FIX, P_LEARN, P_SHOW, PER_DAY = 0.5, 0.25, 0.8, 20
POLICIES = ("queue", "gate", "round-robin", "random")
FORGETTING = {"none": None, "exponential": "exponential", "power-law": "power"}


@dataclass(frozen=True)
class Item:
    id: str
    concepts: tuple[str, ...]
    shows: tuple[str, ...]  # misconceptions a wrong answer or result to it can reveal
    question: Question | None


def course_items(catalog: QuizCatalog) -> list[Item]:
    """Graded functions (they can show the grader's mistakes about what they build on) and
    practice-bank questions (their wrong options' and variants' misconceptions)."""
    found = []
    for fn, concepts in FUNCTION_CONCEPTS.items():
        reach = set(concepts).union(*(ancestors(c) for c in concepts))
        shows = tuple(m for m, x in MISCONCEPTIONS.items() if x.graded and x.concept in reach)
        found.append(Item(f"exercise:{fn}", concepts, shows, None))
    found += [Item(f"quiz:{q.id}", q.concepts, q.misconceptions, q) for q in catalog.bank_questions]
    return found


@dataclass
class Learner:
    known: dict[str, bool]
    held: set[str]
    last: dict[str, float] = field(default_factory=dict)  # concept -> day last practised
    strength: dict[str, float] = field(default_factory=dict)  # days (half-life or stability)

    def done(self) -> bool:
        return not self.held and all(self.known.values())


def new_learner(rng: random.Random, targeted: list[str]) -> Learner:
    held = {m for m in targeted if rng.random() < 0.125}
    blocked = {MISCONCEPTIONS[m].concept for m in held}
    known = {c: c not in blocked and rng.random() < 0.3 for c in PREREQUISITES}
    return Learner(known, held, {c: 0.0 for c in known}, {c: 3.0 for c in known})


def forget(learner: Learner, day: float, kind: str | None, rng: random.Random) -> None:
    """Known concepts fade between practice: exponential (half-life) or power-law (FSRS)."""
    if kind is None:
        return
    step = 1 / PER_DAY
    for c, known in learner.known.items():
        if not known:
            continue
        t, s = day - learner.last[c], learner.strength[c]
        if kind == "exponential":
            keep = 2 ** (-step / s)
        else:
            keep = ((1 + (t + step) / (9 * s)) / (1 + t / (9 * s))) ** -1
        if rng.random() > keep:
            learner.known[c] = False


def respond(learner: Learner, item: Item, rng: random.Random) -> tuple[float, tuple[str, ...]]:
    """The fraction right and the misconceptions the answer shows."""
    held = [m for m in item.shows if m in learner.held]
    if held and rng.random() < P_SHOW:
        return 0.0, (held[0],)
    ok = all(learner.known[c] for c in item.concepts)
    if item.question is None:
        return (1.0 if ok and rng.random() > 0.05 else 0.0), ()
    if rng.random() < (0.9 if ok else 0.25):
        return 1.0, ()
    wrong = [o for o in item.question.options if not o.correct]
    pick = rng.choice(wrong) if wrong else None
    return 0.0, ((pick.misconception,) if pick and pick.misconception else ())


def learn(
    learner: Learner, item: Item, shown: tuple[str, ...], day: float, rng: random.Random
) -> None:
    """Feedback: a shown mistake may go; each concept may be learnt or strengthened."""
    for m in shown:
        if m in learner.held and rng.random() < P_FIX:
            learner.held.discard(m)
    blocked = {MISCONCEPTIONS[m].concept for m in learner.held}
    for c in item.concepts:
        if learner.known[c]:
            learner.strength[c] *= 2.5
        elif c not in blocked:
            ready = all(learner.known[p] for p in PREREQUISITES[c])
            if rng.random() < (P_LEARN if ready else P_LEARN / 3):
                learner.known[c], learner.strength[c] = True, 3.0
        learner.last[c] = day


class Chooser:
    """One policy's choice of the next item for one learner."""

    def __init__(self, policy: str, items: list[Item], catalog: QuizCatalog, rng: random.Random):
        self.policy, self.items, self.catalog, self.rng = policy, items, catalog, rng
        self.by_id = {i.id: i for i in items}
        self.model = StudentModel()
        self.answered: set[str] = set()  # questions answered once: a repeat is practice
        self.turn = 0
        order = course_order()
        self.cycle = [[i for i in items if c in i.concepts] for c in order]
        self.pointer = [0] * len(order)

    def next(self, now: datetime) -> Item:
        if self.policy == "random":
            return self.rng.choice(self.items)
        if self.policy == "round-robin":
            k = self.turn % len(self.cycle)
            self.turn += 1
            item = self.cycle[k][self.pointer[k] % len(self.cycle[k])]
            self.pointer[k] += 1
            return item
        entries = plan(self.model, self.catalog, now)
        live = [e for e in entries if e.item and e.kind is not EntryKind.SCHEDULED]
        chosen = (live or [e for e in entries if e.item])[0]
        return self.by_id.get(chosen.item) or self.rng.choice(self.items)

    def tell(self, item: Item, now: datetime, frac: float, shown: tuple[str, ...]) -> None:
        if self.policy not in ("queue", "gate"):
            return
        practice = bool(item.question and not item.question.generator and item.id in self.answered)
        self.answered.add(item.id)  # only a first answer is evidence (quizzes.scoring)
        shown = shown if self.policy == "queue" else ()
        source = Source.QUIZ if item.question else Source.EXERCISE
        concepts = list(item.concepts)
        concepts += [
            MISCONCEPTIONS[m].concept for m in shown if MISCONCEPTIONS[m].concept not in concepts
        ]
        for c in concepts:
            f = frac if c in item.concepts else 0.0
            event = Event(now, c, item.id, source, f, () if practice else shown, practice)
            self.model.observe(event, self.catalog.targets)


def teach_one(
    policy: str, world: str, learner_seed: str, items: list[Item], catalog: QuizCatalog, cap: int
) -> int:
    """Items until the learner knows every concept and holds no misconception (cap if never)."""
    targeted = sorted(m for m in MISCONCEPTIONS if any(m in i.shows for i in items))
    learner = new_learner(random.Random(learner_seed), targeted)
    rng = random.Random(f"{learner_seed}:run")  # the same answers and luck for every policy
    chooser = Chooser(policy, items, catalog, random.Random(f"{learner_seed}:{policy}"))
    for n in range(cap):
        if learner.done():
            return n
        day = n / PER_DAY
        now = T0 + timedelta(days=day)
        item = chooser.next(now)
        frac, shown = respond(learner, item, rng)
        learn(learner, item, shown, day, rng)
        chooser.tell(item, now, frac, shown)
        forget(learner, day, FORGETTING[world], rng)
    return cap


def evaluate_teaching(learners: int, seed: int, cap: int, catalog: QuizCatalog) -> dict[str, Any]:
    items = course_items(catalog)
    report: dict[str, Any] = {}
    for world in FORGETTING:
        counts = {
            p: [
                teach_one(p, world, f"{world}:{seed}:{i}", items, catalog, cap)
                for i in range(learners)
            ]
            for p in POLICIES
        }
        rr = sum(counts["round-robin"]) / learners
        report[world] = {
            p: {
                "mean_items": sum(c) / learners,
                "median_items": sorted(c)[learners // 2],
                "capped": sum(x >= cap for x in c) / learners,
                "fewer_than_round_robin": 1 - (sum(c) / learners) / rr,
            }
            for p, c in counts.items()
        }
    return report


def _synthetic_results(root: Path, students: int, catalog: QuizCatalog, seed: int) -> None:
    rng = random.Random(seed)
    checks = [q for m in catalog.modules for q in m.skill_check]
    for s in range(students):
        name = f"s{s:05d}"
        day = T0 + timedelta(days=rng.randrange(60))
        tests = [
            {
                "name": f"{mod} {fn} #{k}",
                "score": float(rng.random() < 0.8),
                "max_score": 1.0,
                "tags": [mod, fn],
                "extra_data": {"module": mod, "function": fn, "diagnosis": None},
            }
            for fn, mod in FUNCTION_MODULE.items()
            for k in range(4)
        ]
        doc = {
            "score": 0,
            "max_score": 96,
            "tests": tests,
            "extra_data": {"student": name, "graded_at": day.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }
        (root / f"{name}.json").write_text(json.dumps(doc))
        history = [
            {
                "event_id": f"{name}-{i}",
                "question": q.id,
                "score": float(rng.random() < 0.7),
                "max_score": 1.0,
                "answered_at": (day + timedelta(days=i // 4, minutes=i)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            }
            for i, q in enumerate(checks)
        ]
        (root / "quizzes" / f"{name}.json").write_text(
            json.dumps({"student": name, "history": history})
        )


def _best(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, float]:
    """Best wall-clock and best CPU (process) time of `repeats` runs; on a busy machine the CPU
    time is the steadier figure."""
    wall = cpu = math.inf
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def measure_speed(students: int, seed: int) -> dict[str, float]:
    catalog = load_quizzes()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "results"
        (root / "quizzes").mkdir(parents=True)
        _synthetic_results(root, students, catalog, seed)
        files = sorted(root.glob("*.json")) + sorted((root / "quizzes").glob("*.json"))
        baseline, baseline_cpu = _best(lambda: [json.loads(p.read_text()) for p in files])
        end_to_end, end_to_end_cpu = _best(
            lambda: write_queues(results=root, out=Path(tmp) / "out", catalog=catalog)
        )
        events, _ = read_results_dir(root, catalog)
        now = max(e.time for evs in events.values() for e in evs)

        def compute() -> None:
            for student, evs in events.items():
                build_queue(student, evs, catalog, now)

        compute_only, compute_cpu = _best(compute)
    n_events = sum(len(v) for v in events.values())
    return {
        "students": students,
        "events": n_events,
        "read_baseline_s": baseline,
        "end_to_end_s": end_to_end,
        "compute_only_s": compute_only,
        "read_baseline_cpu_s": baseline_cpu,
        "end_to_end_cpu_s": end_to_end_cpu,
        "compute_only_cpu_s": compute_cpu,
        "end_to_end_over_baseline": end_to_end / baseline,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teach-learners", type=int, default=60)
    parser.add_argument("--cap", type=int, default=1500)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"worlds": {}}
    head = f"{'world':<12} {'scored':>7} {'log loss model/avg/concept':>27}"
    print(head + f" {'AUC model/avg/concept':>24}")
    for name in WORLDS:
        r = evaluate_world(name, args.learners, args.seed)
        report["worlds"][name] = r
        print(
            f"{name:<12} {r['scored']:>7} {r['model_logloss']:>9.3f}/{r['avg_logloss']:.3f}/"
            f"{r['concept_logloss']:.3f} {r['model_auc']:>10.3f}/{r['avg_auc']:.3f}/"
            f"{r['concept_auc']:.3f}"
        )
    teaching = evaluate_teaching(args.teach_learners, args.seed, args.cap, load_quizzes())
    report["teaching"] = teaching
    print(
        f"\npractice items until every concept is known and no misconception held "
        f"({args.teach_learners} learners, cap {args.cap}): mean / median / capped share / "
        "fewer items than round-robin"
    )
    for world, by_policy in teaching.items():
        for policy, r in by_policy.items():
            print(
                f"{world:<12} {policy:<12} {r['mean_items']:>7.1f} {r['median_items']:>6} "
                f"{r['capped']:>6.0%} {r['fewer_than_round_robin']:>+7.0%}"
            )
    speed = measure_speed(args.students, args.seed)
    report["speed"] = speed
    print(
        f"\nqueues for {speed['students']} students x 10 modules ({speed['events']} events), "
        f"wall (CPU) seconds: end-to-end {speed['end_to_end_s']:.2f} "
        f"({speed['end_to_end_cpu_s']:.2f}), compute only {speed['compute_only_s']:.2f} "
        f"({speed['compute_only_cpu_s']:.2f}), baseline reading the inputs alone "
        f"{speed['read_baseline_s']:.2f} ({speed['read_baseline_cpu_s']:.2f}); "
        f"end-to-end / baseline {speed['end_to_end_over_baseline']:.1f}x"
    )
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
