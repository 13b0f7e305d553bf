"""Cold start: one notebook graded from a fresh process, against one `import torch`.

    python benchmarks/cold_start.py [--repeats 5] [--device auto] [--json FILE]

The shape of every Gradescope submission: a solution-filled module 4.1 notebook (the one
`alr build` writes to build/solutions/), graded alone by a new process that has imported
nothing. In one run, on this machine, interleaved and repeated (medians reported):

  torch            `python -c "import torch"`: the unit (start-up, import, exit)
  alr grade        `alr grade alice.ipynb --out NEW --secret S --device D` into a new folder
  run_autograder   the Gradescope autograder's own script, run in a stand-in /autograder root
                   (source/ with the script, the course secret and module.txt; submission/ with
                   the notebook; submission_metadata.json), as Gradescope runs it (devices:
                   auto, as there)

Each is printed as median seconds and as a ratio to the median torch import of the same run,
with the machine's load average before and after. Every run must score the notebook's full
marks (checked). Target: both ratios <= 1.5.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODULE = "4.1"
NOTEBOOK = "module-4-1.ipynb"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def prepare(work: Path) -> tuple[Path, Path]:
    """Build the course (not timed): the solution notebook of 4.1 and the course secret."""
    subprocess.run(
        [_bin("alr"), "build", "--out", str(work / "build")], check=True, stdout=subprocess.DEVNULL
    )
    notebook = work / "alice.ipynb"
    shutil.copy(work / "build" / "build" / "solutions" / NOTEBOOK, notebook)
    return notebook, work / "build" / "build" / "course-secret.txt"


def gradescope_venv(work: Path) -> Path:
    """What setup.sh installs, without installing: a venv that sees this one's packages and
    this checkout as installed packages (a .pth), not through an editable-install finder,
    which a folder named like a package in the working directory would shadow."""
    venv = work / "gradescope-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    ours = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    (site / "alr-checkout.pth").write_text(f"{ROOT}\n{ours}\n")
    return venv


def gradescope_root(work: Path, notebook: Path, secret: Path, index: int, venv: Path) -> Path:
    """A stand-in /autograder: what Gradescope's image and one submission put there."""
    from autograder.export.gradescope import RUN_AUTOGRADER

    root = work / f"autograder-{index}"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "alr").mkdir()
    os.symlink(venv, root / "alr" / "venv")
    (root / "source" / "run_autograder").write_text(RUN_AUTOGRADER)
    shutil.copy(secret, root / "source" / "course-secret.txt")
    (root / "source" / "module.txt").write_text(f"{MODULE}\n")
    shutil.copy(notebook, root / "submission" / notebook.name)
    meta = {"users": [{"email": "alice@uni.example", "id": 7}]}
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    return root


def full_marks(result: dict[str, object]) -> bool:
    score, max_score = result.get("score"), result.get("max_score")
    return isinstance(score, float | int) and score == max_score and score > 0


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="alr-cold-"))
    try:
        figures = run(work, args.repeats, args.device)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def run(work: Path, repeats: int, device: str) -> dict[str, float]:
    from autograder.sandbox import detect_level

    notebook, secret = prepare(work)
    venv = gradescope_venv(work)
    before = load()
    times: dict[str, list[float]] = {"torch": [], "alr grade": [], "run_autograder": []}
    wrong: list[str] = []
    for i in range(repeats):
        times["torch"].append(timed([sys.executable, "-c", "import torch"]))
        out = work / f"NEW-{i}"
        grade = [_bin("alr"), "grade", str(notebook), "--out", str(out), "--secret", str(secret)]
        times["alr grade"].append(timed([*grade, "--device", device]))
        result = json.loads((out / notebook.stem / f"{MODULE}.json").read_text())
        if not full_marks(result):
            wrong.append(f"alr grade run {i}: {result.get('score')}/{result.get('max_score')}")
        root = gradescope_root(work, notebook, secret, i, venv)
        env = dict(os.environ, ALR_GRADESCOPE_ROOT=str(root))
        script = root / "source" / "run_autograder"
        times["run_autograder"].append(timed(["bash", str(script)], env))
        result = json.loads((root / "results" / "results.json").read_text())
        if not full_marks(result):
            wrong.append(f"run_autograder run {i}: {result.get('output')}")
    after = load()
    unit = statistics.median(times["torch"])
    print(
        f"machine: {os.cpu_count()} cores, sandbox {detect_level()}, load average (1, 5, 15 min) "
        f"{before} before, {after} after; {repeats} interleaved repeats, medians"
    )
    figures: dict[str, float] = {"torch_import_s": unit}
    for name, values in times.items():
        median = statistics.median(values)
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"  {name:15s} {median:6.2f} s  ({spread})  {median / unit:5.2f} x one torch import")
        figures[f"{name.replace(' ', '_')}_s"] = median
        figures[f"{name.replace(' ', '_')}_ratio"] = median / unit
    print("  target: alr grade and run_autograder <= 1.5 x one torch import")
    if wrong:
        raise SystemExit("not full marks: " + "; ".join(wrong))
    print("  every run: full marks")
    return figures


if __name__ == "__main__":
    main()
