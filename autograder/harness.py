"""Expand a course's `CaseSpec`s into runnable cases: one `Program` plus seeded inputs per
(function, case, shape, dtype, device).

For a case with `steps = T` the program makes T calls with t = 1..T; the outputs named in the
function's `carry` feed the next call (a trajectory carries the student's own state), every other
tensor is drawn fresh for each step. Functions over a whole history (`single_call`) get one call;
their case shapes include the history length, (T, *shape).

Inputs come from numpy `default_rng([seed, stable_hash(function), case_index, shape_index])`, drawn
in float64; float32 cases round them to float32 and the float64 reference runs on the rounded
values, so the reference and the student see the same numbers. The same inputs serve every dtype
and device of a (case, shape).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from autograder.functions import (
    HARNESSES,
    Draw,
    FunctionHarness,
    ScalarArg,
    Shape,
    StepArg,
    TensorArg,
)
from autograder.program import Arg, Call, Program, Ref, RefDict
from course.errors import AlrError
from course.spec import CaseSpec, ExerciseSpec, GradKind, Init, Tolerance
from solutions.contract import FUNCTION_MODULE

#: optimizers.md §11: (rtol, atol) by dtype for short trajectories, and for long ones.
_TOLERANCES = {
    "float64": (Tolerance(1e-10, 1e-12), 10, Tolerance(1e-8, 1e-10)),
    "float32": (Tolerance(2e-5, 2e-6), 5, Tolerance(1e-4, 1e-5)),
}
#: float32 on CUDA, rules with reductions: TF32 off, different summation order.
_CUDA_FLOAT32 = Tolerance(5e-5, 5e-6)
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class CaseInstance:
    """One expanded case: exactly one test of the result file."""

    case_id: str
    function: str
    module: str
    case_name: str
    shapes: tuple[tuple[int, ...], ...]
    dtype: str
    device: str
    steps: int
    program: Program
    inputs: dict[str, np.ndarray]  # in the case dtype: what the child receives
    tolerance: Tolerance
    probes: tuple[str, ...]
    displacement: tuple[tuple[str, str], ...]  # (theta output, initial theta input) per step

    @property
    def label(self) -> str:
        shape = ", ".join(str(s) for s in self.shapes)
        steps = f", {self.steps} steps" if self.steps > 1 else ""
        return f"{self.case_name}: {self.dtype} {self.device} {shape}{steps}"


def stable_hash(text: str) -> int:
    """A hash of `text` that is the same in every process (unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def tolerance_for(case: CaseSpec, dtype: str, device: str) -> Tolerance:
    """The case's override for `dtype`, else optimizers.md §11 by dtype and trajectory length."""
    if dtype in case.tolerance:
        return case.tolerance[dtype]
    short, limit, long = _TOLERANCES[dtype]
    tol = short if case.steps <= limit else long
    if device == "cuda" and dtype == "float32":
        tol = Tolerance(max(tol.rtol, _CUDA_FLOAT32.rtol), max(tol.atol, _CUDA_FLOAT32.atol))
    return tol


def _arg_shape(shape: tuple[int, ...], kind: Shape) -> tuple[int, ...]:
    if kind is Shape.ROWS:
        return (*shape[:-1], 1)
    if kind is Shape.COLS:
        return (*shape[:-2], 1, shape[-1])
    return shape


def _draw(
    rng: np.random.Generator,
    arg: TensorArg,
    shape: tuple[int, ...],
    case: CaseSpec,
    t: int,
    previous_param: np.ndarray | None,
    factor_source: Callable[[tuple[int, ...]], np.ndarray],
) -> np.ndarray:
    """One tensor argument at step t, in float64."""
    size = _arg_shape(shape, arg.shape)
    if arg.draw is Draw.STATE:
        return np.zeros(size)
    if arg.draw is Draw.PARAM and case.init is Init.ZEROS:
        return np.zeros(size)
    if arg.draw is Draw.FACTOR:
        # consistent factors (as Adafactor's own state is): mean(R) over rows == mean(C) over
        # columns, so normalising by either is the same estimator. One G per (step, shape).
        g2 = factor_source(shape) ** 2
        return g2.mean(axis=-1 if arg.shape is Shape.ROWS else -2, keepdims=True) + 1e-3
    if arg.draw is Draw.NONNEG:
        return rng.standard_normal(size) ** 2 + 1e-3
    if arg.draw is Draw.NEAR_PARAM:
        base = previous_param if previous_param is not None else np.zeros(size)
        return base + 0.1 * rng.standard_normal(size)
    values = rng.standard_normal(size)
    if arg.draw is Draw.GRAD:
        if case.grads is GradKind.ZEROS:
            return np.zeros(size)
        if case.grads is GradKind.DECAYING:
            if arg.shape is Shape.STACKED:
                scale = 0.3 ** np.arange(1, size[0] + 1, dtype=np.float64)
                return values * scale.reshape((size[0],) + (1,) * (len(size) - 1))
            return values * 0.3**t
    return values


def _scalars(h: FunctionHarness, case: CaseSpec) -> tuple[list[Arg | None], list[tuple[str, Arg]]]:
    """Positional scalars (None marks a tensor or t slot) and keyword hyperparameters."""
    unknown = sorted(set(case.hparams) - h.accepted)
    if unknown:
        raise AlrError(
            f"case {case.name!r} of {h.name}: unknown hyperparameter(s) {unknown}; "
            f"{h.name} accepts {sorted(h.accepted)}"
        )
    positional: list[Arg | None] = []
    keywords: dict[str, Arg] = {}
    positional_open = True
    for p in h.params:
        if isinstance(p, ScalarArg):
            value = case.hparams.get(p.name, p.default)
            if value is None:
                positional_open = False
                positional.append(None)
            elif positional_open:
                positional.append(value)
            else:
                keywords[p.name] = value
                positional.append(None)
        else:
            positional.append(None)
    for name in h.keywords:
        if name in case.hparams:
            keywords[name] = case.hparams[name]
    return positional, list(keywords.items())


def _tensor_names(h: FunctionHarness, case: CaseSpec, n: int) -> tuple[str, ...]:
    if not h.named:
        return ()
    if case.names and len(case.names) != n:
        raise AlrError(f"case {case.name!r} of {h.name}: {len(case.names)} names for {n} shapes")
    return case.names or tuple(f"layer{i}.weight" for i in range(n))


class _FactorSource:
    """One standard normal G per shape and step, shared by the row and column factors."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.drawn = rng, dict[tuple[int, ...], np.ndarray]()

    def __call__(self, shape: tuple[int, ...]) -> np.ndarray:
        if shape not in self.drawn:
            self.drawn[shape] = self.rng.standard_normal(shape)
        return self.drawn[shape]


@dataclass(frozen=True)
class _Built:
    program: Program
    inputs: dict[str, np.ndarray]
    displacement: tuple[tuple[str, str], ...]


def build_program(
    h: FunctionHarness,
    case: CaseSpec,
    shapes: tuple[tuple[int, ...], ...],
    rng: np.random.Generator,
) -> _Built:
    """The calls and float64 inputs of one (case, shape) of function `h`."""
    names = _tensor_names(h, case, len(shapes))
    scalars, keywords = _scalars(h, case)
    calls_n = 1 if h.single_call else case.steps
    carry = dict((arg, out) for out, arg in h.carry)
    inputs: dict[str, np.ndarray] = {}
    current: dict[str, Arg] = {}  # argument name -> what is passed at this step
    calls: list[Call] = []
    for t in range(1, calls_n + 1):
        last_param: list[np.ndarray | None] = [None] * max(len(shapes), 1)
        factor_source = _FactorSource(rng)
        for arg in h.tensor_args:
            if t > 1 and arg.name in carry:
                out = f"{carry[arg.name]}_{t - 1}"
                current[arg.name] = RefDict.prefix(out, names) if h.named else Ref(out)
                continue
            drawn = []
            for i, shape in enumerate(shapes):
                value = _draw(rng, arg, shape, case, t, last_param[i], factor_source)
                if arg.draw is Draw.PARAM:
                    last_param[i] = value
                key = f"{arg.name}_{t - 1}" + (f"_{i}" if h.named else "")
                inputs[key] = value
                drawn.append(key)
            current[arg.name] = (
                RefDict(tuple(zip(names, drawn, strict=True))) if h.named else Ref(drawn[0])
            )
        args: list[Arg] = []
        for p, scalar in zip(h.params, scalars, strict=True):
            if isinstance(p, TensorArg):
                args.append(current[p.name])
            elif isinstance(p, StepArg):
                args.append(t)
            elif scalar is not None:
                args.append(scalar)
        outputs = tuple(f"{o}_{t}" for o in h.outputs)
        calls.append(Call(h.name, tuple(args), tuple(keywords), outputs))
    return _Built(Program(tuple(calls)), inputs, _displacement(h, names, calls_n))


def _displacement(h: FunctionHarness, names: tuple[str, ...], calls_n: int) -> tuple:
    if h.theta is None:
        return ()
    out, arg = h.theta
    if not h.named:
        return tuple((f"{out}_{t}", f"{arg}_0") for t in range(1, calls_n + 1))
    return tuple(
        (f"{out}_{t}/{name}", f"{arg}_0_{i}")
        for t in range(1, calls_n + 1)
        for i, name in enumerate(names)
    )


def _check_shapes(h: FunctionHarness, case: CaseSpec) -> None:
    if h.needs_matrix:
        for shape in case.shapes:
            if len(shape) < 2:
                raise AlrError(
                    f"case {case.name!r} of {h.name}: shape {shape} has fewer than 2 dims; "
                    f"{h.name} factors the last two dims of a matrix"
                )


def expand_exercise(
    exercise: ExerciseSpec, *, seed: int, devices: tuple[str, ...]
) -> list[CaseInstance]:
    """Every test of one graded function: case x shape x dtype x device, then one `meta`
    portability case when no GPU runs and the function can run on meta tensors."""
    h = HARNESSES.get(exercise.function)
    if h is None:
        raise AlrError(f"{exercise.function!r} is not a graded function")
    module = FUNCTION_MODULE[h.name]
    out: list[CaseInstance] = []
    for ci, case in enumerate(exercise.cases):
        _check_shapes(h, case)
        groups = [case.shapes] if h.named else [(s,) for s in case.shapes]
        for si, shapes in enumerate(groups):
            rng = np.random.default_rng([seed, stable_hash(h.name), ci, si])
            built = build_program(h, case, shapes, rng)
            for dtype in case.dtypes:
                if dtype not in DTYPES:
                    raise AlrError(f"case {case.name!r} of {h.name}: unknown dtype {dtype!r}")
                inputs = {k: v.astype(dtype) for k, v in built.inputs.items()}
                for device in devices:
                    out.append(
                        CaseInstance(
                            case_id=f"{h.name}/{ci}/{si}/{dtype}/{device}",
                            function=h.name,
                            module=module,
                            case_name=case.name,
                            shapes=shapes,
                            dtype=dtype,
                            device=device,
                            steps=case.steps,
                            program=built.program,
                            inputs=inputs,
                            tolerance=tolerance_for(case, dtype, device),
                            probes=case.probes,
                            displacement=built.displacement,
                        )
                    )
    if h.meta_ok and "cuda" not in devices and out:
        first = next(c for c in out if c.dtype == "float32" or c is out[-1])
        out.append(
            replace(
                first,
                case_id=f"{h.name}/meta",
                device="meta",
                case_name="portability (meta tensors)",
                dtype="float32",
                inputs={k: v.astype("float32") for k, v in first.inputs.items()},
            )
        )
    return out
