"""Check one case's child records against trusted outcomes, structure before values.

For every call in order: did it run (error, skipped), did it change an input in place, then per
output: kind (tensor / float), shape, dtype, device, non-finite values, and closeness
|s - r| <= atol * scale + rtol * |r| with scale = max(1, RMS(r)) (atol scales with the magnitude
of the values), the tolerance of the contract (`alr.contract.tolerance_for`, the one the
notebooks' tests use). In float64, the displacement of theta from its start is compared too,
|ds - dr| <= DISPLACEMENT_RTOL max|dr| + 64 eps max|theta|, so mistakes that move theta by a
tiny amount (default eps, small lr) are still seen. Last, a result that shares storage with an
input fails (checked after the values, so a wrong value is reported and diagnosed first).

Messages are for the student: they name the step, the output, shapes and dtypes, and relative
error sizes, never input or expected values.

What depends only on a reference (its tolerance band, its step from the start) is computed once
per batch (`_reference`, `_start`), so checking a value is one vectorised comparison; the
detailed checks run only to word a failure, and decide exactly as the one comparison does.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from alr.contract import DISPLACEMENT_RTOL
from autograder.diagnosis.variants import EQUIVALENT
from autograder.sandbox.protocol import CallRecord, OutputValue
from autograder.stages.context import CaseCheck, Context, Failure
from course.cases.expand import CaseInstance
from course.cases.program import CallOutcome
from course.cases.trusted import run_trusted


def display_name(output: str) -> str:
    """`theta_3` -> `theta`; `ratios_1/fc.bias` -> `ratios['fc.bias']`."""
    base, _, key = output.partition("/")
    base = base.rsplit("_", 1)[0]
    return f"{base}[{key!r}]" if key else base


def _expected_value(v: Any) -> tuple[str, np.ndarray | None, tuple[int, ...]]:
    """(kind, float64 values or None on meta, shape) of a trusted value: a tensor, a float64
    array (a tensor already converted by the plan) or a Python number."""
    if isinstance(v, np.ndarray):
        return "tensor", v, v.shape
    if isinstance(v, torch.Tensor):
        arr = None if v.device.type == "meta" else v.detach().to(torch.float64).numpy()
        return "tensor", arr, tuple(v.shape)
    return "float", np.asarray(float(v), dtype=np.float64), ()


def _structure(
    name: str, got: OutputValue, expected: Any, case: CaseInstance
) -> tuple[Failure, str] | None:
    kind, _, shape = _expected_value(expected)
    if got.kind != kind:
        want = "a tensor" if kind == "tensor" else "a Python float"
        found = {"tensor": "a tensor", "float": "a Python number"}.get(got.kind, got.type_name)
        return Failure.KIND, f"`{display_name(name)}` is {found}, expected {want}"
    if kind != "tensor":
        return None
    if tuple(got.shape) != shape:
        return Failure.SHAPE, (
            f"`{display_name(name)}` has shape {tuple(got.shape)}, expected {shape}"
        )
    if got.dtype != case.dtype:
        return Failure.DTYPE, (
            f"`{display_name(name)}` is {got.dtype}, expected {case.dtype} (the input dtype)"
        )
    if got.device.split(":")[0] != case.device:
        return Failure.DEVICE, (
            f"`{display_name(name)}` is on {got.device}, expected {case.device} (the input's)"
        )
    return None


def _scaled_error(s: np.ndarray, r: np.ndarray) -> float:
    finite = np.isfinite(r)
    if not finite.any():
        return 0.0
    scale = max(1.0, float(np.sqrt(np.mean(r[finite] ** 2))))
    diff = np.abs(s[finite] - r[finite])
    return float(diff.max(initial=0.0) / max(scale, float(np.abs(r[finite]).max(initial=0.0))))


# ---- per-reference quantities, once per batch ----

_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 200_000


@dataclass(frozen=True)
class _Reference:
    """A reference value's tolerance band |s - r| <= band (None when r has a non-finite
    value: the masked check decides). Where the band is finite, s within it is finite too."""

    r: np.ndarray
    band: np.ndarray | None
    finite_band: bool = True


_REFERENCES: dict[tuple[int, float, float], _Reference] = {}


def _reference(r: np.ndarray, case: CaseInstance) -> _Reference:
    """`_Reference` of r under the case's tolerance, cached per array (kept alive: an id is
    never reused while its entry is held)."""
    tol = case.tolerance
    key = (id(r), tol.atol, tol.rtol)
    hit = _REFERENCES.get(key)
    if hit is not None and hit.r is r:
        return hit
    band, finite_band = None, True
    if np.isfinite(r).all():
        scale = max(1.0, float(np.sqrt(np.dot(r.ravel(), r.ravel()) / max(r.size, 1))))
        band = tol.atol * scale + tol.rtol * np.abs(r)
        finite_band = bool(np.isfinite(band).all())
    ref = _Reference(r, band, finite_band)
    with _CACHE_LOCK:
        if len(_REFERENCES) > _CACHE_MAX:
            _REFERENCES.clear()
        _REFERENCES[key] = ref
    return ref


@dataclass(frozen=True)
class _Step:
    """A float64 reference's step from the start (dr = r - theta0) and its allowance."""

    r: np.ndarray
    theta0: np.ndarray
    dr: np.ndarray
    allowed: float


_STEPS: dict[tuple[int, str], _Step] = {}


def _step(r: np.ndarray, case: CaseInstance, start: str) -> _Step:
    key = (id(r), case.case_id + "\0" + start)
    hit = _STEPS.get(key)
    if hit is not None and hit.r is r:
        return hit
    theta0 = np.asarray(case.inputs[start], dtype=np.float64)
    dr = r - theta0
    big = max(float(np.abs(theta0).max(initial=0.0)), float(np.abs(r).max(initial=0.0)))
    allowed = (
        DISPLACEMENT_RTOL * float(np.abs(dr).max(initial=0.0)) + 64 * np.finfo(np.float64).eps * big
    )
    step = _Step(r, theta0, dr, allowed)
    with _CACHE_LOCK:
        if len(_STEPS) > _CACHE_MAX:
            _STEPS.clear()
        _STEPS[key] = step
    return step


def _values(
    name: str, s: np.ndarray, r: np.ndarray, case: CaseInstance
) -> tuple[Failure, str] | None:
    s = np.asarray(s, dtype=np.float64)
    ref = _reference(r, case)
    if ref.band is not None:  # the usual case: r finite, one comparison decides
        within = (np.abs(s - r) <= ref.band).all()
        if within and ref.finite_band:  # (so s is finite too)
            return None
        what = f"`{display_name(name)}`"
        if not np.isfinite(s).all():
            n = int((~np.isfinite(s)).sum())
            msg = f"{what} has {n} NaN/inf value(s) where the rule gives finite ones"
            return Failure.NONFINITE, msg
        if within:
            return None
        return Failure.VALUE, _value_message(what, s, r, case.tolerance.rtol)
    what = f"`{display_name(name)}`"
    tol = case.tolerance
    finite_r = np.isfinite(r)
    bad_s, bad_r = ~np.isfinite(s), ~finite_r
    inf_s = bad_s & np.isinf(s)
    if (bad_s != bad_r).any() or (np.sign(s[inf_s]) != np.sign(r[inf_s])).any():
        n = int((bad_s & ~bad_r).sum())
        if n:
            msg = f"{what} has {n} NaN/inf value(s) where the rule gives finite ones"
            return Failure.NONFINITE, msg
        return Failure.NONFINITE, f"{what} has finite values where the rule gives inf (a zero norm)"
    sf, rf = s[finite_r], r[finite_r]
    scale = max(1.0, float(np.sqrt(np.mean(rf**2)))) if rf.size else 1.0
    if (np.abs(sf - rf) <= tol.atol * scale + tol.rtol * np.abs(rf)).all():
        return None
    return Failure.VALUE, _value_message(what, s, r, tol.rtol)


def _value_message(what: str, s: np.ndarray, r: np.ndarray, rtol: float) -> str:
    rel = _scaled_error(s, r)
    return (
        f"{what} differs from the reference: largest error {rel:.2g} of the values' size "
        f"(tolerance {rtol:.0e})"
    )


def _displacement(name: str, s: np.ndarray, r: np.ndarray, case: CaseInstance) -> str | None:
    start = case.displacement_starts.get(name)
    if start is None or case.dtype != "float64":
        return None
    step = _step(r, case, start)
    err = float(np.abs((s - step.theta0) - step.dr).max(initial=0.0))
    if err > step.allowed:
        size = float(np.abs(step.dr).max(initial=0.0)) or 1.0
        return (
            f"the update of `{display_name(name)}` differs from the reference by {err / size:.2g} "
            f"of its size (tolerance {DISPLACEMENT_RTOL:.0e})"
        )
    return None


def compare_outputs(
    case: CaseInstance,
    records: tuple[CallRecord, ...],
    expected: list[CallOutcome],
    *,
    variant: bool = False,
) -> CaseCheck:
    """Compare the child's records of one case with trusted outcomes (reference or variant).

    With `variant=True` (diagnosis), a student call that raised matches a variant call that
    raised or produced non-finite values (ZeroDivisionError vs inf), and the rest of that
    trajectory then counts as matching."""
    failure: tuple[Failure, str, int, str | None] | None = None
    for i, (rec, exp) in enumerate(zip(records, expected, strict=False)):
        if variant and rec.error is not None and _raised_alike(rec, exp):
            break
        found = _check_call(case, rec, exp, variant)
        if found is not None:
            failure = (found[0], found[1], i, found[2])
            break
    if failure is None and len(records) != len(expected):
        failure = (Failure.ERROR, f"{len(records)} call results for {len(expected)} calls", 0, None)
    if failure is None:
        return CaseCheck(case.case_id, True)
    kind, msg, call, output = failure
    where = f"step {call + 1}: " if len(expected) > 1 else ""
    errors: tuple[float, ...] = ()
    tolerance = None
    if kind in (Failure.VALUE, Failure.DISPLACEMENT) and output is not None:
        measure = _value_error if kind is Failure.VALUE else _displacement_error
        errors = tuple(
            measure(case, _at_step(output, i + 1), rec, exp)
            for i, (rec, exp) in enumerate(zip(records, expected, strict=False))
        )
        tolerance = case.tolerance.rtol if kind is Failure.VALUE else DISPLACEMENT_RTOL
    return CaseCheck(case.case_id, False, kind, where + msg, call, output, errors, tolerance)


def _raised_alike(rec: CallRecord, exp: CallOutcome) -> bool:
    if exp.error is not None:
        return (rec.error or "").split(":")[0] == exp.error.split(":")[0]
    if not (rec.error or "").startswith("ZeroDivisionError"):
        return False
    return any(
        isinstance(v, torch.Tensor) and not bool(torch.isfinite(v).all())
        for v in exp.values.values()
    )


def _check_call(
    case: CaseInstance, rec: CallRecord, exp: CallOutcome, variant: bool
) -> tuple[Failure, str, str | None] | None:
    if exp.error is not None:
        return Failure.ERROR, f"{case.function} returned where the expected run raised", None
    if rec.skipped:
        return Failure.SKIPPED, "not run because an earlier step failed", None
    if rec.error is not None and rec.error.rstrip(": ") == "NotImplementedError":
        return Failure.ERROR, f"{case.function} is not implemented yet", None
    if rec.error is not None:
        return Failure.ERROR, f"{case.function} raised {rec.error}", None
    if rec.mutated:
        names = ", ".join(f"`{display_name(n)}`" for n in rec.mutated)
        return Failure.MUTATED, f"{case.function} changed its input {names} in place", None
    found = _check_outputs(case, rec, exp)
    if found is None and rec.aliased and not variant:
        names = ", ".join(f"`{display_name(n)}`" for n in rec.aliased)
        return Failure.ALIASED, f"{names} shares memory with an input; return a new tensor", None
    return found


def _check_outputs(
    case: CaseInstance, rec: CallRecord, exp: CallOutcome
) -> tuple[Failure, str, str | None] | None:
    extra = sorted(set(rec.outputs) - set(exp.values))
    for name, value in exp.values.items():
        got = rec.outputs.get(name)
        if got is None:
            return Failure.KIND, f"`{display_name(name)}` is missing from the result", name
        found = _structure(name, got, value, case)
        if found is None and got.value is not None and case.device != "meta":
            r = _expected_value(value)[1]
            assert r is not None
            s = np.asarray(got.value, dtype=np.float64)
            found = _values(name, s, r, case)
            if found is None:
                msg = _displacement(name, s, r, case)
                found = (Failure.DISPLACEMENT, msg) if msg else None
        elif found is None and got.value is None and case.device != "meta":
            found = (Failure.KIND, f"`{display_name(name)}` came back without values")
        if found is not None:
            return found[0], found[1], name
    if extra:
        shown = ", ".join(repr(display_name(n)) for n in extra[:3])
        return Failure.KIND, f"unexpected result entries {shown}", extra[0]
    return None


def _at_step(output: str, step: int) -> str:
    """The name of the same output at another step: `theta_3` -> `theta_<step>` (also for a
    named tensor, `params_3/fc.weight`)."""
    base, _, key = output.partition("/")
    name = f"{base.rsplit('_', 1)[0]}_{step}"
    return f"{name}/{key}" if key else name


def _compared(name: str, rec: CallRecord, exp: CallOutcome) -> tuple[np.ndarray, np.ndarray] | None:
    """(student, expected) float64 values of one output of a call, when comparable."""
    got = rec.outputs.get(name)
    if rec.error or rec.skipped or got is None or got.value is None or name not in exp.values:
        return None
    _, r, shape = _expected_value(exp.values[name])
    if r is None or tuple(got.shape) != shape:
        return None
    return np.asarray(got.value, dtype=np.float64), r


def _value_error(case: CaseInstance, name: str, rec: CallRecord, exp: CallOutcome) -> float:
    """The largest error of an output relative to its values' size (NaN when not comparable)."""
    pair = _compared(name, rec, exp)
    return math.nan if pair is None else _scaled_error(*pair)


def _displacement_error(case: CaseInstance, name: str, rec: CallRecord, exp: CallOutcome) -> float:
    """The error of a step's displacement relative to the rule's (NaN when not comparable)."""
    pair = _compared(name, rec, exp)
    start = case.displacement_starts.get(name)
    if pair is None or start is None:
        return math.nan
    theta0 = np.asarray(case.inputs[start], dtype=np.float64)
    ds, dr = pair[0] - theta0, pair[1] - theta0
    size = float(np.abs(dr).max(initial=0.0)) or 1.0
    return float(np.abs(ds - dr).max(initial=0.0)) / size


def compare(ctx: Context) -> Context:
    """Stage: one `CaseCheck` per case in scope, against the plan's reference outcomes; a
    submission matching a registered equivalent form (`variants.EQUIVALENT`) passes."""
    if ctx.error is not None:
        return ctx

    plan = ctx.settings.plan
    defined = set(ctx.extracted.defined) if ctx.extracted else set()
    checks: dict[str, CaseCheck] = {}
    for name in ctx.functions:
        for case in plan.cases[name]:
            cid = case.case_id
            if name not in defined:
                msg = f"{name} is not defined in your submission"
                checks[cid] = CaseCheck(cid, False, Failure.MISSING, msg)
                continue
            run = ctx.run
            records = run.cases.get(cid) if run is not None else None
            if run is None or records is None:  # a partial result (memory) is still graded
                why = run.message if run is not None and run.message else "no result came back"
                checks[cid] = CaseCheck(cid, False, Failure.NOT_RUN, f"not graded: {why}")
                continue
            check = compare_outputs(case, records, plan.expected[cid])
            for form in () if check.passed else EQUIVALENT.get(name, ()):
                alt = compare_outputs(case, records, run_trusted(case, form), variant=True)
                if alt.passed:
                    check = CaseCheck(cid, True, errors=alt.errors)
                    break
            checks[cid] = check
    return replace(ctx, checks=checks)
