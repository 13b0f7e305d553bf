"""Offline evaluation and speed of the practice-queue model.

1. Prediction quality. Simulated learners practise the lesson's concepts (quiz and exercise
   events at random intervals over ~10 weeks) in three generative worlds:
     bkt          learn-then-slip BKT with parameters unlike the model's, no forgetting;
     exponential  acquisition, then exponential forgetting with a half-life that grows on
                  success and shrinks on failure (the HLR/Ebisu family);
     power-law    acquisition, then FSRS-6 forgetting with per-learner perturbed parameters.
   The queue model (quizzes.queue.ConceptState: BKT gate + FSRS retention, fixed default
   parameters) replays each learner's events in time order and predicts every outcome before
   seeing it. Time-ordered split: events before the 70% time quantile are "train" (they only
   set the baselines and warm the model), later events are scored. Reported: log loss and AUC
   of the model, of the always-average baseline (train mean) and of the per-concept mean.
   Simulation is a sanity check, not evidence that the queue helps learning.
2. Speed. `write_queues` on a results folder of S students x 10 modules (96 graded tests and 40
   quiz answers per student), against a baseline measured in the same run: reading and parsing
   the same input files (the I/O floor). Also the compute-only time (events already in memory).

    .venv/bin/python benchmarks/queue_eval.py [--learners 300] [--students 1000] [--seed 0]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

from alr.contract import FUNCTION_MODULE
from quizzes.api import write_queues
from quizzes.bank import load_quizzes
from quizzes.concepts import topological_order
from quizzes.evidence import Source, read_results_dir
from quizzes.model import QuizCatalog
from quizzes.queue import ConceptState, Observation, build_queue

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
            states[c].observe(Observation(when, src, y))
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
    speed = measure_speed(args.students, args.seed)
    report["speed"] = speed
    print(
        f"queues for {speed['students']} students x 10 modules ({speed['events']} events), "
        f"wall (CPU) seconds: end-to-end {speed['end_to_end_s']:.2f} "
        f"({speed['end_to_end_cpu_s']:.2f}), compute only {speed['compute_only_s']:.2f} "
        f"({speed['compute_only_cpu_s']:.2f}), baseline reading the inputs alone "
        f"{speed['read_baseline_s']:.2f} ({speed['read_baseline_cpu_s']:.2f}); "
        f"end-to-end / baseline {speed['end_to_end_over_baseline']:.1f}x"
    )
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
