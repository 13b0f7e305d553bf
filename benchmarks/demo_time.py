"""Wall time of `alr build` (target: under 5 s) and `alr demo` (target: under 45 s) on this
machine, against baselines measured in the same run.

Baselines: `alr --version` (the process start-up every `alr` command pays) and a fresh
`python -c 'import torch'` (the one import everything that computes pays). `alr build` runs
three times into fresh folders (median reported). The demo runs in a fresh temporary folder (a
cold run: nothing to reuse), then once more into the same folder (a warm run: unchanged
submissions are not graded again); each step's seconds are read from the demo's own output.
The load average is printed before and after, since these machines are shared.

    .venv/bin/python benchmarks/demo_time.py
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALR = str(Path(sys.executable).with_name("alr"))


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=True)
    return time.monotonic() - started, proc.stdout


def steps(stdout: str) -> list[tuple[str, int]]:
    """(step title, second it started at) from the demo's `[n/7] title  (S s)` lines."""
    return [(t, int(s)) for t, s in re.findall(r"^\[\d/\d\] (.*?)  \((\d+) s\)$", stdout, re.M)]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, load average (1, 5, 15 min) {load()} before")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        version = statistics.median(timed([ALR, "--version"], cwd)[0] for _ in range(3))
        torch = statistics.median(
            timed([sys.executable, "-c", "import torch"], cwd)[0] for _ in range(3)
        )
        builds = [timed([ALR, "build", "--out", f"build{i}"], cwd)[0] for i in range(3)]
        cold, out = timed([ALR, "demo", "--out", "demo"], cwd)
        warm, _ = timed([ALR, "demo", "--out", "demo"], cwd)
    build = statistics.median(builds)
    print(f"baseline `alr --version`: {version:.2f} s; one `import torch`: {torch:.2f} s")
    print(
        f"alr build: {build:.2f} s median of 3 ({min(builds):.2f}-{max(builds):.2f}) "
        f"= {build / torch:.1f} x one torch import  (target: under 5 s)"
    )
    marks = steps(out)
    for (title, start), (_, end) in zip(marks, [*marks[1:], ("end", round(cold))], strict=True):
        print(f"  {end - start:4d} s  {title}")
    print(f"alr demo, cold: {cold:.1f} s = {cold / torch:.1f} x one torch import  (target: 45 s)")
    print(f"alr demo, warm: {warm:.1f} s = {warm / torch:.1f} x one torch import")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
