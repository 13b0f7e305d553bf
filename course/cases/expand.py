"""Expand a graded function's `CaseSpec`s into concrete cases: one `Program` plus seeded inputs per
(case, shape, dtype, device). The notebooks' visible tests and the grader both come from here.

For a case with `steps = T` the program makes T calls with t = 1..T; the outputs the contract
carries feed the next call (a trajectory carries the learner's own state), every other tensor is
drawn fresh for each step. A function over a whole history (`single_call`) gets one call; its case
shapes include the history length, (T, *shape).

Inputs come from numpy `default_rng([seed, stable_hash(function/case name), shape index])`, drawn
in float64 by each argument's `Role`; float32 cases round them to float32 and the float64
reference runs on the rounded values, so the reference and the learner see the same numbers. The
same inputs serve every dtype and device of a (case, shape). The grader's seed is the course
secret; a notebook's visible tests use the public `NOTEBOOK_SEED`.

How a call passes its arguments follows the reference signature: tensors, `t` and the
hyperparameters before the last of them go by position, every other hyperparameter by keyword.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache, cached_property
from typing import Any

import numpy as np

from alr.contract import (
    DTYPES,
    FUNCTIONS,
    Extent,
    Function,
    Role,
    TensorArg,
    Tolerance,
    tolerance_for,
)
from alr.errors import AlrError
from course.cases.program import Arg, Call, Program, Ref, RefDict
from course.spec import CaseSpec, ExerciseSpec, GradKind, Init

#: The seed of the inputs a notebook shows (public; the grader's come from the course secret).
NOTEBOOK_SEED = 0


def stable_hash(text: str) -> int:
    """A hash of `text` that is the same in every process (unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


# ---- the call layout, from the reference signature ----


@cache
def _signature(function: str) -> inspect.Signature:
    # solutions (and so torch) is imported on first use, not with this module: the grader
    # starts its sandbox, which reads the course settings through course.load, before torch
    from solutions import reference

    return inspect.signature(reference(function))


@cache
def _parameters(function: str) -> tuple[str, ...]:
    return tuple(_signature(function).parameters)


@cache
def hparam_names(function: str) -> tuple[str, ...]:
    """Parameters of the reference that are hyperparameters (not tensors, not `t`)."""
    tensors = set(FUNCTIONS[function].tensor_names)
    return tuple(n for n in _parameters(function) if n not in tensors and n != "t")


@cache
def required_hparams(function: str) -> tuple[str, ...]:
    """Hyperparameters without a default: every case must give them."""
    params = _signature(function).parameters
    return tuple(n for n in hparam_names(function) if params[n].default is inspect.Parameter.empty)


def call_layout(function: str, hparams: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Argument names passed by position (tensors, `t`, hparams before them) and by keyword."""
    spec = FUNCTIONS[function]
    params = list(_parameters(function))
    inputs = set(spec.tensor_names) | ({"t"} if spec.takes_t else set())
    last = max((params.index(n) for n in inputs), default=-1)
    positional = [n for n in params[: last + 1] if n in inputs or n in hparams]
    keywords = [n for n in hparams if n not in positional]
    return positional, keywords


# ---- drawing inputs ----


def _arg_shape(shape: tuple[int, ...], extent: Extent) -> tuple[int, ...]:
    if extent is Extent.ROWS:
        return (*shape[:-1], 1)
    if extent is Extent.COLS:
        return (*shape[:-2], 1, shape[-1])
    return shape


class _FactorSource:
    """One standard normal G per shape and step, shared by the row and column factors."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.drawn = rng, dict[tuple[int, ...], np.ndarray]()

    def __call__(self, shape: tuple[int, ...]) -> np.ndarray:
        if shape not in self.drawn:
            self.drawn[shape] = self.rng.standard_normal(shape)
        return self.drawn[shape]


def _draw(
    rng: np.random.Generator,
    arg: TensorArg,
    shape: tuple[int, ...],
    case: CaseSpec,
    t: int,
    param: np.ndarray | None,
    factors: Callable[[tuple[int, ...]], np.ndarray],
) -> np.ndarray:
    """One tensor argument at step t, in float64."""
    size = _arg_shape(shape, arg.extent)
    if arg.role is Role.STATE:
        return np.zeros(size)
    if arg.role is Role.PARAM and case.init is Init.ZEROS:
        return np.zeros(size)
    if arg.role is Role.FACTOR:
        # consistent factors (as Adafactor's own state is): mean(R) over rows == mean(C) over
        # columns, so normalising by either is the same estimator. One G per (step, shape).
        g2 = factors(shape) ** 2
        return g2.mean(axis=-1 if arg.extent is Extent.ROWS else -2, keepdims=True) + 1e-3
    if arg.role is Role.NONNEG:
        return rng.standard_normal(size) ** 2 + 1e-3
    if arg.role is Role.NEAR_PARAM:  # the parameter after a step; no step for zero gradients
        base = param if param is not None else np.zeros(size)
        step = rng.standard_normal(size)
        return base if case.grads is GradKind.ZEROS else base + 0.1 * step
    values = rng.standard_normal(size)
    if arg.role is Role.GRAD:
        if case.grads is GradKind.ZEROS:
            return np.zeros(size)
        if case.grads is GradKind.DECAYING:
            if arg.extent is Extent.STACKED:
                scale = 0.3 ** np.arange(1, size[0] + 1, dtype=np.float64)
                return values * scale.reshape((size[0],) + (1,) * (len(size) - 1))
            return values * 0.3**t
    return values


def _tensor_names(spec: Function, case: CaseSpec, n: int) -> tuple[str, ...]:
    if not spec.named:
        return ()
    if case.names and len(case.names) != n:
        raise AlrError(f"case {case.name!r} of {spec.name}: {len(case.names)} names for {n} shapes")
    return case.names or tuple(f"layer{i}.weight" for i in range(n))


@dataclass(frozen=True)
class Built:
    """The calls of one (case, shape) and its float64 inputs, by name (`<arg>_<t-1>`, with a
    `_<i>` suffix per named tensor)."""

    program: Program
    inputs: dict[str, np.ndarray]
    displacement: tuple[tuple[str, str], ...]  # (theta output, initial theta input) per step


def build_program(
    spec: Function, case: CaseSpec, shapes: tuple[tuple[int, ...], ...], rng: np.random.Generator
) -> Built:
    """The calls and float64 inputs of one (case, shape) of a function."""
    names = _tensor_names(spec, case, len(shapes))
    positional, keywords = call_layout(spec.name, case.hparams)
    calls_n = 1 if spec.single_call else case.steps
    carry = {arg: out for out, arg in spec.carry}
    inputs: dict[str, np.ndarray] = {}
    current: dict[str, Arg] = {}  # argument name -> what is passed at this step
    calls: list[Call] = []
    for t in range(1, calls_n + 1):
        params: list[np.ndarray | None] = [None] * max(len(shapes), 1)
        factors = _FactorSource(rng)
        for arg in spec.tensors:
            if t > 1 and arg.name in carry:
                out = f"{carry[arg.name]}_{t - 1}"
                current[arg.name] = RefDict.prefix(out, names) if spec.named else Ref(out)
                continue
            drawn = []
            for i, shape in enumerate(shapes):
                value = _draw(rng, arg, shape, case, t, params[i], factors)
                if arg.role is Role.PARAM:
                    params[i] = value
                key = f"{arg.name}_{t - 1}" + (f"_{i}" if spec.named else "")
                inputs[key] = value
                drawn.append(key)
            current[arg.name] = (
                RefDict(tuple(zip(names, drawn, strict=True))) if spec.named else Ref(drawn[0])
            )
        values: dict[str, Arg] = {**current, "t": t, **case.hparams}
        calls.append(
            Call(
                spec.name,
                tuple(values[n] for n in positional),
                tuple((k, case.hparams[k]) for k in keywords),
                tuple(f"{o}_{t}" for o in spec.outputs),
            )
        )
    return Built(Program(tuple(calls)), inputs, _displacement(spec, names, calls_n))


def _displacement(spec: Function, names: tuple[str, ...], calls_n: int) -> tuple:
    if spec.displacement is None:
        return ()
    out, arg = spec.displacement
    if not spec.named:
        return tuple((f"{out}_{t}", f"{arg}_0") for t in range(1, calls_n + 1))
    return tuple(
        (f"{out}_{t}/{name}", f"{arg}_0_{i}")
        for t in range(1, calls_n + 1)
        for i, name in enumerate(names)
    )


# ---- concrete cases ----


class CaseKind(StrEnum):
    """What a case checks. Only CORE cases credit a function on their own: EDGE and PORTABILITY
    cases earn their points once every core case of the function passes."""

    CORE = "core"
    EDGE = "edge"  # zero parameters or gradients, degenerate settings
    PORTABILITY = "portability"  # the same code on `meta` tensors (runs off the CPU)


@dataclass(frozen=True)
class CaseInstance:
    """One concrete case: one test of a notebook or of the result file."""

    case_id: str
    function: str
    module: str
    case_name: str
    shapes: tuple[tuple[int, ...], ...]
    dtype: str
    device: str
    steps: int
    program: Program
    inputs: dict[str, np.ndarray]  # in the case dtype: what the learner's code receives
    tolerance: Tolerance
    probes: tuple[str, ...]
    displacement: tuple[tuple[str, str], ...]  # (theta output, initial theta input) per step
    kind: CaseKind = CaseKind.CORE

    @cached_property
    def displacement_starts(self) -> dict[str, str]:
        """theta output -> the initial theta input it is compared with, by displacement."""
        return dict(self.displacement)

    @property
    def label(self) -> str:
        shape = ", ".join(str(s) for s in self.shapes)
        steps = f", {self.steps} steps" if self.steps > 1 else ""
        return f"{self.case_name}: {self.dtype} {self.device} {shape}{steps}"


def _check_case(spec: Function, case: CaseSpec) -> None:
    if spec.needs_matrix:
        for shape in case.shapes:
            if len(shape) < 2:
                raise AlrError(
                    f"case {case.name!r} of {spec.name}: shape {shape} has fewer than 2 dims; "
                    f"{spec.name} factors the last two dims of a matrix"
                )
    unknown = sorted(set(case.hparams) - set(hparam_names(spec.name)))
    if unknown:
        raise AlrError(
            f"case {case.name!r} of {spec.name}: unknown hyperparameter(s) {unknown}; "
            f"{spec.name} accepts {list(hparam_names(spec.name))}"
        )
    for dtype in case.dtypes:
        if dtype not in DTYPES:
            raise AlrError(f"case {case.name!r} of {spec.name}: unknown dtype {dtype!r}")


def expand_case(
    function: str,
    case: CaseSpec,
    *,
    seed: int,
    devices: tuple[str, ...] = ("cpu",),
    index: int = 0,
    first_shape_only: bool = False,
) -> list[CaseInstance]:
    """The concrete cases of one `CaseSpec`: shape (or, for named functions, all shapes at once)
    x dtype x device. `index` is the case's position among its function's cases (its id)."""
    spec = FUNCTIONS.get(function)
    if spec is None:
        raise AlrError(f"{function!r} is not a graded function")
    _check_case(spec, case)
    groups = [case.shapes] if spec.named else [(s,) for s in case.shapes]
    if first_shape_only:
        groups = groups[:1]
    out: list[CaseInstance] = []
    for si, shapes in enumerate(groups):
        rng = np.random.default_rng([seed, stable_hash(f"{function}/{case.name}"), si])
        built = build_program(spec, case, shapes, rng)
        for dtype in case.dtypes:
            inputs = {k: v.astype(dtype) for k, v in built.inputs.items()}
            for device in devices:
                out.append(
                    CaseInstance(
                        case_id=f"{function}/{index}/{si}/{dtype}/{device}",
                        function=function,
                        module=spec.module,
                        case_name=case.name,
                        shapes=shapes,
                        dtype=dtype,
                        device=device,
                        steps=case.steps,
                        program=built.program,
                        inputs=inputs,
                        tolerance=tolerance_for(
                            dtype, case.steps, device, case.tolerance.get(dtype)
                        ),
                        probes=case.probes,
                        displacement=built.displacement,
                        kind=CaseKind.EDGE if case.is_edge else CaseKind.CORE,
                    )
                )
    return out


def check_exercise(exercise: ExerciseSpec) -> None:
    """Raise the AlrError that expanding the exercise would raise (a case's shapes, hparams,
    dtypes or names), without drawing any input."""
    spec = FUNCTIONS.get(exercise.function)
    if spec is None:
        raise AlrError(f"{exercise.function!r} is not a graded function")
    for case in exercise.cases:
        _check_case(spec, case)
        if spec.named:
            _tensor_names(spec, case, len(case.shapes))


def expand_exercise(
    exercise: ExerciseSpec, *, seed: int, devices: tuple[str, ...]
) -> list[CaseInstance]:
    """Every graded case of one function: case x shape x dtype x device, then one `meta`
    portability case when no GPU runs and the function can run on meta tensors."""
    out = [
        instance
        for index, case in enumerate(exercise.cases)
        for instance in expand_case(
            exercise.function, case, seed=seed, devices=devices, index=index
        )
    ]
    spec = FUNCTIONS[exercise.function]
    if spec.meta_ok and "cuda" not in devices and out:
        first = next(c for c in out if c.dtype == "float32" or c is out[-1])
        out.append(
            replace(
                first,
                case_id=f"{spec.name}/meta",
                device="meta",
                case_name="portability (meta tensors)",
                kind=CaseKind.PORTABILITY,
                dtype="float32",
                inputs={k: v.astype("float32") for k, v in first.inputs.items()},
            )
        )
    return out
