"""The `check` helper of the notebooks' tests, copied verbatim into every notebook.

It reports structure before values, the way a learner can act on: a missing key, then the type,
then the shape, then the dtype, then the values (with the largest difference).
"""

from __future__ import annotations

import math

import torch


def check(name, actual, expected, dtype, rtol, atol):
    """Assert that `actual` matches `expected` (tensor, float or dict) within rtol/atol."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise AssertionError(f"{name}: expected a dict, got {type(actual).__name__}")
        if sorted(actual) != sorted(expected):
            raise AssertionError(f"{name} has keys {sorted(actual)}, expected {sorted(expected)}")
        for key in expected:
            check(f"{name}[{key!r}]", actual[key], expected[key], dtype, rtol, atol)
        return
    if isinstance(expected, float):
        if isinstance(actual, torch.Tensor) or not isinstance(actual, int | float):
            raise AssertionError(f"{name}: expected a Python float, got {type(actual).__name__}")
        same = actual == expected or (math.isnan(actual) and math.isnan(expected))
        if not (same or math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol)):
            raise AssertionError(f"{name} is {actual!r}, expected {expected!r}")
        return
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{name}: expected a tensor, got {type(actual).__name__}")
    if tuple(actual.shape) != tuple(expected.shape):
        raise AssertionError(
            f"{name} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
        )
    if actual.dtype != getattr(torch, dtype):
        raise AssertionError(f"{name} has dtype {actual.dtype}, expected torch.{dtype}")
    got = actual.detach().double()
    close = torch.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(close.all()):
        worst = float((got - expected).abs().nan_to_num(math.inf).max())
        raise AssertionError(
            f"{name}: {int((~close).sum())} of {close.numel()} values differ from the expected "
            f"ones (largest difference {worst:.3g}, rtol={rtol}, atol={atol})"
        )
