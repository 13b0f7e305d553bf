"""Where grading time goes: per-stage cost of one full-course submission, against a baseline.

    python benchmarks/grade_stages.py [--repeats 3] [--breakdown] [--json FILE]

In one run, on this machine:
  1. baseline: the reference solutions executed in-process over every CPU case of the course
     (the arithmetic any grader has to do once; no sandbox, no comparison), best of 3; and a
     second one over the same cases the child runs, the meta-device portability cases included
     (torch runs meta tensors through Python decompositions, so these cost more than the
     CPU cases do);
  2. grades the correct submission and one submission per mistake fixture through every stage of
     the pipeline in a real sandbox (one worker, after one warm-up submission, one variant cache
     for the batch as `alr grade` keeps), timing each stage in the parent and reading the child's
     own run time (from the hand-over of its job to the end of its result stream) and the CPU
     time the worker measured for it;
  3. prints ms per stage (mean over submissions) and each as a ratio to the baseline; the
     parent's share is every stage's time less the child's own run time.
With --breakdown it then takes the child's run apart, for the correct submission: the same
code the sandboxed child runs, in a child forked from a process prepared as a sandbox worker is
(torch imported, its heap frozen), timed in CPU ms (median of 5 fresh children per part):
decoding the job, reading its programs, making the input tensors, the student's calls, the
checks for changed inputs and aliasing, describing and framing the results, and the meta-device
cases; the rest of the child's own run time is the sandbox (hand-over, pipes, process end).

Targets: the child's own run time <= 2 x the baseline; the parent's share below the child's.
Both baselines' ratios are printed.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.diagnosis.variants import VariantOutcomes  # noqa: E402
from autograder.plan import Plan, build_plan  # noqa: E402
from autograder.sandbox import Job, Limits, Sandbox, child, records, wire  # noqa: E402
from autograder.sandbox import pool as sandbox_pool  # noqa: E402
from autograder.stages.context import Context, Settings  # noqa: E402
from autograder.stages.extract import extract_functions  # noqa: E402
from autograder.stages.load import load_submission  # noqa: E402
from autograder.stages.pipeline import STAGES  # noqa: E402
from autograder.stages.run import build_job  # noqa: E402
from course.cases import program  # noqa: E402
from course.load import load_course  # noqa: E402
from solutions import reference  # noqa: E402

SUBMISSIONS = ROOT / "tests" / "fixtures" / "submissions"


def baseline(plan: Plan, *, meta: bool = False) -> float:
    """Seconds to run the reference over every CPU case in this process (with `meta`, over the
    meta-device portability cases too, as the sandboxed child runs them)."""
    devices = {"cpu", "meta"} if meta else {"cpu"}
    cases = [c for cs in plan.cases.values() for c in cs if c.device in devices]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for c in cases:
            inputs = {k: torch.from_numpy(np.array(v)).to(c.device) for k, v in c.inputs.items()}
            program.execute(
                c.program, inputs, {c.function: reference(c.function)}, check_purity=False
            )
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


def stages(plan: Plan, paths: list[Path], repeats: int, out: Path) -> dict[str, list[float]]:
    """Seconds per stage, per submission graded (and the child's own time and CPU)."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    reports: list[dict[str, Any]] = []
    interpret = sandbox_pool.interpret

    def keep(raw: Any, *args: Any) -> Any:  # the worker's report of each run
        reports.append(raw.report or {})
        return interpret(raw, *args)

    sandbox_pool.interpret = keep
    try:
        with Sandbox(workers=1, limits=Limits()) as sandbox:
            settings = Settings(plan, "bench", 1 << 23, out)
            variants = VariantOutcomes()
            warm = Context(paths[0], "warm", "", settings, runner=sandbox.run, variants=variants)
            for stage in STAGES:
                warm = stage(warm)
            for _ in range(repeats):
                for path in paths:
                    ctx = Context(
                        path, path.stem, "", settings, runner=sandbox.run, variants=variants
                    )
                    reports.clear()
                    for stage in STAGES:
                        t0 = time.perf_counter()
                        ctx = stage(ctx)
                        times[stage.__name__].append(time.perf_counter() - t0)
                    times["child (own run time)"].append(ctx.run.duration_s if ctx.run else 0.0)
                    cpu = sum(float(r.get("cpu_s", 0.0)) for r in reports)
                    times["child (CPU, worker's count)"].append(cpu)
    finally:
        sandbox_pool.interpret = interpret
    return times


# ---- the child's run, taken apart ----


def _prepared_worker() -> None:
    """This process as a sandbox worker is before it forks: torch imported with one thread,
    meta-tensor helpers loaded, heap frozen."""
    sys.path.insert(0, str(ROOT / "autograder" / "sandbox"))
    import worker  # the sandbox's own worker module, loaded by path as the sandbox does

    torch.set_num_threads(1)
    worker._skip_dynamo(torch)
    gc.freeze()


def _in_fresh_child(fn: Callable[[], dict[str, float]]) -> dict[str, float]:
    """fn()'s CPU ms per part, run in a child forked from this process (a fresh copy of a
    prepared worker, as each sandbox child is)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.write(write, json.dumps(fn()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    return dict(json.loads(b"".join(chunks) or b"{}"))


def _timed_run(frame: bytes, purity: bool) -> dict[str, float]:
    """`child.run_job`'s steps, one after the other as it takes them, each timed (CPU ms)."""
    spent: dict[str, float] = collections.defaultdict(float)
    clock = time.process_time

    def step(name: str, started: float) -> float:
        now = clock()
        spent[name] += (now - started) * 1e3
        return now

    t = clock()
    meta, arrays = wire.decode_frame(frame, max_bytes=1 << 28)
    t = step("decode the job", t)
    programs = [program.Program.from_obj(p) for p in meta["programs"]]
    t = step("read the programs", t)
    namespace, _ = child.load_source(meta["source"])
    assert namespace is not None
    functions = {k: v for k, v in namespace.items() if callable(v) and not k.startswith("__")}
    t = step("run the source (definitions)", t)
    for case in meta["cases"]:
        prog, device = programs[case["program"]], case["device"]
        tensors = {n: child._tensor(torch, arrays[i], device) for n, i in case["inputs"].items()}
        t = step("make the input tensors", t)
        outcomes = program.execute(prog, tensors, functions, check_purity=purity)
        t = step(f"{device} cases: the calls", t)
        enc = child._Encoder(torch, 1 << 62)
        calls = [enc.outcome(o, c, 1 << 20) for o, c in zip(outcomes, prog.calls, strict=True)]
        wire.encode_raw({"case": case["id"], "calls": calls}, enc.raws)
        t = step("describe and frame the results", t)
    return dict(spent)


def breakdown(job: Job) -> dict[str, float]:
    """CPU ms per part of the child's run of `job` (see the module docstring): the median over
    5 fresh children of each part, and the checks of inputs (changed in place, aliased) as the
    difference between runs with and without them."""
    frame = records.encode_job(job)
    with_checks: dict[str, list[float]] = collections.defaultdict(list)
    without: dict[str, list[float]] = collections.defaultdict(list)
    whole: list[float] = []

    def run_job() -> dict[str, float]:
        t = time.process_time()
        meta, arrays = wire.decode_frame(frame, max_bytes=1 << 28)
        child.run_job(program, meta, arrays, emit=lambda m, raws: wire.encode_raw(m, raws))
        return {"whole": (time.process_time() - t) * 1e3}

    for _ in range(5):
        whole.append(_in_fresh_child(run_job)["whole"])
        for name, ms in _in_fresh_child(lambda: _timed_run(frame, True)).items():
            with_checks[name].append(ms)
        for name, ms in _in_fresh_child(lambda: _timed_run(frame, False)).items():
            without[name].append(ms)
    parts = {"whole run (run_job)": statistics.median(whole)}
    for name, values in with_checks.items():
        if "cases: the calls" in name:
            calls = statistics.median(without[name])
            parts[f"{name}, student code"] = calls
            parts[f"{name}, input checks"] = statistics.median(values) - calls
        else:
            parts[name] = statistics.median(values)
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=1, help="passes over the submissions")
    ap.add_argument("--breakdown", action="store_true", help="take the child's run apart")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    load_before = os.getloadavg()
    exercises = [e for m in load_course().modules for e in m.exercises]
    plan = build_plan(exercises, seed=1, devices=("cpu",))
    plan.warm(plan.cases)
    base = baseline(plan)
    base_all = baseline(plan, meta=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = submissions(Path(tmp))
        times = stages(plan, paths, args.repeats, Path(tmp) / "out")
        parts: dict[str, float] = {}
        if args.breakdown:
            settings = Settings(plan, "bench", 1 << 23, Path(tmp) / "out")
            ctx = extract_functions(load_submission(Context(paths[0], "c", "", settings)))
            job = build_job(ctx)
            assert job is not None
            _prepared_worker()
            parts = breakdown(job)
    load_after = os.getloadavg()
    n_cases = sum(len(c) for c in plan.cases.values())
    loads = " ".join(f"{x:.2f}" for x in load_before), " ".join(f"{x:.2f}" for x in load_after)
    print(
        f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) {loads[0]} before, "
        f"{loads[1]} after"
    )
    print(f"course: {n_cases} cases; {len(times['compare'])} submissions graded")
    print(f"baseline (reference over every CPU case, in-process): {base * 1e3:.1f} ms")
    figures: dict[str, float] = {"baseline_ms": base * 1e3, "baseline_with_meta_ms": base_all * 1e3}
    child_s = statistics.mean(times["child (own run time)"])
    total = 0.0
    for name, values in times.items():
        mean = statistics.mean(values)
        if not name.startswith("child"):
            total += mean
        print(f"  {name:30s} {mean * 1e3:8.1f} ms   {mean / base:6.2f} x baseline")
        figures[name] = mean * 1e3
    parent = total - child_s
    print(f"  {'parent share':30s} {parent * 1e3:8.1f} ms   {parent / base:6.2f} x baseline")
    print(f"  child's own run time / baseline: {child_s / base:.2f} (target <= 2)")
    print(
        f"  child's own run time / the reference over the same {n_cases} cases, meta included "
        f"({base_all * 1e3:.1f} ms): {child_s / base_all:.2f}"
    )
    print(f"  parent share / child's own run time: {parent / child_s:.2f} (target < 1)")
    figures["parent share"] = parent * 1e3
    if parts:
        print("the child's run of the correct submission, CPU ms in a fresh fork (median of 5):")
        for name, ms in parts.items():
            print(f"  {name:36s} {ms:7.1f} ms   {ms / (base * 1e3):5.2f} x baseline")
        figures.update({f"child part: {k}": v for k, v in parts.items()})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
