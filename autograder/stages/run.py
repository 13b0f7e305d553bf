"""Stage 3, run: send the extracted source and the cases of the functions it defines to the
sandbox as one job; the child's records come back as plain data (`JobResult`).

Cases of functions the submission does not define are not sent (they score zero in `compare`).
The child sends each case as soon as it has run, so when the job is stopped (time limit, crash,
memory, output size) the cases that finished keep their records. The submission has one time
budget, the sandbox's time limit (`alr grade --timeout`), for all its functions together: a job
stopped by the time limit has spent it, and the cases it did not reach get time-limit verdicts.
After a crash, a memory or an output limit, the functions whose cases did not all come back are
run again one by one, each within what is left of the budget; at most `MAX_FAILED_PARTS` of
those may fail, and once the budget is spent the rest get time-limit verdicts. Student code
never runs in this process.

While the child runs, this process computes the reference outcomes of the job's functions (the
plan computes them once per batch, on first use): `compare` then finds them ready.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from autograder.sandbox.protocol import CallRecord, CaseRun, Job, JobResult, RunStatus
from autograder.stages.context import Context

#: statuses that stop a whole job; the functions it did not finish are run again one by one
SPLIT = frozenset({RunStatus.TIMEOUT, RunStatus.CRASHED, RunStatus.MEMORY, RunStatus.OUTPUT_LIMIT})
MAX_FAILED_PARTS = 2
#: a part is not started with less than this left of the budget (forking, loading the source)
MIN_PART_S = 0.2


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


def _function(case: CaseRun) -> str:
    return case.case_id.split("/")[0]


def _failed_records(case: CaseRun, status: RunStatus, message: str) -> tuple[CallRecord, ...]:
    """Parent-made records for the cases of a part that was stopped: each call 'raised'."""
    error = f"{status.value.replace('_', ' ').capitalize()}: {message}"
    return tuple(CallRecord(call.function, error=error) for call in case.program.calls)


@dataclass
class Budget:
    """The submission's wall-clock budget: the first job's limit, less what every job took."""

    total: float
    spent: float = 0.0

    @property
    def left(self) -> float:
        return self.total - self.spent

    def charge(self, result: JobResult) -> JobResult:
        self.spent += result.duration_s
        return result


def unfinished(job: Job, result: JobResult) -> dict[str, list[CaseRun]]:
    """The cases that came back without records, by function, in the job's order."""
    parts: dict[str, list[CaseRun]] = {}
    for case in job.cases:
        if case.case_id not in result.cases:
            parts.setdefault(_function(case), []).append(case)
    return parts


def finish_by_function(
    runner: Callable[[Job], JobResult], job: Job, first: JobResult
) -> tuple[JobResult, str]:
    """Complete a stopped job: run each unfinished function on its own within the budget left;
    (the completed result, the student's note on what happened)."""
    budget = Budget(first.time_limit_s)
    budget.charge(first)
    cases = dict(first.cases)
    parts = unfinished(job, first)
    if not cases and budget.left >= MIN_PART_S:  # nothing came back: does the source load?
        probe = budget.charge(runner(Job(job.source, (), timeout_s=budget.left)))
        if probe.status is not RunStatus.OK:
            return first, ""
    failed: list[str] = []
    out_of_time: list[str] = []
    for function, runs in parts.items():
        if budget.left < MIN_PART_S:
            out_of_time.append(function)
            status, message = RunStatus.TIMEOUT, _spent(first)
        elif len(failed) >= MAX_FAILED_PARTS:
            status, message = RunStatus.TIMEOUT, "not run: earlier functions were stopped"
        else:
            part = budget.charge(runner(Job(job.source, tuple(runs), timeout_s=budget.left)))
            cases.update(part.cases)
            if part.status is RunStatus.OK or (part.cases and part.status not in SPLIT):
                continue
            status, message = part.status, part.message
            failed.append(function)
        for run in runs:
            cases.setdefault(run.case_id, _failed_records(run, status, message))
    level, duration = first.sandbox_level, budget.spent
    if out_of_time or first.status is RunStatus.TIMEOUT:
        stopped = next(iter(parts))
        message = f"{_spent(first)}: {stopped} and the functions after it were not finished"
        result = JobResult(RunStatus.TIMEOUT, message, cases, duration, level, first.time_limit_s)
        return result, ""
    note = (
        f"Running all your functions together was stopped ({first.message}), so the functions "
        "that did not finish were run on their own; a function that is stopped again scores zero."
    )
    return JobResult(RunStatus.OK, "", cases, duration, level, first.time_limit_s), note


def _spent(first: JobResult) -> str:
    return f"the time limit of {first.time_limit_s:g} s for all your functions together was used up"


def run_in_sandbox(ctx: Context) -> Context:
    """Stage: run the job (no run when nothing gradable was defined)."""
    if ctx.error is not None or ctx.runner is None:
        return ctx
    job = build_job(ctx)
    if job is None:
        return ctx
    functions = {_function(case) for case in job.cases}
    plan = ctx.settings.plan
    if plan.is_warm(functions):
        result = ctx.runner(job)
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alr-references") as pool:
            # the references while the child runs (this thread only waits on the sandbox)
            references = pool.submit(plan.warm, sorted(functions))
            result = ctx.runner(job)
            references.result()
    if result.status not in SPLIT or len(functions) < 2 or not unfinished(job, result):
        return replace(ctx, run=result)
    completed, note = finish_by_function(ctx.runner, job, result)
    return replace(ctx, run=completed, notes=ctx.notes + ((note,) if note else ()))
