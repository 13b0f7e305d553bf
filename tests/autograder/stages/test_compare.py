"""Comparison in the parent: structure first, then non-finite values, closeness, displacement.

Records are built from the reference's own outputs (trusted) and then altered by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from autograder.sandbox.protocol import CallRecord, JobResult, OutputValue, RunStatus
from autograder.stages.compare import Failure, compare, compare_outputs, display_name
from autograder.stages.extract import Extracted
from solutions import reference
from tests.autograder.grading_helpers import context, course_plan, student_records


def _case(function, dtype="float64", steps=None):
    return next(
        c
        for c in course_plan().cases[function]
        if c.dtype == dtype and c.device == "cpu" and (steps is None or c.steps == steps)
    )


def _check(case, records):
    return compare_outputs(case, records, course_plan().expected[case.case_id])


def _alter(records, call, name, **changes):
    rec = records[call]
    outputs = dict(rec.outputs)
    outputs[name] = replace(outputs[name], **changes)
    return records[:call] + (replace(rec, outputs=outputs),) + records[call + 1 :]


def test_reference_records_pass():
    """Do the reference's own records pass (float32 and float64)?"""
    for dtype in ("float32", "float64"):
        case = _case("adam_step", dtype, steps=5)
        assert _check(case, student_records(case, reference("adam_step"))).passed


@pytest.mark.parametrize(
    ("changes", "failure", "message"),
    [
        (
            {"shape": (9,), "value": np.zeros(9)},
            Failure.SHAPE,
            "step 2: `m` has shape (9,), expected (3,)",
        ),
        (
            {"dtype": "float32"},
            Failure.DTYPE,
            "step 2: `m` is float32, expected float64 (the input dtype)",
        ),
        (
            {"device": "cuda:0"},
            Failure.DEVICE,
            "step 2: `m` is on cuda:0, expected cpu (the input's)",
        ),
        (
            {"kind": "other", "type_name": "ndarray"},
            Failure.KIND,
            "step 2: `m` is ndarray, expected a tensor",
        ),
        ({"kind": "float"}, Failure.KIND, "step 2: `m` is a Python number, expected a tensor"),
    ],
)
def test_structure_is_checked_before_values(changes, failure, message):
    """Is each structural problem reported by name, step and expected structure?"""
    case = _case("adam_step", steps=5)
    records = _alter(student_records(case, reference("adam_step")), 1, "m_2", **changes)
    check = _check(case, records)
    assert (check.passed, check.failure, check.call) == (False, failure, 1)
    assert check.message == message


def test_nan_where_the_rule_is_finite_is_reported_as_such():
    """Is a NaN reported as non-finite, with the count, not as a value difference?"""
    case = _case("adam_step", steps=5)
    records = student_records(case, reference("adam_step"))
    bad = records[0].outputs["theta_1"].value.copy()
    bad[:2] = np.nan
    check = _check(case, _alter(records, 0, "theta_1", value=bad))
    assert check.failure is Failure.NONFINITE
    assert (
        check.message == "step 1: `theta` has 2 NaN/inf value(s) where the rule gives finite ones"
    )


def test_a_wrong_value_reports_a_relative_size_and_no_values():
    """Does a value failure give the relative error and tolerance, never the numbers?"""
    case = _case("ema", steps=1)
    records = student_records(case, reference("ema"))
    value = records[0].outputs["avg_1"].value
    check = _check(case, _alter(records, 0, "avg_1", value=value * 1.01))
    assert check.failure is Failure.VALUE and "tolerance 1e-10" in check.message
    assert not any(f"{x:.4f}" in check.message for x in value.flatten())


def test_float64_displacement_catches_what_theta_closeness_misses():
    """Is a theta off by more than 3e-9 of its update, but inside theta's own rtol, still a
    failure in float64?"""
    for case in course_plan().cases["adam_step"]:
        if case.dtype != "float64" or case.device != "cpu":
            continue
        last = len(case.program.calls)
        records = student_records(case, reference("adam_step"))
        theta = records[-1].outputs[f"theta_{last}"].value
        step = theta - case.inputs["theta_0"]
        nudge = 0.5e-10 * np.abs(theta)  # half of theta's own rtol, element by element
        if np.abs(step).max() > 0 and nudge.max() > 3e-9 * np.abs(step).max():
            break
    else:
        pytest.fail("no float64 adam_step case takes a step small against theta")
    nudged = theta + nudge
    assert np.allclose(nudged, theta, rtol=1e-10, atol=1e-12)  # theta itself looks fine
    check = _check(case, _alter(records, last - 1, f"theta_{last}", value=nudged))
    assert (
        check.failure is Failure.DISPLACEMENT and "the update of `theta` differs" in check.message
    )
    assert check.tolerance == 1e-9 and check.errors[-1] > 1e-9 >= max(check.errors[:-1])


def test_mutation_is_reported_and_aliasing_only_after_the_values():
    """Is an in-place change a MUTATED failure, and a returned input an ALIASED one only when
    the values are right?"""
    case = _case("ema", steps=1)
    records = student_records(case, reference("ema"))
    mutated = (replace(records[0], mutated=("avg_0",)),)
    assert _check(case, mutated).message == "ema changed its input `avg` in place"
    aliased = (replace(records[0], aliased=("avg_1",)),)
    assert _check(case, aliased).failure is Failure.ALIASED
    wrong_and_aliased = _alter(aliased, 0, "avg_1", value=records[0].outputs["avg_1"].value + 1)
    assert _check(case, wrong_and_aliased).failure is Failure.VALUE


def test_errors_and_skipped_steps():
    """Is a raise reported with its message, and later skipped steps not blamed first?"""
    case = _case("adam_step", steps=5)
    records = student_records(case, reference("adam_step"))
    broken = (
        records[0],
        CallRecord("adam_step", error="RuntimeError: boom"),
        *(CallRecord("adam_step", skipped=True) for _ in range(3)),
    )
    check = _check(case, broken)
    assert (check.failure, check.call) == (Failure.ERROR, 1)
    assert check.message == "step 2: adam_step raised RuntimeError: boom"


def test_variant_mode_matches_a_zero_division_error_with_a_non_finite_variant():
    """Does a student's ZeroDivisionError match a variant whose step is inf/NaN?"""
    from autograder.diagnosis.variants import VARIANTS
    from course.cases.trusted import run_trusted

    case = _case("adamw_step", steps=5)
    off = next(v for v in VARIANTS["adamw_step"] if v.misconception == "bias_correction_off_by_one")
    raised = tuple(
        CallRecord("adamw_step", error="ZeroDivisionError: float division by zero")
        for _ in case.program.calls
    )
    outcome = run_trusted(case, off.function)
    assert compare_outputs(case, raised, outcome, variant=True).passed
    assert not compare_outputs(case, raised, course_plan().expected[case.case_id]).passed


def test_missing_dict_keys_are_named():
    """Is a missing entry of a dict result named with its key?"""
    case = next(c for c in course_plan().cases["layerwise_trust_ratios"] if c.device == "cpu")
    records = student_records(case, reference("layerwise_trust_ratios"))
    key = next(iter(records[0].outputs))
    outputs = {k: v for k, v in records[0].outputs.items() if k != key}
    check = _check(case, (replace(records[0], outputs=outputs),))
    assert check.message == f"`{display_name(key)}` is missing from the result"
    assert display_name("ratios_1/fc.bias") == "ratios['fc.bias']"


def test_compare_stage_scores_missing_functions_and_failed_runs(tmp_path):
    """Does the stage mark undefined functions 'not defined' and a crashed run 'not graded'?"""
    plan = course_plan()
    ctx = context(plan, tmp_path)
    ctx = replace(ctx, extracted=Extracted("", ("ema",), {"ema": "line 1"}))
    crashed = JobResult(RunStatus.TIMEOUT, "your code ran past the 5 s limit")
    checks = compare(replace(ctx, run=crashed)).checks
    ema = [checks[c.case_id] for c in plan.cases["ema"]]
    adam = [checks[c.case_id] for c in plan.cases["adam_step"]]
    assert all(c.failure is Failure.NOT_RUN for c in ema)
    assert ema[0].message == "not graded: your code ran past the 5 s limit"
    assert all(c.message == "adam_step is not defined in your submission" for c in adam)
    assert len(checks) == sum(len(v) for v in plan.cases.values())


def test_output_values_from_the_child_are_plain_data():
    """(Sanity) the helper builds OutputValue records like the child's."""
    case = _case("trust_ratio")
    rec = student_records(case, reference("trust_ratio"))[0]
    value = next(iter(rec.outputs.values()))
    assert isinstance(value, OutputValue) and value.shape == () and value.kind == "tensor"


def _explicit_values(s, r, tol):
    """The value check written out step by step (finiteness first, then the band): what the
    cached band's single comparison must decide identically."""
    finite_r = np.isfinite(r)
    if finite_r.all():
        if not np.isfinite(s).all():
            return "nonfinite"
        scale = max(1.0, float(np.sqrt(np.dot(r.ravel(), r.ravel()) / max(r.size, 1))))
        return (
            "pass" if (np.abs(s - r) <= tol.atol * scale + tol.rtol * np.abs(r)).all() else "value"
        )
    bad_s, bad_r = ~np.isfinite(s), ~finite_r
    inf_s = bad_s & np.isinf(s)
    if (bad_s != bad_r).any() or (np.sign(s[inf_s]) != np.sign(r[inf_s])).any():
        return "nonfinite"
    sf, rf = s[finite_r], r[finite_r]
    scale = max(1.0, float(np.sqrt(np.mean(rf**2)))) if rf.size else 1.0
    return (
        "pass" if (np.abs(sf - rf) <= tol.atol * scale + tol.rtol * np.abs(rf)).all() else "value"
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_cached_band_decides_as_the_explicit_checks(dtype):
    """For values at, inside and just outside the tolerance, with NaN and inf on either side
    (and references too large for a finite band), does the one cached comparison give the same
    verdict as the checks written out?"""
    from autograder.stages.compare import _values

    case = _case("ema", dtype)
    tol = case.tolerance
    rng = np.random.default_rng(7)
    kinds = {None: "pass", Failure.NONFINITE: "nonfinite", Failure.VALUE: "value"}
    seen = set()
    for trial in range(400):
        r = rng.standard_normal(12) * 10.0 ** rng.integers(-3, 4)
        if trial % 7 == 0:
            r[rng.integers(12)] = rng.choice([np.inf, -np.inf, np.nan])
        if trial % 11 == 0:
            r = r * 1e300  # a band that overflows
        with np.errstate(all="ignore"):  # overflowing bands are part of the test
            scale = max(1.0, float(np.sqrt(np.mean(np.square(r[np.isfinite(r)])))) or 1.0)
            size = rng.choice([0.0, 0.5, 0.99, 1.01, 3.0])
            step = (tol.atol * scale + tol.rtol * np.abs(r)) * size
            s = r + np.where(np.isfinite(step), step, 0.0) * rng.choice([-1.0, 1.0], 12)
            if trial % 5 == 0:
                s[rng.integers(12)] = rng.choice([np.inf, -np.inf, np.nan])
            found = _values("avg_1", s, r, case)
            want = _explicit_values(s, r, tol)
        got = kinds[found[0] if found else None]
        assert got == want, (trial, s, r)
        seen.add(got)
    assert seen == {"pass", "nonfinite", "value"}
