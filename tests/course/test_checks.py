"""The notebooks' baked-in tests: they pass for the reference and catch the known mistakes."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import torch

import solutions
from alr.contract import FUNCTION_MODULE
from course import nbcheck
from course.load import load_course
from course.notebooks.checks import case_test, instances
from course.spec import Course


@cache
def _course() -> Course:
    return load_course()


@cache
def _test_code(function: str) -> str:
    course = _course()
    module = course.module(FUNCTION_MODULE[function])
    task = next(t for t in module.tasks if t.function == function)
    cases = [task.example, *course.exercise(function).cases]
    return "\n".join(
        case_test(i) for c in cases for i in instances(function, c, first_shape_only=True)
    )


def _run(code: str, overrides: dict[str, Callable[..., Any]]) -> None:
    namespace: dict[str, Any] = {"torch": torch, "math": __import__("math"), "check": nbcheck.check}
    namespace.update({name: getattr(solutions, name) for name in FUNCTION_MODULE})
    namespace.update(overrides)
    exec(compile(code, "<notebook test>", "exec"), namespace)  # noqa: S102 - our own generated code


@pytest.mark.parametrize("function", sorted(FUNCTION_MODULE))
def test_baked_tests_pass_for_the_reference(function: str) -> None:
    """Does every function's generated test code (visible and hidden) pass for the reference?"""
    _run(_test_code(function), {})


def _ema_swapped(avg, x, beta):
    return (1 - beta) * avg + beta * x


def _adam_no_bias_correction(
    theta, grad, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0
):
    g = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return theta - lr * m / (v.sqrt() + eps), m, v


def _adamw_coupled(
    theta, grad, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2
):
    return solutions.adam_step(
        theta, grad, m, v, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay
    )


def _trust_zero(theta, update):
    wn, un = theta.norm(), update.norm()
    return torch.where((wn > 0) & (un > 0), wn / un, torch.zeros_like(wn))


def _lars_decayed_norm(theta, grad, *, trust_coefficient=1e-3, weight_decay=0.0, eps=1e-8):
    wn, gn = theta.norm(), grad.norm()
    ratio = trust_coefficient * wn / ((grad + weight_decay * theta).norm() + eps)
    return torch.where((wn > 0) & (gn > 0), ratio, torch.ones_like(wn))


def _accumulators_swapped(row_var, col_var, grad, beta2_t):
    g2 = grad * grad
    return (
        beta2_t * row_var + (1 - beta2_t) * g2.mean(-2, keepdim=True).transpose(-1, -2),
        beta2_t * col_var + (1 - beta2_t) * g2.mean(-1, keepdim=True).transpose(-1, -2),
    )


def _amsgrad_max_of_corrected(
    theta, grad, m, v, v_max, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0
):
    g = grad + weight_decay * theta
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    v_max = torch.maximum(v_max, v / (1 - beta2**t))
    return theta - lr * (m / (1 - beta1**t)) / (v_max.sqrt() + eps), m, v, v_max


def _lamb_trust_before_decay(
    theta, grad, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.01
):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    r = (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)
    return theta - lr * solutions.trust_ratio(theta, r) * (r + weight_decay * theta), m, v


def _rmsprop_eps_inside(
    theta, grad, square_avg, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0
):
    g = grad + weight_decay * theta
    square_avg = alpha * square_avg + (1 - alpha) * g * g
    return theta - lr * g / (square_avg + eps).sqrt(), square_avg


def _ema_float64(avg, x, beta):
    return solutions.ema(avg, x, beta).double()


MISTAKES = [
    ("ema", _ema_swapped),
    ("ema", _ema_float64),
    ("adam_step", _adam_no_bias_correction),
    ("adamw_step", _adamw_coupled),
    ("trust_ratio", _trust_zero),
    ("lars_trust_ratio", _lars_decayed_norm),
    ("adafactor_accumulators", _accumulators_swapped),
    ("amsgrad_step", _amsgrad_max_of_corrected),
    ("lamb_step", _lamb_trust_before_decay),
    ("rmsprop_step", _rmsprop_eps_inside),
]


@pytest.mark.parametrize(("function", "wrong"), MISTAKES, ids=[w.__name__ for _, w in MISTAKES])
def test_baked_tests_catch_a_known_mistake(function: str, wrong: Callable[..., Any]) -> None:
    """Does the generated test code fail for an implementation with a known mistake?"""
    with pytest.raises((AssertionError, RuntimeError)):
        _run(_test_code(function), {function: wrong})


def test_check_reports_structure_before_values() -> None:
    """Does `check` name the shape or dtype problem before comparing values?"""
    expected = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"has shape \(3, 2\), expected \(2, 3\)"):
        nbcheck.check("theta", torch.zeros(3, 2), expected, "float32", 1e-5, 1e-6)
    with pytest.raises(AssertionError, match="has dtype torch.float64, expected torch.float32"):
        nbcheck.check(
            "theta", torch.zeros(2, 3, dtype=torch.float64), expected, "float32", 1e-5, 1e-6
        )
    with pytest.raises(AssertionError, match="6 of 6 values differ"):
        nbcheck.check("theta", torch.ones(2, 3), expected, "float32", 1e-5, 1e-6)
    with pytest.raises(AssertionError, match="keys"):
        nbcheck.check("d", {"a": 1.0}, {"b": 1.0}, "float64", 1e-10, 1e-12)


def _variant_params() -> list[Any]:
    from autograder.diagnosis.variants import VARIANTS

    return [
        pytest.param(fn, i, id=f"{fn}-{v.misconception}-{i}")
        for fn, variants in VARIANTS.items()
        for i, v in enumerate(variants)
    ]


@pytest.mark.parametrize(("function", "index"), _variant_params())
def test_the_notebook_and_the_grader_agree_on_every_case(function: str, index: int) -> None:
    """Does a notebook test pass exactly when the grader accepts the same results? Every known
    wrong variant is run on each visible and hidden notebook case and judged both ways."""
    from autograder.diagnosis.variants import VARIANTS
    from autograder.stages.compare import compare_outputs
    from course.cases.trusted import run_reference, with_contract_defaults, with_dtype_defaults
    from tests.autograder.grading_helpers import student_records

    variant = VARIANTS[function][index].function
    course = _course()
    module = course.module(FUNCTION_MODULE[function])
    task = next(t for t in module.tasks if t.function == function)
    for case in [task.example, *course.exercise(function).cases]:
        for inst in instances(function, case, first_shape_only=True):
            graded = compare_outputs(inst, student_records(inst, variant), run_reference(inst))
            wrapped = with_dtype_defaults(
                function, with_contract_defaults(function, variant), inst.dtype
            )
            try:
                _run(case_test(inst), {function: wrapped})
                notebook = True
            except (AssertionError, RuntimeError, ZeroDivisionError):
                notebook = False
            assert notebook == graded.passed, (inst.case_id, graded.message)
