"""The batch plan: expand every graded function's cases once per batch and compute their
reference outcomes once, in the trusted parent; every submission of the batch is compared
against the same plan (same seed, same inputs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from alr.contract import FUNCTION_MODULE
from alr.errors import AlrError
from course.cases.expand import CaseInstance, expand_exercise
from course.cases.program import CallOutcome
from course.cases.trusted import run_reference
from course.spec import ExerciseSpec


@dataclass(frozen=True)
class Plan:
    """Everything shared by the submissions of one batch: the expanded cases of every graded
    function (in contract order), their reference outcomes and each function's points."""

    seed: int
    devices: tuple[str, ...]
    cases: dict[str, tuple[CaseInstance, ...]]
    expected: dict[str, list[CallOutcome]]
    points: dict[str, float]


def _as_arrays(outcome: CallOutcome) -> CallOutcome:
    """CPU tensors as float64 numpy arrays, once per batch instead of once per comparison."""
    outcome.values = {
        k: v.detach().to(torch.float64).numpy()
        if isinstance(v, torch.Tensor) and v.device.type != "meta"
        else v
        for k, v in outcome.values.items()
    }
    return outcome


def build_plan(exercises: Iterable[ExerciseSpec], *, seed: int, devices: tuple[str, ...]) -> Plan:
    """Cases and expected outcomes of every exercise, in the contract's function order."""
    by_name: dict[str, ExerciseSpec] = {}
    for ex in exercises:
        if ex.function in by_name:
            raise AlrError(f"{ex.function} is graded twice in the course; keep one exercise")
        if ex.function not in FUNCTION_MODULE:
            raise AlrError(f"{ex.function!r} is not a graded function")
        by_name[ex.function] = ex
    cases, expected, points = {}, {}, {}
    for name in FUNCTION_MODULE:
        if name not in by_name:
            continue
        ex = by_name[name]
        cases[name] = tuple(expand_exercise(ex, seed=seed, devices=devices))
        points[name] = float(ex.points)
        for case in cases[name]:
            expected[case.case_id] = [_as_arrays(o) for o in run_reference(case)]
    return Plan(seed, devices, cases, expected, points)
