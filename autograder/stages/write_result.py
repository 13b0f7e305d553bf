"""Stage 7, report: the result file (a Gradescope results.json with the project's fields in
`extra_data`), the HTML feedback page, and the batch summary CSV. Every file is written
atomically (temp file in the same folder + os.replace), so a crash never leaves half a result.

    {"score", "max_score", "execution_time", "output",
     "extra_data": {student, submission_sha256, grader_version, seed, devices, sandbox, modules,
                    graded_at (ISO-8601 UTC; the practice queue dates exercise evidence by it)
                    [, error]},
     "tests": [{"name", "score", "max_score", "status", "output", "tags": [module, function
                [, diagnosis]], "extra_data": {module, function, device, dtype, diagnosis, case}}]}
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alr.fileio import write_atomic
from autograder.stages.context import Context, TestResult

SUMMARY_FIELDS = (
    "student",
    "score",
    "max_score",
    "status",
    "tests_passed",
    "tests",
    "diagnoses",
    "error",
    "submission_sha256",
)


def _test_dict(t: TestResult) -> dict[str, Any]:
    c = t.case
    tags = [c.module, c.function] + ([t.diagnosis] if t.diagnosis else [])
    return {
        "name": f"{c.module} {c.function}: {c.label}",
        "score": round(t.score, 6),
        "max_score": round(t.max_score, 6),
        "status": "passed" if t.passed else "failed",
        "output": t.output,
        "tags": tags,
        "extra_data": {
            "module": c.module,
            "function": c.function,
            "device": c.device,
            "dtype": c.dtype,
            "diagnosis": t.diagnosis,
            "case": c.case_name,
        },
    }


def _summary_text(ctx: Context, score: float, max_score: float) -> str:
    lines = [f"{score:g} / {max_score:g} points."]
    if ctx.error:
        lines.append(f"Your submission could not be graded: {ctx.error}")
    missing = [f for f in ctx.functions if ctx.extracted and f not in ctx.extracted.defined]
    if missing and not ctx.error:
        lines.append("Not defined in your submission: " + ", ".join(missing) + ".")
    if ctx.run is not None and ctx.run.message and ctx.run.status != "ok":
        lines.append(f"Running your code: {ctx.run.message}")
    lines += ctx.notes
    return "\n".join(lines)


def result_dict(ctx: Context) -> dict[str, Any]:
    """The result file's content for a scored context."""
    score = round(sum(t.score for t in ctx.tests), 6)
    max_score = round(sum(t.max_score for t in ctx.tests), 6)
    modules = sorted({t.case.module for t in ctx.tests})
    extra: dict[str, Any] = {
        "student": ctx.student,
        "submission_sha256": ctx.sha256,
        "grader_version": ctx.settings.grader_version,
        "seed": ctx.settings.plan.seed,
        "devices": list(ctx.settings.plan.devices),  # every case ran on each (plus meta)
        "sandbox": ctx.run.sandbox_level if ctx.run else ctx.settings.sandbox_level,
        "modules": modules,
        "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if ctx.error:
        extra["error"] = ctx.error
    return {
        "score": score,
        "max_score": max_score,
        "execution_time": round(time.monotonic() - ctx.started, 3) if ctx.started else 0.0,
        "output": _summary_text(ctx, score, max_score),
        "extra_data": extra,
        "tests": [_test_dict(t) for t in ctx.tests],
    }


def report(ctx: Context) -> Context:
    """Stage: write DIR/<student>.json and DIR/feedback/<student>.html."""
    from autograder.feedback.page import feedback_html

    result = result_dict(ctx)
    out = ctx.settings.out
    write_atomic(out / "feedback" / f"{ctx.student}.html", feedback_html(ctx, result))
    write_atomic(out / f"{ctx.student}.json", json.dumps(result, indent=1, allow_nan=False))
    return replace(ctx, result=result)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_row(result: dict[str, Any], status: str) -> dict[str, str]:
    tests = result.get("tests", [])
    extra = result.get("extra_data", {})
    diagnoses = sorted({d for t in tests if (d := t["extra_data"].get("diagnosis"))})
    return {
        "student": _cell(extra.get("student", "")),
        "score": f"{result.get('score', 0):g}",
        "max_score": f"{result.get('max_score', 0):g}",
        "status": status,
        "tests_passed": str(sum(t["status"] == "passed" for t in tests)),
        "tests": str(len(tests)),
        "diagnoses": ";".join(diagnoses),
        "error": _cell(extra.get("error", "")),
        "submission_sha256": str(extra.get("submission_sha256", "")),
    }


def write_summary(path: Path, rows: Iterable[dict[str, str]]) -> None:
    """The batch summary CSV, one row per submission."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())
