"""Credit only for working code: code that returns its inputs, zeros or copies of them earns
nothing on any of the 24 graded functions, however its cases are drawn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import torch

from alr.contract import FUNCTIONS
from autograder.stages.compare import compare_outputs
from autograder.stages.score import score
from tests.autograder.grading_helpers import context, course_plan, student_records


def _stub(function: str, make: Callable[[Any], Any]) -> Callable[..., Any]:
    """A function with the contract's call shape that returns, for each output, `make` of the
    input of the same name (else of the first tensor input; the step counter where there is
    no tensor)."""
    spec = FUNCTIONS[function]
    names = [a.name for a in spec.tensors]

    def stub(*args: Any, **kwargs: Any) -> Any:
        given = dict(zip([*names, "t"] if spec.takes_t else names, args, strict=False))
        first = given[names[0]] if names else float(given.get("t", args[0] if args else 1))
        outs = [make(given.get(o, first)) for o in spec.outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    return stub


def _apply(make: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def on(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: make(v) for k, v in x.items()}
        return make(x) if isinstance(x, torch.Tensor) else type(x)(0) if make is _zero else x

    return on


def _zero(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(x)


STUBS = {
    "returns its inputs": _apply(lambda x: x),
    "returns zeros": _apply(_zero),
    "returns copies": _apply(lambda x: x.clone()),
}


@pytest.mark.parametrize("stub", sorted(STUBS))
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_code_that_does_nothing_earns_no_points(function, stub):
    """Does a stub of `function` score 0 on every one of its cases, edge and portability cases
    included (they count only once the core cases pass)?"""
    plan = course_plan()
    fn = _stub(function, STUBS[stub])
    checks = {}
    for case in plan.cases[function]:
        checks[case.case_id] = compare_outputs(
            case, student_records(case, fn), plan.expected[case.case_id]
        )
    ctx = replace(context(plan, None, modules=(FUNCTIONS[function].module,)), checks=checks)
    tests = [t for t in score(ctx).tests if t.case.function == function]
    passed_core = [t.case.case_name for t in tests if t.passed]
    assert sum(t.score for t in tests) == 0, f"{function} ({stub}) passes {passed_core}"
