"""Stage 7, write the results: one `alr.results.ModuleResult` per module in scope, written to
DIR/<student>/<module>.json (a Gradescope results.json), with the feedback page beside it
(<module>.html) where it helps: when a case failed or the submission could not be graded. A
submission no module could be given gets one unscoped error result that scores nothing. Every
file is written atomically, so a crash never leaves half a result.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from alr.fileio import write_atomic
from alr.results import (
    ModuleResult,
    TestRecord,
    readable,
    result_path,
    shown,
    write_result,
)
from autograder.feedback.page import feedback_html
from autograder.sandbox.protocol import RunStatus
from autograder.stages.context import Context, TestResult


def _record(t: TestResult) -> TestRecord:
    c, check = t.case, t.check
    return TestRecord(
        name=f"{c.module} {c.function}: {c.label}",
        score=t.score,
        max_score=t.max_score,
        output=t.output,
        module=c.module,
        function=c.function,
        case=c.case_name,
        device=c.device,
        dtype=c.dtype,
        diagnosis=None if t.diagnosis is None else str(t.diagnosis),
        failure=None if check is None or check.failure is None else str(check.failure),
        errors=check.errors if check is not None else (),
        tolerance=check.tolerance if check is not None else None,
    )


def _summary(ctx: Context, tests: tuple[TestRecord, ...], module: str | None) -> str:
    score, max_score = sum(t.score for t in tests), sum(t.max_score for t in tests)
    lines = [f"{shown(score)} / {shown(max_score)} points."]
    if ctx.error:
        lines.append(f"Your submission could not be graded: {ctx.error}")
    functions = dict.fromkeys(t.function for t in tests)
    missing = [f for f in functions if ctx.extracted and f not in ctx.extracted.defined]
    if missing and not ctx.error:
        lines.append("Not defined in your submission: " + ", ".join(missing) + ".")
    if ctx.run is not None and ctx.run.message and ctx.run.status is not RunStatus.OK:
        lines.append(f"Running your code: {ctx.run.message}")
    lines += ctx.notes
    return "\n".join(lines)


def module_results(ctx: Context) -> tuple[ModuleResult, ...]:
    """The results of a scored context: one per module in scope, or one unscoped error."""
    base = ModuleResult(
        student=ctx.student,
        module=None,
        tests=(),
        output=_summary(ctx, (), None),
        submission=readable(ctx.path.name),
        sha256=ctx.sha256,
        grader_version=ctx.settings.grader_version,
        inputs=ctx.settings.inputs,
        devices=ctx.settings.plan.devices,
        sandbox=ctx.run.sandbox_level if ctx.run else ctx.settings.sandbox_level,
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        execution_time=round(time.monotonic() - ctx.started, 3) if ctx.started else 0.0,
        error=ctx.error,
        identity=dict(ctx.identity),
        locations=dict(ctx.extracted.locations) if ctx.extracted else {},
    )
    if not ctx.modules:
        return (base,)
    records = tuple(_record(t) for t in ctx.tests)
    out = []
    for module in ctx.modules:
        tests = tuple(r for r in records if r.module == module)
        out.append(replace(base, module=module, tests=tests, output=_summary(ctx, tests, module)))
    return tuple(out)


def publish(root: Path, result: ModuleResult) -> Path:
    """Write one result and, where it helps (a failed case, an error), its feedback page beside
    it; a page left from an earlier, failing try is removed."""
    page = result_path(root, result.student, result.module, result.submission).with_suffix(".html")
    if result.error or any(not t.passed for t in result.tests):
        write_atomic(page, feedback_html(result), durable=False)
    else:
        page.unlink(missing_ok=True)
    return write_result(root, result)


def write_results(ctx: Context) -> Context:
    """Stage: write every result of the submission (through the batch's `publish` when it has
    one: it keeps the newest of two submissions of the same cell)."""
    results = module_results(ctx)
    for result in results:
        if ctx.publish is not None:
            ctx.publish(result)
        else:
            publish(ctx.settings.out, result)
    return replace(ctx, results=results)
