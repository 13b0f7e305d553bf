"""Stage 3, run: send the extracted source and the cases of the functions it defines to the
sandbox as one job; the child's records come back as plain data (`JobResult`).

Cases of functions the submission does not define are not sent (they score zero in `compare`).
When the whole job is stopped (time limit, crash, memory, output size), one hanging or crashing
function would otherwise cost every function its points, so the job is run again function by
function: a first job with no cases checks that the source loads, then one job per function. At
most `MAX_FAILED_PARTS` parts may fail that way; the remaining functions are then not graded,
which bounds the time a hostile submission can take to a few time limits. Student code never
runs in this process.
"""

from __future__ import annotations

from dataclasses import replace

from autograder.sandbox.protocol import CallRecord, CaseRun, Job, JobResult, RunStatus
from autograder.stages.context import Context

#: statuses that stop a whole job; retried function by function
SPLIT = frozenset({RunStatus.TIMEOUT, RunStatus.CRASHED, RunStatus.MEMORY, RunStatus.OUTPUT_LIMIT})
MAX_FAILED_PARTS = 2


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


def _failed_records(case: CaseRun, status: RunStatus, message: str) -> tuple[CallRecord, ...]:
    """Parent-made records for the cases of a part that was stopped: each call 'raised'."""
    error = f"{status.value.replace('_', ' ').capitalize()}: {message}"
    return tuple(CallRecord(call.function, error=error) for call in case.program.calls)


def run_by_function(ctx: Context, job: Job, first: JobResult) -> JobResult:
    """Run `job` again one function at a time after the whole job was stopped."""
    assert ctx.runner is not None
    probe = ctx.runner(Job(job.source, ()))
    if probe.status is not RunStatus.OK:
        return first
    parts: dict[str, list[CaseRun]] = {}
    for case in job.cases:
        parts.setdefault(case.case_id.split("/")[0], []).append(case)
    cases: dict[str, tuple[CallRecord, ...]] = {}
    failed: list[str] = []
    duration = first.duration_s + probe.duration_s
    for function, runs in parts.items():
        if len(failed) >= MAX_FAILED_PARTS:
            status, message = RunStatus.TIMEOUT, "not run: earlier functions were stopped"
        else:
            part = ctx.runner(Job(job.source, tuple(runs)))
            duration += part.duration_s
            if part.status is RunStatus.OK or (part.cases and part.status not in SPLIT):
                cases.update(part.cases)
                continue
            status, message = part.status, part.message
            failed.append(function)
        for run in runs:
            cases[run.case_id] = _failed_records(run, status, message)
    return JobResult(RunStatus.OK, "", cases, duration, first.sandbox_level)


def run_in_sandbox(ctx: Context) -> Context:
    """Stage: run the job (no run when nothing gradable was defined)."""
    if ctx.error is not None or ctx.runner is None:
        return ctx
    job = build_job(ctx)
    if job is None:
        return ctx
    result = ctx.runner(job)
    functions = {case.case_id.split("/")[0] for case in job.cases}
    if result.status in SPLIT and len(functions) > 1:
        note = (
            f"Running all your functions together was stopped ({result.message}), so each "
            "function was run on its own; a function that is stopped again scores zero."
        )
        retried = run_by_function(ctx, job, result)
        if retried is not result:
            return replace(ctx, run=retried, notes=ctx.notes + (note,))
    return replace(ctx, run=result)
