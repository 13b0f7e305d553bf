"""Credit only for working code: code that returns its inputs, zeros or copies of them earns
nothing on any of the 24 graded functions, however its cases are drawn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import torch

from alr.contract import FUNCTIONS
from autograder.sandbox.protocol import JobResult, RunStatus
from autograder.stages.compare import compare_outputs
from autograder.stages.context import CaseCheck, Extracted, Failure
from autograder.stages.diagnose import diagnose
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


def _meta_checks(plan, failing: dict[str, str]) -> dict:
    """Every case of 4.1 passes except the meta cases named, which raised `message`."""
    checks = {}
    for fn in ("bias_correction", "adam_step", "adafactor_beta2"):
        for case in plan.cases[fn]:
            cid = case.case_id
            if cid in failing:
                checks[cid] = CaseCheck(cid, False, Failure.ERROR, f"{fn} raised {failing[cid]}")
            else:
                checks[cid] = CaseCheck(cid, True)
    return checks


def test_a_value_read_on_meta_tensors_costs_only_its_own_portability_case():
    """When bias_correction reads a tensor value (.item()) and adam_step calls it, does only
    bias_correction lose its portability case, with a message saying why, never wrong_device,
    while adam_step's meta case is not charged?"""
    plan = course_plan()
    item = "RuntimeError: Tensor.item() cannot be called on meta tensors"
    checks = _meta_checks(plan, {"bias_correction/meta": item, "adam_step/meta": item})
    calls = {"adam_step": ("bias_correction",)}
    extracted = Extracted("", ("bias_correction", "adam_step"), {}, calls=calls)
    ctx = replace(context(plan, None, modules=("4.1",)), checks=checks, extracted=extracted)
    ctx = replace(ctx, run=JobResult(RunStatus.OK, cases=dict.fromkeys(checks, ())))
    ctx = score(diagnose(ctx))
    meta = {t.case.function: t for t in ctx.tests if t.case.device == "meta"}
    assert not meta["bias_correction"].passed and meta["bias_correction"].diagnosis is None
    message = "does not run off the CPU: RuntimeError: Tensor.item() cannot be called"
    assert meta["bias_correction"].output.startswith(message)
    assert meta["adam_step"].passed


def test_copying_data_off_the_device_is_wrong_device():
    """Is `.cpu()` on a meta tensor ("Cannot copy out of meta tensor") named wrong_device?"""
    plan = course_plan()
    moved = "NotImplementedError: Cannot copy out of meta tensor; no data!"
    checks = _meta_checks(plan, {"bias_correction/meta": moved})
    ctx = replace(context(plan, None, modules=("4.1",)), checks=checks)
    ctx = diagnose(replace(ctx, run=JobResult(RunStatus.OK, cases=dict.fromkeys(checks, ()))))
    assert ctx.diagnoses == {"bias_correction/meta": "wrong_device"}


def test_an_unimplemented_function_says_so():
    """Does a function that still raises NotImplementedError (the notebook's stub) say "not
    implemented yet" rather than show an exception?"""
    case = course_plan().cases["ema"][0]

    def stub(avg, x, beta):
        raise NotImplementedError()

    check = compare_outputs(case, student_records(case, stub), course_plan().expected[case.case_id])
    assert check.message == "ema is not implemented yet"
