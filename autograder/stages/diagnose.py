"""Stage 5, diagnose: name the mistake behind a failed case.

A structural failure names itself (in-place change -> mutates_input, returned input ->
aliases_input, dtype -> wrong_dtype, device -> wrong_device). A wrong value is compared with
each known wrong variant of the function (`autograder.diagnosis.variants`), run in the parent on
the same inputs and compared with the same tolerance as the reference check: the first variant the
student's
results match names the misconception. A case that matches the reference is never diagnosed, so
algebraically identical forms are never reported. A failure on `meta` tensors of a function that
ran without raising on the CPU is `wrong_device` (the code does not run off the CPU); otherwise it
shares the mistake found on the CPU cases.
"""

from __future__ import annotations

from dataclasses import replace

from alr.misconceptions import Misconception
from autograder.diagnosis.variants import VARIANTS, VariantOutcomes
from autograder.sandbox.protocol import CallRecord
from autograder.stages.compare import compare_outputs
from autograder.stages.context import CaseCheck, Context, Failure
from course.cases.expand import CaseInstance

_STRUCTURAL = {
    Failure.MUTATED: Misconception.MUTATES_INPUT,
    Failure.ALIASED: Misconception.ALIASES_INPUT,
    Failure.DTYPE: Misconception.WRONG_DTYPE,
    Failure.DEVICE: Misconception.WRONG_DEVICE,
}
_NOT_RAN = {Failure.ERROR, Failure.SKIPPED, Failure.NOT_RUN, Failure.MISSING}
_VALUE_FAILURES = {
    Failure.ERROR,
    Failure.KIND,
    Failure.SHAPE,
    Failure.NONFINITE,
    Failure.VALUE,
    Failure.DISPLACEMENT,
}


def diagnose_case(
    case: CaseInstance,
    records: tuple[CallRecord, ...],
    check: CaseCheck,
    outcomes: VariantOutcomes | None = None,
) -> Misconception | None:
    """The misconception of one failed case, or None when no known mistake matches; `outcomes`
    keeps the variants' outcomes for the rest of the batch."""
    if check.passed or check.failure is None:
        return None
    if check.failure in _STRUCTURAL:
        return _STRUCTURAL[check.failure]
    if check.failure not in _VALUE_FAILURES or case.device == "meta":
        return None
    outcomes = outcomes or VariantOutcomes()
    for index, variant in enumerate(VARIANTS[case.function]):
        outcome = outcomes.get(case, index)
        if compare_outputs(case, records, outcome, variant=True).passed:
            return variant.misconception
    return None


#: What torch says when code copies a tensor's data off its device (.cpu(), .numpy(), .tolist()).
_MOVES_DATA = ("Cannot copy out of meta tensor", "convert meta device type tensor to numpy")


def _moves_data(check: CaseCheck) -> bool:
    return check.failure is Failure.ERROR and any(m in check.message for m in _MOVES_DATA)


def _meta_diagnosis(
    ctx: Context, name: str, check: CaseCheck, found: dict[str, Misconception]
) -> Misconception | None:
    """A result of the meta case that is not on the meta device (a tensor made on the CPU:
    torch.zeros(n) without device=theta.device), or code that copies data off the device
    (.cpu(), .numpy()), is wrong_device; other code that raises on meta tensors reads tensor
    values in Python (.item(), float(), an `if` on a tensor), which the score stage reports as a
    portability failure, not a device mistake. A function that also fails on the CPU shares the
    CPU cases' mistake."""
    cpu = [c for c in ctx.settings.plan.cases[name] if c.device == "cpu"]
    cpu_checks = [ctx.checks[c.case_id] for c in cpu if c.case_id in ctx.checks]
    ran = cpu_checks and all(c.failure not in _NOT_RAN for c in cpu_checks)
    if ran and (check.failure is Failure.DEVICE or _moves_data(check)):
        return Misconception.WRONG_DEVICE
    if ran:
        return None
    named = [found[c.case_id] for c in cpu if c.case_id in found]
    return max(set(named), key=named.count) if named else None


def diagnose(ctx: Context) -> Context:
    """Stage: a misconception id for every failed case that has one."""
    if ctx.error is not None or ctx.run is None:
        return ctx
    found: dict[str, Misconception] = {}
    outcomes = ctx.variants or VariantOutcomes()
    for name in ctx.functions:
        cases = sorted(ctx.settings.plan.cases[name], key=lambda c: c.device == "meta")
        for case in cases:
            check = ctx.checks.get(case.case_id)
            records = ctx.run.cases.get(case.case_id)
            if check is None or check.passed or records is None:
                continue
            if case.device == "meta":
                mid = _meta_diagnosis(ctx, name, check, found)
            else:
                mid = diagnose_case(case, records, check, outcomes)
            if mid is not None:
                found[case.case_id] = mid
    return replace(ctx, diagnoses=found)
