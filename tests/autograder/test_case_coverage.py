"""The course's grading cases reach every branch of each reference, data-dependent ones included:
a clip or a cap that binds only at a larger lr or a later step, a zero-norm fallback, a running
maximum that binds, an excluded tensor. Each reference is run on every case with its pieces
replaced by spies (`with_pieces`) that record which side of each branch was taken."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import torch

import solutions
from autograder.diagnosis.compose import with_pieces
from course.cases.trusted import run_trusted
from solutions.adafactor import rms
from solutions.trust import _ratio_or_one
from tests.autograder.grading_helpers import course_plan


def _run(function: str, fn: Callable[..., Any]) -> None:
    for case in course_plan().cases[function]:
        if case.device == "cpu":
            run_trusted(case, fn)


@cache
def _seen(function: str) -> frozenset[str]:
    """The branch sides the course's cases of `function` reach."""
    seen: set[str] = set()

    def ratio(num: torch.Tensor, den: torch.Tensor, *norms: torch.Tensor) -> torch.Tensor:
        seen.add("a zero norm" if not all(bool(n > 0) for n in norms) else "positive norms")
        return _ratio_or_one(num, den, *norms)

    if function == "adafactor_step":

        def step(theta, grad, row_var, col_var, t, **kw):  # noqa: ANN001, ANN003, ANN202
            lr, eps2 = kw["lr"], kw["eps2"]
            seen.add("lr cap" if lr < 1 / math.sqrt(t) else "1/sqrt(t) cap")
            seen.add("eps2 floor" if float(rms(theta)) < eps2 else "RMS(theta)")
            out = solutions.adafactor_step(theta, grad, row_var, col_var, t, **kw)
            free = solutions.adafactor_step(
                theta, grad, row_var, col_var, t, **{**kw, "d": math.inf}
            )
            seen.add("no clip" if torch.equal(out[0], free[0]) else "clip binds")
            return out

        _run(function, step)
        return frozenset(seen)
    if function == "amsgrad_step":

        def step(theta, grad, m, v, v_max, t, **kw):  # noqa: ANN001, ANN003, ANN202
            out = solutions.amsgrad_step(theta, grad, m, v, v_max, t, **kw)
            seen.add("max binds" if bool((out[3] > out[2]).any()) else "max is v")
            return out

        _run(function, step)
        return frozenset(seen)
    if function == "update_diagnostics":

        def step(theta_before, theta_after, grad):  # noqa: ANN001, ANN202
            out = solutions.update_diagnostics(theta_before, theta_after, grad)
            if out["param_norm"] > 0:
                seen.add("param_norm > 0")
            else:
                seen.add("both zero" if out["update_norm"] == 0 else "only param_norm zero")
            return out

        _run(function, step)
        return frozenset(seen)
    if function in ("layerwise_trust_ratios", "lamb_model_step"):
        for case in course_plan().cases[function]:
            names = [k for k, _ in case.program.calls[0].args[0].items]
            exclude = dict(case.program.calls[0].kwargs).get("exclude", ("bias", "norm"))
            seen.update(
                "excluded" if solutions.trust.is_excluded(n, exclude) else "adapted" for n in names
            )
    if function == "adam_direction":
        for case in course_plan().cases[function]:
            inside = dict(case.program.calls[0].kwargs).get("eps_inside_sqrt", False)
            seen.add(f"eps_inside_sqrt={inside}")
    if function == "adafactor_beta2":
        for case in course_plan().cases[function]:
            seen.update("t = 1" if call.args[0] == 1 else "t > 1" for call in case.program.calls)
    _run(function, with_pieces(solutions.reference(function), _ratio_or_one=ratio))
    return frozenset(seen)


BRANCHES = {
    "adafactor_step": {
        "lr cap",
        "1/sqrt(t) cap",
        "eps2 floor",
        "RMS(theta)",
        "no clip",
        "clip binds",
    },
    "amsgrad_step": {"max binds", "max is v"},
    "trust_ratio": {"a zero norm", "positive norms"},
    "lars_trust_ratio": {"a zero norm", "positive norms"},
    "lars_step": {"a zero norm", "positive norms"},
    "lamb_step": {"a zero norm", "positive norms"},
    "layerwise_trust_ratios": {"a zero norm", "positive norms", "excluded", "adapted"},
    "lamb_model_step": {"a zero norm", "positive norms", "excluded", "adapted"},
    "update_diagnostics": {"param_norm > 0", "both zero", "only param_norm zero"},
    "adam_direction": {"eps_inside_sqrt=False", "eps_inside_sqrt=True"},
    "adafactor_beta2": {"t = 1", "t > 1"},
}


@pytest.mark.parametrize("function", sorted(BRANCHES))
def test_the_grading_cases_reach_every_branch_of_the_reference(function):
    """Do the course's cases of `function` take every side of each of its branches?"""
    missing = BRANCHES[function] - _seen(function)
    assert not missing, f"no grading case of {function} reaches: {sorted(missing)}"
