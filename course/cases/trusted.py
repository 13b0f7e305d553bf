"""Trusted runs in the parent: the reference solutions (expected values) and the known wrong
variants (diagnosis), always on float64 CPU tensors built from the case's (rounded) inputs, or on
`meta` tensors for the portability case.

Only trusted code runs here: `solutions` and the grader's wrong variants. Student code never does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from course.cases.expand import CaseInstance
from course.cases.program import CallOutcome, execute
from solutions import reference

#: Functions whose `eps1=None` default means "the machine epsilon of the input dtype": the float64
#: reference of a float32 case must use float32's epsilon, as the student's float32 code does.
_DTYPE_EPS_DEFAULTS = {"factored_second_moment": "eps1", "adafactor_step": "eps1"}


def trusted_inputs(case: CaseInstance) -> dict[str, torch.Tensor]:
    """The case inputs as float64 CPU tensors (or float32 meta tensors for the meta case)."""
    if case.device == "meta":
        return {
            k: torch.empty(v.shape, dtype=torch.float32, device="meta")
            for k, v in case.inputs.items()
        }
    return {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in case.inputs.items()}


def with_dtype_defaults(name: str, fn: Callable[..., Any], dtype: str) -> Callable[..., Any]:
    """`fn` with eps1 defaulting to finfo(dtype).eps where the contract says so."""
    key = _DTYPE_EPS_DEFAULTS.get(name)
    if key is None:
        return fn
    eps = float(torch.finfo(getattr(torch, dtype)).eps)

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get(key) is None:
            kwargs[key] = eps
        return fn(*args, **kwargs)

    return wrapped


def with_contract_defaults(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` called with every argument the contract's signature gives, defaults included, so a
    variant never falls back on defaults of its own (AdamW's weight_decay is 1e-2, not 0)."""
    signature = inspect.signature(reference(name))

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return fn(*bound.args, **bound.kwargs)

    return wrapped


def run_trusted(case: CaseInstance, function: Callable[..., Any]) -> list[CallOutcome]:
    """Run the case's program with `function` (a reference or a variant) in this process."""
    fn = with_contract_defaults(case.function, function)
    functions: Mapping[str, Callable[..., Any]] = {
        case.function: with_dtype_defaults(case.function, fn, case.dtype)
    }
    with torch.no_grad():
        return execute(case.program, trusted_inputs(case), functions, check_purity=False)


def _as_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=torch.float32, device="meta")
    return value


def run_reference(case: CaseInstance) -> list[CallOutcome]:
    """The expected outcome of a case; a reference that fails is a grader bug and raises.

    A meta case expects the structure of the float32 results: it is computed on CPU and mapped
    to empty meta tensors (running ops on meta tensors costs seconds of one-time set-up)."""
    if case.device == "meta":
        outcomes = run_reference(replace(case, device="cpu"))
        for o in outcomes:
            o.values = {k: _as_meta(v) for k, v in o.values.items()}
        return outcomes
    outcomes = run_trusted(case, reference(case.function))
    for o in outcomes:
        if o.error or o.skipped:
            raise RuntimeError(f"reference {case.function} failed on {case.case_id}: {o.error}")
    return outcomes
