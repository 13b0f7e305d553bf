"""Stage 6, score: each expanded case is one all-or-nothing test worth points / n, where n is the
number of cases of its function (partial credit per case, not per cell).

A function the submission does not define scores zero on every case, saying so; a submission that
could not be read scores zero everywhere with its error as the message.
"""

from __future__ import annotations

from dataclasses import replace

from alr.misconceptions import HINTS, Misconception
from autograder.stages.context import CaseCheck, Context, Failure, TestResult


def test_output(check: CaseCheck, diagnosis: Misconception | None) -> str:
    """The short student-facing line of one test (no input or expected values)."""
    if check.passed:
        return "passed"
    if diagnosis is None:
        return check.message
    did = HINTS[diagnosis].did
    return f"{check.message}. This looks like {diagnosis}: {did}".rstrip()


def score(ctx: Context) -> Context:
    """Stage: one `TestResult` per case in scope, in contract order."""
    plan = ctx.settings.plan
    tests: list[TestResult] = []
    for name in ctx.functions:
        cases = plan.cases[name]
        share = plan.points[name] / len(cases) if cases else 0.0
        for case in cases:
            check = ctx.checks.get(case.case_id)
            if check is None:
                why = f"not graded: {ctx.error}" if ctx.error else "not graded"
                check = CaseCheck(case.case_id, False, Failure.NOT_RUN, why)
            diagnosis = ctx.diagnoses.get(case.case_id)
            tests.append(
                TestResult(
                    case=case,
                    score=share if check.passed else 0.0,
                    max_score=share,
                    passed=check.passed,
                    output=test_output(check, diagnosis),
                    diagnosis=diagnosis,
                )
            )
    return replace(ctx, tests=tuple(tests))
