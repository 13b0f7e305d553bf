"""Stage 6, score: each expanded case is one all-or-nothing test worth points / n, where n is the
number of cases of its function (partial credit per case, not per cell).

Credit only for working code: a function's edge cases (zero parameters or gradients) and its
portability case (meta tensors) earn their points only when every core case of the function
passes, so code that returns its inputs, zeros or copies earns nothing. A function that raises on
meta tensors reads tensor values in Python: that costs its portability case, with a message
saying so; when the value is read in another graded function it calls (which fails its own
portability case), the caller is not charged for it. A function the submission does not define
scores zero on every case, saying so; a submission that could not be read scores zero everywhere
with its error as the message.
"""

from __future__ import annotations

from dataclasses import replace

from alr.misconceptions import HINTS, Misconception
from autograder.stages.context import CaseCheck, Context, Failure, TestResult
from course.cases.expand import CaseInstance, CaseKind

PORTABILITY = (
    "does not run off the CPU: {message}. Compute results with tensor operations only (no "
    ".item(), float() or Python `if` on tensor values) so the same code runs on a GPU"
)


def test_output(check: CaseCheck, diagnosis: Misconception | None) -> str:
    """The short student-facing line of one test (no input or expected values)."""
    if check.passed:
        return "passed"
    if diagnosis is None:
        return check.message
    did = HINTS[diagnosis].did
    return f"{check.message}. This looks like {diagnosis}: {did}".rstrip()


def _portability(ctx: Context, case: CaseInstance, check: CaseCheck) -> CaseCheck:
    """A meta case that raised: a portability failure, excused when a graded function it calls
    raised on meta tensors too (the value is read there, and charged there)."""
    if check.passed or check.failure is not Failure.ERROR or ctx.diagnoses.get(check.case_id):
        return check
    callees = ctx.extracted.calls.get(case.function, ()) if ctx.extracted else ()
    for callee in callees:
        meta = ctx.checks.get(f"{callee}/meta")
        if meta is not None and not meta.passed and meta.failure is Failure.ERROR:
            return replace(check, passed=True, failure=None, message="")
    message = check.message.removeprefix(f"{case.function} raised ")
    return replace(check, message=PORTABILITY.format(message=message))


def score(ctx: Context) -> Context:
    """Stage: one `TestResult` per case in scope, in contract order."""
    plan = ctx.settings.plan
    tests: list[TestResult] = []
    for name in ctx.functions:
        cases = plan.cases[name]
        share = plan.points[name] / len(cases) if cases else 0.0
        checks: dict[str, CaseCheck] = {}
        for case in cases:
            check = ctx.checks.get(case.case_id)
            if check is None:
                why = f"not graded: {ctx.error}" if ctx.error else "not graded"
                check = CaseCheck(case.case_id, False, Failure.NOT_RUN, why)
            if case.kind is CaseKind.PORTABILITY:
                check = _portability(ctx, case, check)
            checks[case.case_id] = check
        core_ok = all(checks[c.case_id].passed for c in cases if c.kind is CaseKind.CORE)
        for case in cases:
            check = checks[case.case_id]
            if check.passed and case.kind is not CaseKind.CORE and not core_ok:
                check = CaseCheck(
                    case.case_id,
                    False,
                    Failure.GATED,
                    f"counts once every core case of {name} passes ({case.kind} case)",
                )
            diagnosis = ctx.diagnoses.get(case.case_id)
            tests.append(
                TestResult(
                    case=case,
                    score=share if check.passed else 0.0,
                    max_score=share,
                    passed=check.passed,
                    output=test_output(check, diagnosis),
                    diagnosis=diagnosis,
                    check=check,
                )
            )
    return replace(ctx, tests=tuple(tests))
