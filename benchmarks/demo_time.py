"""Wall time of `alr demo` (target: under two minutes on 2 cores), per step, against a baseline.

The baseline, measured in the same run, is `alr --version`: the process start-up and imports
every `alr` command pays. The demo runs in a fresh temporary folder (a cold run: nothing to
reuse), then once more into the same folder (a warm run: unchanged submissions are not graded
again). Reported: each step's seconds as the demo prints them, the totals, and the ratio of each
total to the baseline, so runs on a loaded machine can be compared.

    .venv/bin/python benchmarks/demo_time.py
"""

from __future__ import annotations

import re
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        baseline, _ = timed([ALR, "--version"], cwd)
        cold, out = timed([ALR, "demo", "--out", "demo"], cwd)
        warm, _ = timed([ALR, "demo", "--out", "demo"], cwd)
    marks = steps(out)
    print(f"baseline `alr --version`: {baseline:.1f} s")
    for (title, start), (_, end) in zip(marks, [*marks[1:], ("end", round(cold))], strict=True):
        print(f"  {end - start:4d} s  {title}")
    print(f"alr demo, cold: {cold:.1f} s = {cold / baseline:.1f} x baseline")
    print(f"alr demo, warm: {warm:.1f} s = {warm / baseline:.1f} x baseline")


if __name__ == "__main__":
    main()
