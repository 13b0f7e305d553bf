"""The batch plan: every graded function's cases and their reference outcomes, in the trusted
parent, computed once per batch and only for the functions a submission of the batch is graded
on (a notebook is one module: its few functions, not the course's 24), when first needed. Every
submission of the batch is compared against the same plan (same seed, same inputs): what is
computed does not depend on when or in which order, so the same code gets the same score.

    plan = build_plan(exercises, seed=seed, devices=("cpu",))   # checks the cases, draws nothing
    plan.cases["adam_step"]          # expanded on first use (inputs drawn from the seed)
    plan.expected[case_id]           # the function's reference outcomes, on first use
    plan.warm(["adam_step"])         # both, now (while a child runs the same cases)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping

import torch

from alr.contract import FUNCTION_MODULE
from alr.errors import AlrError
from course.cases.expand import CaseInstance, check_exercise, expand_exercise
from course.cases.program import CallOutcome
from course.cases.trusted import run_reference
from course.spec import ExerciseSpec


def _as_arrays(outcome: CallOutcome) -> CallOutcome:
    """CPU tensors as float64 numpy arrays, once per batch instead of once per comparison."""
    outcome.values = {
        k: v.detach().to(torch.float64).numpy()
        if isinstance(v, torch.Tensor) and v.device.type != "meta"
        else v
        for k, v in outcome.values.items()
    }
    return outcome


class _Cases(Mapping[str, tuple[CaseInstance, ...]]):
    """function -> its expanded cases (the keys are known at once, each value on first use)."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    def __getitem__(self, name: str) -> tuple[CaseInstance, ...]:
        return self._plan._function(name).cases()

    def __iter__(self) -> Iterator[str]:
        return iter(self._plan._functions)

    def __len__(self) -> int:
        return len(self._plan._functions)


class _Expected(Mapping[str, list[CallOutcome]]):
    """case id -> the reference outcome of each call (a function's all at once, on first use)."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    def __getitem__(self, case_id: str) -> list[CallOutcome]:
        function = self._plan._functions.get(case_id.split("/", 1)[0])
        if function is None:
            raise KeyError(case_id)
        return function.expected()[case_id]

    def __iter__(self) -> Iterator[str]:
        for function in self._plan._functions.values():
            yield from function.expected()

    def __len__(self) -> int:
        return sum(len(f.cases()) for f in self._plan._functions.values())


class _Function:
    """One graded function's share of the plan, computed once under its own lock."""

    def __init__(self, exercise: ExerciseSpec, seed: int, devices: tuple[str, ...]) -> None:
        self.exercise, self.seed, self.devices = exercise, seed, devices
        self._lock = threading.Lock()
        self._cases: tuple[CaseInstance, ...] | None = None
        self._expected: dict[str, list[CallOutcome]] | None = None

    def cases(self) -> tuple[CaseInstance, ...]:
        if self._cases is None:
            with self._lock:
                if self._cases is None:
                    self._cases = tuple(
                        expand_exercise(self.exercise, seed=self.seed, devices=self.devices)
                    )
        return self._cases

    @property
    def warm(self) -> bool:
        return self._expected is not None

    def expected(self) -> dict[str, list[CallOutcome]]:
        if self._expected is None:
            cases = self.cases()
            with self._lock:
                if self._expected is None:
                    self._expected = {
                        case.case_id: [_as_arrays(o) for o in run_reference(case)] for case in cases
                    }
        return self._expected


class Plan:
    """Everything shared by the submissions of one batch: the expanded cases of every graded
    function (in contract order), their reference outcomes and each function's points."""

    def __init__(self, functions: dict[str, _Function], seed: int, devices: tuple[str, ...]):
        self.seed, self.devices = seed, devices
        self._functions = functions
        self.points: dict[str, float] = {n: float(f.exercise.points) for n, f in functions.items()}
        self.cases: Mapping[str, tuple[CaseInstance, ...]] = _Cases(self)
        self.expected: Mapping[str, list[CallOutcome]] = _Expected(self)

    def _function(self, name: str) -> _Function:
        try:
            return self._functions[name]
        except KeyError:
            raise KeyError(name) from None

    def is_warm(self, functions: Iterable[str]) -> bool:
        """Whether the reference outcomes of every one of `functions` are computed."""
        return all(self._function(name).warm for name in functions)

    def warm(self, functions: Iterable[str]) -> None:
        """Expand the cases of `functions` and compute their reference outcomes now."""
        for name in functions:
            self._function(name).expected()


def build_plan(exercises: Iterable[ExerciseSpec], *, seed: int, devices: tuple[str, ...]) -> Plan:
    """The plan of every exercise, in the contract's function order: each exercise's cases are
    checked now (a course error is raised before any grading), drawn and run when first used."""
    by_name: dict[str, ExerciseSpec] = {}
    for ex in exercises:
        if ex.function in by_name:
            raise AlrError(f"{ex.function} is graded twice in the course; keep one exercise")
        if ex.function not in FUNCTION_MODULE:
            raise AlrError(f"{ex.function!r} is not a graded function")
        check_exercise(ex)
        by_name[ex.function] = ex
    functions = {
        name: _Function(by_name[name], seed, devices) for name in FUNCTION_MODULE if name in by_name
    }
    return Plan(functions, seed, devices)
