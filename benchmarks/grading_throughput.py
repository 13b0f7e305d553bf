"""Grading throughput: `alr grade` on a mixed class, against one `import torch`.

    python benchmarks/grading_throughput.py [--n 200] [--workers 2] [--hostile 6]
                                            [--nbgrader-n 0] [--device auto] [--against-cpu]
                                            [--timeout S] [--json FILE] [--keep DIR]

In one run, on this machine:
  1. times a fresh `python -c "import torch"` three times before and three times after step 2
     (median of the six): the unit of the target;
  2. generates N full-course submissions (every graded function), one in three correct and the
     rest each carrying one known mistake from tests/fixtures/submissions/mistakes, plus K
     red-team submissions from tests/fixtures/redteam (score forgery, information theft, a huge
     return, a malformed result, NaN, a child that kills everything: each ends on its own, none
     waits for the time limit), and grades them with `alr grade --workers W` (the whole
     command: start-up, sandbox, references, results);
  3. reports the machine's load: the load average before and after, and the CPU seconds the
     whole grading process tree used (its own, its sandboxes' and their children's) against its
     wall time and the cores;
  4. optionally (--nbgrader-n M) builds the course's nbgrader tree, turns the first M
     submissions into the same ten notebooks and times `nbgrader autograde` over them;
  5. prints ms per submission, the ratio to one torch import, and checks that every correct
     submission got full marks in every module from alr.
With --against-cpu, step 2 is also run with `--device cpu` on the same submissions, and the
ratio of the two (what grading on CUDA as well costs, on a GPU machine) is printed.

Target (2-core machine): alr <= 0.10 x one torch import per full-course submission with
--workers 2, on 200 mixed submissions.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORRECT = FIXTURES / "submissions" / "correct.py"
MISTAKES = sorted((FIXTURES / "submissions" / "mistakes").glob("*.py"))
REDTEAM = FIXTURES / "redteam"
_IMPORTS = (ast.Import, ast.ImportFrom)
#: hostile submissions that end on their own (a time-limit one costs its limit by design)
HOSTILE = (
    "sf_forged_frame.py",
    "it_gc_heap.py",
    "dos_huge_return.py",
    "sf_lying_tensor.py",
    "dos_result_empty_arrays.py",
    "cc_kill_everything.py",
    "rb_nan.py",
    "sf_patch_child_helpers.py",
    "it_read_solutions.py",
    "rb_inplace.py",
)


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found next to {sys.executable} or on PATH")
    return found


def time_torch_import(repeats: int = 3) -> list[float]:
    """Wall seconds of `repeats` fresh interpreters importing torch."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        runs.append(time.perf_counter() - t0)
    return runs


def make_submissions(folder: Path, n: int, hostile: int) -> dict[str, bool]:
    """Write n full-course submissions (+ hostile ones); return {student: is_correct}."""
    folder.mkdir(parents=True)
    correct = CORRECT.read_text()
    kinds: dict[str, bool] = {}
    for i in range(n):
        if i % 3 == 0:
            name, text = f"s{i:04d}_correct", correct
        else:
            mistake = MISTAKES[i % len(MISTAKES)]
            name = f"s{i:04d}_{mistake.stem}"
            text = correct + "\n\n# one mistake, defined last (it wins)\n" + mistake.read_text()
        (folder / f"{name}.py").write_text(text)
        kinds[name] = i % 3 == 0
    for name in HOSTILE[:hostile]:  # spread over the threat classes
        shutil.copy(REDTEAM / name, folder / f"zz_{name}")
        kinds[f"zz_{Path(name).stem}"] = False
    return kinds


def grade_with_alr(
    subs: Path, out: Path, workers: int, device: str = "auto", timeout: float | None = None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole grading process tree) of one `alr grade`."""
    files = sorted(str(p) for p in subs.iterdir())
    extra = ["--timeout", str(timeout)] if timeout else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [_bin("alr"), "grade", *files, "--out", str(out), "--workers", str(workers)]
        + ["--device", device, "--seed", "20240611", *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def check_full_marks(out: Path, kinds: dict[str, bool]) -> tuple[int, int]:
    """(correct submissions at full marks in every module, correct submissions)."""
    full = 0
    for student, is_correct in kinds.items():
        if is_correct:
            results = [json.loads(p.read_text()) for p in sorted((out / student).glob("*.json"))]
            full += len(results) == 10 and all(r["score"] == r["max_score"] > 0 for r in results)
    return full, sum(kinds.values())


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def cpu_times() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine since boot (/proc/stat), or NaNs."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


# ---- nbgrader side ----


def _functions(source: str) -> dict[str, str]:
    """Graded-function name -> the source of its last definition, with the file's imports."""
    tree = ast.parse(source)
    imports = [ast.get_source_segment(source, n) for n in tree.body]
    header = "\n".join(
        s
        for n, s in zip(tree.body, imports, strict=True)
        if isinstance(n, ast.Import | ast.ImportFrom) and s
    )
    defs: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            defs[node.name] = header + "\n\n\n" + (ast.get_source_segment(source, node) or "")
    return defs


def setup_nbgrader(course: Path) -> list[str]:
    """Build the nbgrader tree and generate every assignment (not timed); return their ids."""
    build = course.parent / "alr-build"
    subprocess.run(
        [_bin("alr"), "build", "--out", str(build)], check=True, stdout=subprocess.DEVNULL
    )
    shutil.copytree(build / "build" / "nbgrader", course)
    assignments = sorted(p.name for p in (course / "source").iterdir())
    for a in assignments:
        _nbgrader(course, "generate_assignment", a, "--force")
    return assignments


def _nbgrader(course: Path, *args: str) -> None:
    # nbgrader runs `alembic` (installed beside it) when it creates the gradebook
    env = dict(os.environ, PATH=f"{Path(_bin('nbgrader')).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [_bin("nbgrader"), *args], cwd=course, capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def submit_to_nbgrader(course: Path, assignments: list[str], subs: list[Path]) -> None:
    """Each student's functions into the solution cells of the released notebooks."""
    for sub in subs:
        defs = _functions(sub.read_text())
        for a in assignments:
            nb = nbformat.read(course / "release" / a / f"{a}.ipynb", as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
                fn = grade_id.removeprefix("solution_")
                if grade_id.startswith("solution_") and fn in defs:
                    cell.source = defs[fn]
            target = course / "submitted" / sub.stem / a / f"{a}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
            (target.parent / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")


def autograde_with_nbgrader(course: Path, assignments: list[str]) -> float:
    t0 = time.perf_counter()
    for a in assignments:
        _nbgrader(course, "autograde", a, "--force")
    return time.perf_counter() - t0


# ---- report ----


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="full-course submissions for alr")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--nbgrader-n", type=int, default=0, help="submissions for nbgrader (0: skip it)"
    )
    ap.add_argument(
        "--hostile", type=int, default=6, help=f"red-team submissions mixed in (<= {len(HOSTILE)})"
    )
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--timeout", type=float, help="alr grade --timeout (default: its own)")
    ap.add_argument(
        "--against-cpu", action="store_true", help="also grade with --device cpu; print the ratio"
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="alr-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        figures = _run(work, args)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def _run(work: Path, args: argparse.Namespace) -> dict[str, float]:
    from autograder.sandbox import detect_level

    cores = os.cpu_count() or 1
    py = sys.version.split()[0]
    print(f"machine: {cores} cores, sandbox {detect_level()}, python {py}")
    kinds = make_submissions(work / "subs", args.n, args.hostile)
    before = time_torch_import()
    load_before, stat_before = load(), cpu_times()
    alr_s, alr_cpu = grade_with_alr(
        work / "subs", work / "out", args.workers, args.device, args.timeout
    )
    load_after, stat_after = load(), cpu_times()
    machine_busy = (stat_after[0] - stat_before[0]) / (stat_after[1] - stat_before[1])
    cpu_s = cpu_cpu = float("nan")
    if args.against_cpu:
        cpu_s, cpu_cpu = grade_with_alr(
            work / "subs", work / "out-cpu", args.workers, "cpu", args.timeout
        )
    after = time_torch_import()  # before and after: a fair unit when the machine's load drifts
    torch_s = statistics.median([*before, *after])
    n = len(kinds)
    per_alr = alr_s / n
    busy = alr_cpu / (alr_s * cores)
    print(f"fresh `python -c 'import torch'` (median of 6, around alr): {torch_s * 1e3:.0f} ms")
    print(
        "machine load: load average (1, 5, 15 min) "
        + " ".join(f"{x:.2f}" for x in load_before)
        + " before, "
        + " ".join(f"{x:.2f}" for x in load_after)
        + f" after; the machine's CPUs were {machine_busy:.0%} busy while grading (every "
        f"process); the grading tree's reaped processes used {alr_cpu:.1f} CPU-s in "
        f"{alr_s:.1f} s wall ({busy:.0%} of {cores} cores; its sandboxes' own start-up and "
        "teardown are not all reaped by it)"
    )
    full, correct = check_full_marks(work / "out", kinds)
    print(
        f"alr grade --workers {args.workers}: {n} submissions ({correct} correct, "
        f"{args.hostile} hostile) in {alr_s:.1f} s = {per_alr * 1e3:.0f} ms/submission"
    )
    print(f"  correct submissions at full marks in every module: {full}/{correct}")
    if args.against_cpu:
        first = next((work / "out").glob("s*/*.json"))
        devices = json.loads(first.read_text())["extra_data"]["devices"]
        print(
            f"alr grade --device cpu: {cpu_s:.1f} s = {cpu_s / n * 1e3:.0f} ms/submission; "
            f"--device {args.device} (devices {', '.join(devices)}) / cpu: {alr_s / cpu_s:.2f}x"
        )
    ratio_torch = per_alr / torch_s
    print(f"alr per submission / one torch import: {ratio_torch:.3f}  (target <= 0.10)")
    nb_s = per_nb = speedup = float("nan")
    chosen: list[Path] = []
    if args.nbgrader_n > 0:
        course = work / "nbgrader"
        assignments = setup_nbgrader(course)
        chosen = sorted((work / "subs").glob("s*.py"))[: args.nbgrader_n]
        submit_to_nbgrader(course, assignments, chosen)
        nb_s = autograde_with_nbgrader(course, assignments)
        per_nb = nb_s / len(chosen)
        speedup = per_nb / per_alr
        print(
            f"nbgrader autograde: {len(chosen)} submissions x {len(assignments)} notebooks in "
            f"{nb_s:.1f} s = {per_nb * 1e3:.0f} ms/submission"
        )
        print(f"nbgrader / alr per submission: {speedup:.1f}x")
    if full != correct:
        raise SystemExit(f"only {full} of {correct} correct submissions got full marks")
    return {
        "torch_import_s": torch_s,
        "alr_total_s": alr_s,
        "alr_cpu_s": alr_cpu,
        "alr_submissions": n,
        "alr_ms_per_submission": per_alr * 1e3,
        "ratio_to_torch_import": ratio_torch,
        "machine_busy_share": machine_busy,
        "reaped_cpu_share": busy,
        "load_before_1min": load_before[0],
        "load_after_1min": load_after[0],
        "nbgrader_total_s": nb_s,
        "nbgrader_submissions": len(chosen),
        "nbgrader_ms_per_submission": per_nb * 1e3,
        "speedup_vs_nbgrader": speedup,
        "alr_cpu_only_total_s": cpu_s,
        "alr_cpu_only_cpu_s": cpu_cpu,
        "device_over_cpu_only": alr_s / cpu_s,
        "correct_full_marks": full,
        "correct_submissions": correct,
    }


if __name__ == "__main__":
    main()
