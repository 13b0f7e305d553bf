"""Grading throughput: `alr grade` against `nbgrader autograde` and one `import torch`.

    python benchmarks/grading_throughput.py [--n 200] [--workers 2] [--nbgrader-n 2]
                                            [--hostile 0] [--device auto] [--against-cpu]
                                            [--json FILE] [--keep DIR]

In one run, on this machine:
  1. times a fresh `python -c "import torch"` three times before and three times after step 2
     (median of the six): the unit of the first target;
  2. generates N full-course submissions (every graded function), one in three correct and the
     rest each carrying one known mistake from tests/fixtures/submissions/mistakes (plus, with
     --hostile K, K red-team submissions from tests/fixtures/redteam mixed in), and grades them
     with `alr grade --workers W` (the whole command: start-up, sandbox, references, reports);
  3. builds the course's nbgrader tree with `alr build`, generates the ten assignments (setup,
     not timed), turns the first --nbgrader-n submissions into the same ten notebooks (each
     solution cell holding that student's function) and times `nbgrader autograde` over them;
  4. prints ms per submission for both, the ratios, and checks that every correct submission
     got full marks from alr.
With --against-cpu, step 2 is also run with `--device cpu` on the same submissions, and the
ratio of the two (what grading on CUDA as well costs, on a GPU machine) is printed.

Targets (2-core machine): alr <= 0.25 x one torch import per full-course submission, and
>= 20 x faster per submission than nbgrader autograde on the same work.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
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
    manifest = sorted(p for p in REDTEAM.iterdir() if p.suffix in (".py", ".ipynb"))
    step = max(1, len(manifest) // hostile) if hostile else 1
    for p in manifest[::step][:hostile]:  # spread over the threat classes
        shutil.copy(p, folder / f"zz_{p.name}")
        kinds[f"zz_{p.stem}"] = False
    return kinds


def grade_with_alr(subs: Path, out: Path, workers: int, device: str = "auto") -> float:
    files = sorted(str(p) for p in subs.iterdir())
    t0 = time.perf_counter()
    subprocess.run(
        [_bin("alr"), "grade", *files, "--out", str(out), "--workers", str(workers)]
        + ["--device", device],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def check_full_marks(out: Path, kinds: dict[str, bool]) -> tuple[int, int]:
    """(correct submissions at full marks, correct submissions)."""
    full = 0
    for student, is_correct in kinds.items():
        if is_correct:
            result = json.loads((out / f"{student}.json").read_text())
            full += result["score"] == result["max_score"] > 0
    return full, sum(kinds.values())


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
        "--nbgrader-n", type=int, default=2, help="submissions for nbgrader (0: skip it)"
    )
    ap.add_argument("--hostile", type=int, default=0, help="red-team submissions mixed in")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
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

    py = sys.version.split()[0]
    print(f"machine: {os.cpu_count()} cores, sandbox {detect_level()}, python {py}")
    kinds = make_submissions(work / "subs", args.n, args.hostile)
    before = time_torch_import()
    alr_s = grade_with_alr(work / "subs", work / "out", args.workers, args.device)
    cpu_s = float("nan")
    if args.against_cpu:
        cpu_s = grade_with_alr(work / "subs", work / "out-cpu", args.workers, "cpu")
    after = time_torch_import()  # before and after: a fair unit when the machine's load drifts
    torch_s = statistics.median([*before, *after])
    print(f"fresh `python -c 'import torch'` (median of 6, around alr): {torch_s * 1e3:.0f} ms")
    per_alr = alr_s / len(kinds)
    full, correct = check_full_marks(work / "out", kinds)
    print(
        f"alr grade --workers {args.workers}: {len(kinds)} submissions ({correct} correct, "
        f"{args.hostile} hostile) in {alr_s:.1f} s = {per_alr * 1e3:.0f} ms/submission"
    )
    print(f"  correct submissions at full marks: {full}/{correct}")
    if args.against_cpu:
        devices = json.loads(next((work / "out").glob("s*.json")).read_text())["extra_data"]
        print(
            f"alr grade --device cpu: {cpu_s:.1f} s = {cpu_s / len(kinds) * 1e3:.0f} "
            f"ms/submission; --device {args.device} (devices {', '.join(devices['devices'])}) "
            f"/ cpu: {alr_s / cpu_s:.2f}x"
        )

    ratio_torch = per_alr / torch_s
    print(f"alr per submission / one torch import: {ratio_torch:.3f}  (target <= 0.25)")
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
        print(f"nbgrader / alr per submission: {speedup:.1f}x  (target >= 20)")
    return {
        "torch_import_s": torch_s,
        "alr_total_s": alr_s,
        "alr_submissions": len(kinds),
        "alr_ms_per_submission": per_alr * 1e3,
        "nbgrader_total_s": nb_s,
        "nbgrader_submissions": len(chosen),
        "nbgrader_ms_per_submission": per_nb * 1e3,
        "ratio_to_torch_import": ratio_torch,
        "speedup_vs_nbgrader": speedup,
        "alr_cpu_only_total_s": cpu_s,
        "device_over_cpu_only": alr_s / cpu_s,
        "correct_full_marks": full,
        "correct_submissions": correct,
    }


if __name__ == "__main__":
    main()
