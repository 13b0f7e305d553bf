"""Stage 3, run: send the extracted source and the cases of the functions it defines to the
sandbox as one job; the child's records come back as plain data (`JobResult`).

Cases of functions the submission does not define are not sent (they score zero in `compare`).
Student code never runs in this process.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from autograder.sandbox.protocol import CaseRun, Job

if TYPE_CHECKING:
    from autograder.context import Context


def build_job(ctx: Context) -> Job | None:
    """The sandbox job of a submission, or None when it defines none of the graded functions."""
    if ctx.extracted is None:
        return None
    defined = set(ctx.extracted.defined)
    runs = tuple(
        CaseRun(case.case_id, case.program, case.inputs, case.device)  # type: ignore[arg-type]
        for name in ctx.functions
        if name in defined
        for case in ctx.settings.plan.cases[name]
    )
    return Job(ctx.extracted.source, runs) if runs else None


def run_in_sandbox(ctx: Context) -> Context:
    """Stage: run the job (no run when nothing gradable was defined)."""
    if ctx.error is not None or ctx.runner is None:
        return ctx
    job = build_job(ctx)
    if job is None:
        return ctx
    return replace(ctx, run=ctx.runner(job))
