"""Where grading time goes: per-stage cost of one full-course submission, against a baseline.

    python benchmarks/grade_stages.py [--repeats 5]

In one run, on this machine:
  1. baseline: the reference solutions executed in-process over every case of the course (the
     arithmetic any grader has to do once; no sandbox, no comparison), best of 3;
  2. grades the correct submission and one submission per mistake fixture through every stage of
     the pipeline in a real sandbox (one worker, after one warm-up submission), timing each stage
     in the parent and reading the child's own run time;
  3. prints ms per stage (mean over submissions) and each as a ratio to the baseline.

The parent's share (extract + compare + diagnose + score + report) is what the grader adds on top
of running the student's code; the target is that it stays below the child's own run time.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alr.contract import reference  # noqa: E402
from autograder.plan import build_plan  # noqa: E402
from autograder.sandbox import Limits, Sandbox  # noqa: E402
from autograder.stages.context import Context, Settings  # noqa: E402
from autograder.stages.pipeline import STAGES  # noqa: E402
from course.cases.program import execute  # noqa: E402
from course.load import load_course  # noqa: E402

SUBMISSIONS = ROOT / "tests" / "fixtures" / "submissions"


def baseline(plan) -> float:
    """Seconds to run the reference over every (non-meta) case in this process."""
    cases = [c for cs in plan.cases.values() for c in cs if c.device == "cpu"]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for c in cases:
            inputs = {k: torch.from_numpy(np.array(v)) for k, v in c.inputs.items()}
            execute(c.program, inputs, {c.function: reference(c.function)}, check_purity=False)
        runs.append(time.perf_counter() - t0)
    return min(runs)


def submissions(folder: Path) -> list[Path]:
    correct = (SUBMISSIONS / "correct.py").read_text()
    paths = [folder / "correct.py"]
    paths[0].write_text(correct)
    for mistake in sorted((SUBMISSIONS / "mistakes").glob("*.py")):
        path = folder / mistake.name
        path.write_text(correct + mistake.read_text())
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=1, help="passes over the submissions")
    args = ap.parse_args()
    exercises = [e for m in load_course().modules for e in m.exercises]
    plan = build_plan(exercises, seed=1, devices=("cpu",))
    base = baseline(plan)
    times: dict[str, list[float]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(workers=1, limits=Limits()) as sandbox:
        settings = Settings(plan, "bench", 1 << 23, Path(tmp) / "out")
        paths = submissions(Path(tmp))
        warm = Context(paths[0], "warm", "", settings, runner=sandbox.run)
        for stage in STAGES:
            warm = stage(warm)
        for _ in range(args.repeats):
            for path in paths:
                ctx = Context(path, path.stem, "", settings, runner=sandbox.run)
                for stage in STAGES:
                    t0 = time.perf_counter()
                    ctx = stage(ctx)
                    times[stage.__name__].append(time.perf_counter() - t0)
                times["child (own run time)"].append(ctx.run.duration_s if ctx.run else 0.0)
    n_cases = sum(len(c) for c in plan.cases.values())
    print(f"course: {n_cases} cases; {len(times['compare'])} submissions graded")
    print(f"baseline (reference over every CPU case, in-process): {base * 1e3:.0f} ms")
    parent = 0.0
    for name, values in times.items():
        mean = statistics.mean(values)
        if name not in ("run_in_sandbox", "child (own run time)"):
            parent += mean
        print(f"  {name:24s} {mean * 1e3:8.1f} ms   {mean / base:6.2f} x baseline")
    print(f"  {'parent share':24s} {parent * 1e3:8.1f} ms   {parent / base:6.2f} x baseline")


if __name__ == "__main__":
    main()
