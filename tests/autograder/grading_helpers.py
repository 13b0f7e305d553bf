"""Builders for the grader's unit tests: the course's cases, and child records produced by
trusted functions (references and wrong variants) so compare/diagnose are tested without running
any student code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autograder.plan import Plan, build_plan
from autograder.sandbox.protocol import CallRecord, OutputValue
from autograder.stages.context import Context, Settings
from course.cases.expand import CaseInstance
from course.cases.program import CallOutcome, execute
from course.cases.trusted import with_contract_defaults, with_dtype_defaults
from course.spec import ExerciseSpec

SUBMISSIONS = Path(__file__).parents[1] / "fixtures" / "submissions"
SEED = 20240611


@functools.cache
def course_exercises() -> tuple[ExerciseSpec, ...]:
    from course.load import load_course

    return tuple(ex for m in load_course().modules for ex in m.exercises)


@functools.cache
def course_plan(devices: tuple[str, ...] = ("cpu",)) -> Plan:
    return build_plan(course_exercises(), seed=SEED, devices=devices)


def context(plan: Plan, out: Path, **kw: Any) -> Context:
    """A context for alice.py, scoped to every module of the plan unless `modules` is given."""
    settings = Settings(plan, "test", 1 << 20, out)
    kw.setdefault("modules", tuple(sorted({c.module for cs in plan.cases.values() for c in cs})))
    return Context(Path("alice.py"), "alice", "0" * 64, settings, **kw)


def output_value(v: Any) -> OutputValue:
    """What the child would report for one returned value."""
    if isinstance(v, torch.Tensor):
        value = None if v.device.type == "meta" else v.detach().cpu().numpy().copy()
        dtype = str(v.dtype).removeprefix("torch.")
        return OutputValue("tensor", dtype, str(v.device), tuple(v.shape), value)
    if isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_):
        return OutputValue("float", value=np.asarray(float(v), dtype=np.float64))
    return OutputValue("other", type_name=type(v).__name__)


def to_records(outcomes: list[CallOutcome]) -> tuple[CallRecord, ...]:
    return tuple(
        CallRecord(
            function=o.function,
            error=o.error,
            skipped=o.skipped,
            mutated=tuple(o.mutated),
            aliased=tuple(o.aliased),
            outputs={k: output_value(v) for k, v in o.values.items()},
        )
        for o in outcomes
    )


def student_records(case: CaseInstance, fn: Callable[..., Any]) -> tuple[CallRecord, ...]:
    """Records of `fn` (trusted code) run like the child would: in the case dtype and device,
    called with every argument of the contract's signature (defaults included)."""
    if case.device == "meta":
        tensors = {
            k: torch.empty(v.shape, dtype=torch.float32, device="meta")
            for k, v in case.inputs.items()
        }
    else:
        tensors = {k: torch.from_numpy(v.copy()) for k, v in case.inputs.items()}
    wrapped = with_dtype_defaults(
        case.function, with_contract_defaults(case.function, fn), case.dtype
    )
    return to_records(execute(case.program, tensors, {case.function: wrapped}))
