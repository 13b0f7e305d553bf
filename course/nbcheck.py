"""The `check` helper of the notebooks' tests, copied verbatim into every notebook.

It reports structure before values, the way a learner can act on: a missing key, then the type,
then the shape, then the dtype, then the values (with the largest difference). Values pass by the
grader's own rule, so a test passes in the notebook exactly when the grader accepts it:

    |actual - expected| <= atol * max(1, RMS(expected)) + rtol * |expected|   elementwise,

non-finite values where the expected ones are; and in float64, for a parameter that a step
rule moved from `start` by `moved`, the displacement too: |(actual - start) - moved| <=
drtol max|moved| + 64 eps max(|start|, |expected|), so a mistake that moves theta by a tiny
amount is still seen.
"""

from __future__ import annotations

import math
import numbers

import torch


def check(name, actual, expected, dtype, rtol, atol, start=None, moved=None, drtol=0.0):
    """Assert that `actual` matches `expected` (tensor, float or dict) within rtol/atol."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise AssertionError(f"{name}: expected a dict, got {type(actual).__name__}")
        if sorted(actual) != sorted(expected):
            raise AssertionError(f"{name} has keys {sorted(actual)}, expected {sorted(expected)}")
        for key in expected:
            begin = None if start is None else start[key]
            shift = None if moved is None else moved[key]
            where = f"{name}[{key!r}]"
            check(where, actual[key], expected[key], dtype, rtol, atol, begin, shift, drtol)
        return
    if isinstance(expected, float):
        if isinstance(actual, torch.Tensor | bool) or not isinstance(actual, numbers.Real):
            raise AssertionError(f"{name}: expected a Python float, got {type(actual).__name__}")
        actual, expected = torch.tensor(float(actual)), torch.tensor(expected)
    elif not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{name}: expected a tensor, got {type(actual).__name__}")
    elif tuple(actual.shape) != tuple(expected.shape):
        raise AssertionError(
            f"{name} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
        )
    elif actual.dtype != getattr(torch, dtype):
        raise AssertionError(f"{name} has dtype {actual.dtype}, expected torch.{dtype}")
    got, want = actual.detach().double(), expected.double()
    finite = want.isfinite()
    odd, odd_want = got[~finite], want[~finite]
    same_odd = (odd == odd_want) | (odd.isnan() & odd_want.isnan())
    if not bool((got.isfinite() == finite).all()) or not bool(same_odd.all()):
        raise AssertionError(f"{name} has NaN/inf values where the expected ones are finite")
    scale = max(1.0, float(want[finite].square().mean().sqrt())) if bool(finite.any()) else 1.0
    diff = (got - want).abs()[finite]
    close = diff <= atol * scale + rtol * want.abs()[finite]
    if not bool(close.all()):
        raise AssertionError(
            f"{name}: {int((~close).sum())} of {close.numel()} values differ from the expected "
            f"ones (largest difference {float(diff.max()):.3g}, rtol={rtol}, atol={atol})"
        )
    if start is not None and moved is not None and dtype == "float64":
        begin = start.detach().double()
        went, should = got - begin, moved.double()
        big = max(float(begin.abs().max()), float(want.abs().max())) if want.numel() else 0.0
        allowed = drtol * float(should.abs().max()) + 64 * 2.0**-52 * big if want.numel() else 0.0
        err = float((went - should).abs().max()) if want.numel() else 0.0
        if err > allowed and not math.isnan(err):
            raise AssertionError(
                f"{name}: the update differs from the expected one by {err:.3g} "
                f"(allowed {allowed:.3g}): check the small terms of the step"
            )
