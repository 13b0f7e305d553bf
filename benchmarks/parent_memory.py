"""Peak memory of the grading parent under hostile result frames, against correct submissions.

    python benchmarks/parent_memory.py [--workers 2] [--n 4] [--json FILE]

A sandboxed child chooses every byte of its result stream, and the parent parses it outside
every sandbox limit: before the bounds of `autograder/sandbox/records.py`, a 60 MB frame of
millions of empty arrays became 2.7 GB in the parent. Each scenario below grades N submissions
of module 3.1 (ema, coupled_l2_grad, rmsprop_step) with `grade_batch`, W at a time in a sandbox
of W workers, in a fresh interpreter of its own, and reports that interpreter's RSS before
grading (imports, course, plan), its peak RSS (ru_maxrss) and the peak's increase per worker.
Every scenario is compared with `correct` measured in the same run:

  correct        tests/fixtures/submissions/correct.py
  empty_arrays   the first call writes a frame announcing a quarter of a million empty arrays
                 (6 MB, under the output cap; the 60 MB one of millions now meets the cap)
  headers_at_cap every case's frame is valid and as large as the parent allows: each call's
                 error, names and type names at their longest, every dict entry it may send
  payload_at_cap one case frame carrying array bytes just under the output cap (1 MB under)

Target: for every hostile scenario, peak RSS <= 2 x that of `correct` (ratios, no timings).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORRECT = ROOT / "tests" / "fixtures" / "submissions" / "correct.py"
SCENARIOS = ("correct", "empty_arrays", "headers_at_cap", "payload_at_cap")
SEED = 20260501

#: Writes `frames` (a list of (meta, [(dtype, nbytes)])) to the result pipe and ends the child.
_WRITER = """
import json, os, struct
def _write(frames):
    for meta, arrays in frames:
        table, offset = [], 0
        for dtype, nbytes in arrays:
            table.append([dtype, [nbytes // 4], offset, nbytes])
            offset += nbytes
        header = json.dumps({"meta": meta, "arrays": table}).encode()
        os.write(4, struct.pack("<4sIQ", b"ALRW", len(header), offset) + header)
        for _, nbytes in arrays:
            chunk = bytes(1 << 20)
            left = nbytes
            while left:
                left -= os.write(4, chunk[: min(left, 1 << 20)])
    os._exit(0)
"""


def _hostile_source(scenario: str, job_cases: list[dict[str, Any]]) -> str:
    """A submission defining module 3.1's functions, whose first call writes the frames."""
    if scenario == "empty_arrays":
        frames = "[_empty_arrays()]"
        helper = (
            "def _empty_arrays():\n"
            "    return {'case': CASES[0]['id'], 'calls': []}, [('float32', 0)] * 250_000\n"
        )
    elif scenario == "payload_at_cap":
        from autograder.sandbox import Limits

        size = (Limits().output_mb - 1) << 20
        frames = f"[({{'case': CASES[0]['id'], 'calls': []}}, [('float32', {size})])]"
        helper = ""
    else:
        frames = (
            "[_at_cap(c) for c in CASES] + [({'status': 'ok', 'message': '', 'memory': False}, [])]"
        )
        helper = (
            "def _at_cap(case):\n"
            "    calls = []\n"
            "    for function, outputs, entries, refs in case['calls']:\n"
            "        value = {'kind': 'other', 'type_name': '\\U0001f600' * 200}\n"
            "        outs = {name: value for name in outputs}\n"
            "        for i in range(entries * len(outputs)):\n"
            "            outs[f'{outputs[0]}/{i:0190d}'] = value\n"
            "        calls.append({'function': function, 'error': '\\U0001f600' * 500,\n"
            "                      'skipped': False, 'mutated': ['\\U0001f600' * 200] * refs,\n"
            "                      'aliased': ['\\U0001f600' * 200] * len(outputs),\n"
            "                      'outputs': outs})\n"
            "    return {'case': case['id'], 'calls': calls}, []\n"
        )
    body = f"    _write({frames})\n"
    functions = "".join(
        f"def {name}(*args, **kwargs):\n{body}\n"
        for name in ("ema", "coupled_l2_grad", "rmsprop_step")
    )
    return f"CASES = {job_cases!r}\n{_WRITER}\n{helper}\n{functions}"


def _job_cases(plan: Any) -> list[dict[str, Any]]:
    """The job's cases in its order, with what a hostile child needs to fill each to the cap."""
    from autograder.sandbox.child import dict_entries
    from course.cases.program import Ref, RefDict

    out = []
    for name in ("ema", "coupled_l2_grad", "rmsprop_step"):
        for case in plan.cases[name]:
            calls = []
            for call in case.program.calls:
                args = [*call.args, *(v for _, v in call.kwargs)]
                refs = sum(
                    1 if isinstance(a, Ref) else len(a.items) if isinstance(a, RefDict) else 0
                    for a in args
                )
                calls.append([call.function, list(call.outputs), dict_entries(call), refs])
            out.append({"id": case.case_id, "calls": calls})
    return out


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_scenario(scenario: str, workers: int, n: int) -> dict[str, Any]:
    """Grade N submissions of one scenario in this interpreter; report its memory."""
    from alr.contract import FUNCTION_MODULE
    from autograder.grade import grade_batch
    from autograder.plan import build_plan
    from course.load import load_course

    exercises = [
        e
        for m in load_course().modules
        for e in m.exercises
        if FUNCTION_MODULE[e.function] == "3.1"
    ]
    plan = build_plan(exercises, seed=SEED, devices=("cpu",))
    source = (
        CORRECT.read_text()
        if scenario == "correct"
        else _hostile_source(scenario, _job_cases(plan))
    )
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(n):
            path = Path(tmp) / f"{scenario}{i}.py"
            path.write_text(source)
            paths.append(path)
        before = _rss_mb()
        summary = grade_batch(
            paths,
            out=Path(tmp) / "out",
            workers=workers,
            seed=SEED,
            device="cpu",
            exercises=exercises,
            timeout=60,
        )
        outputs = [r.to_dict() for o in summary.outcomes for r in o.results]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "scenario": scenario,
        "rss_before_mb": round(before, 1),
        "peak_mb": round(peak, 1),
        "increase_per_worker_mb": round((peak - before) / workers, 1),
        "scores": sorted({(o["score"], o["max_score"]) for o in outputs}),
        "sandbox": summary.sandbox,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n", type=int, default=4, help="submissions per scenario")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:  # one scenario, in the interpreter the main run started for it
        print(json.dumps(run_scenario(args.scenario, args.workers, args.n)))
        return
    rows = []
    for scenario in SCENARIOS:
        cmd = [sys.executable, __file__, "--scenario", scenario]
        cmd += ["--workers", str(args.workers), "--n", str(args.n)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{scenario} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print(f"workers {args.workers}, {args.n} submissions per scenario, sandbox {base['sandbox']}")
    print(
        f"{'scenario':16} {'before MB':>10} {'peak MB':>9} {'+/worker MB':>12} {'peak ratio':>11}"
    )
    for row in rows:
        row["peak_ratio"] = round(row["peak_mb"] / base["peak_mb"], 3)
        print(
            f"{row['scenario']:16} {row['rss_before_mb']:>10} {row['peak_mb']:>9} "
            f"{row['increase_per_worker_mb']:>12} {row['peak_ratio']:>11}"
        )
    worst = max(r["peak_ratio"] for r in rows[1:])
    print(f"worst hostile peak / correct peak: {worst} (target <= 2)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
