"""How grading grows: class size (50, 200, 1,000 submissions) x workers (1, 2, every core).

    python benchmarks/grading_scale.py [--sizes 50 200 1000] [--workers 1 2 0] [--hostile 3]
                                       [--json FILE]

For every (size, workers) pair, in one run on this machine, a fresh `alr grade --workers W`
grades that many full-course submissions (one in three correct, the others each with one known
mistake, plus a few red-team ones: `grading_throughput.make_submissions`) into a new folder.
Reported per pair: wall seconds, ms per submission, the ratio to one `import torch` (median of
three before and three after the whole run), full-course submissions per hour of this whole
machine and per core-hour (that over its cores: the grader's own process shares them with the
workers, so every core counts as in use), and memory: the grader's own peak RSS, and per
worker the peak of its proportional set size (PSS: shared pages split among the processes
sharing them, the worker and its child together), sampled every 50 ms. Then the fit
wall = start-up + n x per-submission for each worker count, and the load average before and
after. (`--workers 0` means every core.)

Nothing here is a pass/fail target: it is the capacity the README states, on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grading_throughput import check_full_marks, load, make_submissions, time_torch_import

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.sandbox import procs  # noqa: E402


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _rss_peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Sampler(threading.Thread):
    """Samples the grader's peak RSS and each worker's PSS (with its child's) every 50 ms."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.stop = root, threading.Event()
        self.grader_kb = 0
        self.worker_kb: dict[int, int] = {}

    def run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                self.sample()
            except OSError:
                continue

    def sample(self) -> None:
        self.grader_kb = max(self.grader_kb, _rss_peak_kb(self.root))
        tree = procs.below(self.root)
        python = {pid for pid in tree if _is_python(pid)}
        for pid in python:
            if tree[pid] in python:  # a worker's child (its spare, or the running one)
                continue
            kids = [c for c, p in tree.items() if p == pid]
            total = _pss_kb(pid) + sum(_pss_kb(c) for c in kids)
            self.worker_kb[pid] = max(self.worker_kb.get(pid, 0), total)


def _is_python(pid: int) -> bool:
    """A sandbox worker or its child (bubblewrap and the cgroup shell are not Python)."""
    try:
        return "python" in Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        return False


def grade(subs: Path, out: Path, workers: int) -> tuple[float, Sampler]:
    alr = str(Path(sys.executable).with_name("alr"))
    files = sorted(str(p) for p in subs.iterdir())
    argv = [alr, "grade", *files, "--out", str(out), "--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*argv, "--seed", "20240611"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    sampler = Sampler(proc.pid)
    sampler.start()
    code = proc.wait()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"alr grade exited with {code}")
    return wall, sampler


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares wall = a + b n over (n, wall) points: (a, b)."""
    ns, ws = [p[0] for p in points], [p[1] for p in points]
    n_mean, w_mean = statistics.mean(ns), statistics.mean(ws)
    var = sum((n - n_mean) ** 2 for n in ns)
    b = sum((n - n_mean) * (w - w_mean) for n, w in points) / var if var else 0.0
    return w_mean - b * n_mean, b


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 0])
    ap.add_argument("--hostile", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    workers = sorted({w or cores for w in args.workers})
    work = Path(tempfile.mkdtemp(prefix="alr-scale-"))
    rows: list[dict[str, float]] = []
    try:
        before_load = load()
        before = time_torch_import()
        for n in args.sizes:
            subs = work / f"subs-{n}"
            kinds = make_submissions(subs, n - args.hostile, args.hostile)
            for w in workers:
                out = work / f"out-{n}-{w}"
                wall, sampler = grade(subs, out, w)
                full, correct = check_full_marks(out, kinds)
                if full != correct:
                    raise SystemExit(f"n={n} w={w}: {full}/{correct} correct at full marks")
                worker_mb = [kb / 1024 for kb in sampler.worker_kb.values()]
                rows.append(
                    {
                        "submissions": len(kinds),
                        "workers": w,
                        "wall_s": wall,
                        "ms_per_submission": wall / len(kinds) * 1e3,
                        "per_hour": len(kinds) / (wall / 3600),
                        "per_core_hour": len(kinds) / (wall * cores / 3600),
                        "grader_peak_rss_mb": sampler.grader_kb / 1024,
                        "worker_peak_pss_mb": max(worker_mb, default=float("nan")),
                    }
                )
                shutil.rmtree(out, ignore_errors=True)
        after = time_torch_import()
        after_load = load()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    unit = statistics.median([*before, *after])
    print(
        f"machine: {cores} cores; load average (1, 5, 15 min) "
        + " ".join(f"{x:.2f}" for x in before_load)
        + " before, "
        + " ".join(f"{x:.2f}" for x in after_load)
        + f" after; one `import torch` (median of 6): {unit * 1e3:.0f} ms"
    )
    print(
        f"{'n':>6} {'W':>3} {'wall s':>8} {'ms/sub':>7} {'x torch':>8} {'subs/hour':>10} "
        f"{'subs/core-h':>12} {'grader MB':>10} {'worker MB':>10}"
    )
    for r in rows:
        print(
            f"{r['submissions']:6.0f} {r['workers']:3.0f} {r['wall_s']:8.1f} "
            f"{r['ms_per_submission']:7.0f} {r['ms_per_submission'] / 1e3 / unit:8.3f} "
            f"{r['per_hour']:10.0f} {r['per_core_hour']:12.0f} {r['grader_peak_rss_mb']:10.0f} "
            f"{r['worker_peak_pss_mb']:10.0f}"
        )
    fits = {}
    for w in workers:
        points = [(int(r["submissions"]), r["wall_s"]) for r in rows if r["workers"] == w]
        if len(points) >= 2:
            start, per = fit(points)
            fits[w] = (start, per)
            print(
                f"workers {w}: wall ~ {start:.1f} s + n x {per * 1e3:.0f} ms "
                f"({3600 / per:.0f} full-course submissions per hour of this machine, "
                f"{3600 / (per * cores):.0f} per core-hour, at scale)"
            )
    figures: dict[str, object] = {
        "torch_import_s": unit,
        "rows": rows,
        "fits": {str(w): {"start_s": a, "per_submission_s": b} for w, (a, b) in fits.items()},
        "load_before": before_load,
        "load_after": after_load,
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
