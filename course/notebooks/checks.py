"""Test code for the notebooks: fixed inputs and expected values baked in as literals.

For one function, case, shape and dtype, `case_test` draws the inputs from a seed derived from
their names (so the build is reproducible byte for byte), runs the reference in float64 on the
dtype-rounded inputs, and writes straight-line code: the inputs, the learner's calls (state
carried from step to step, `t = 1..steps`) and a `check(...)` of every result against the
reference's value. No reference code is needed to run the test.

Roles (course.signatures.Role) decide how each tensor is drawn: parameters from a standard normal
(or zeros with `init: zeros`), gradients fresh every step (zeros, or scaled by 0.3**t with
`grads: decaying`), optimizer state from zeros for step rules and random for single-step
functions, second-moment-like tensors as squares.
"""

from __future__ import annotations

import inspect
import math
import zlib
from dataclasses import dataclass
from typing import Any

import torch

from course.signatures import SIGNATURES, Role, Signature
from course.spec import CaseSpec, GradKind, Init, Tolerance
from solutions.contract import reference

#: Per-dtype defaults: float64 vs the float64 reference; float32 vs the reference fed the
#: float32-rounded inputs, for trajectories of at most a few steps.
TOLERANCES = {"float64": Tolerance(1e-10, 1e-12), "float32": Tolerance(2e-5, 2e-6)}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
EXPECTED_DIGITS = 11


@dataclass(frozen=True)
class Instance:
    """One concrete test: a case at one shape (or, for named functions, all shapes) and dtype."""

    function: str
    case: CaseSpec
    shapes: tuple[tuple[int, ...], ...]
    dtype: str

    @property
    def seed(self) -> int:
        key = f"{self.function}|{self.case.name}|{self.shapes}|{self.dtype}"
        return zlib.crc32(key.encode())


def instances(function: str, case: CaseSpec, *, first_shape_only: bool) -> list[Instance]:
    """The concrete tests of a case: every shape (or only the first) times every dtype."""
    sig = SIGNATURES[function]
    groups = [case.shapes] if sig.named else [(s,) for s in case.shapes]
    if first_shape_only:
        groups = groups[:1]
    return [Instance(function, case, g, d) for g in groups for d in case.dtypes]


# ---- drawing inputs ----


def _tensor_shape(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    if name == "row_var":
        return (*shape[:-1], 1)
    if name == "col_var":
        return (*shape[:-2], 1, shape[-1])
    return shape


def _draw(
    role: Role,
    name: str,
    shape: tuple[int, ...],
    step: int,
    inst: Instance,
    gen: torch.Generator,
    param: torch.Tensor | None,
) -> torch.Tensor:
    shape = _tensor_shape(name, shape)
    normal = torch.randn(shape, generator=gen, dtype=torch.float64)
    sig = SIGNATURES[inst.function]
    if role is Role.PARAM:
        return torch.zeros(shape, dtype=torch.float64) if inst.case.init is Init.ZEROS else normal
    if role is Role.GRAD:
        if inst.case.grads is GradKind.ZEROS:
            return torch.zeros(shape, dtype=torch.float64)
        return normal * 0.3**step if inst.case.grads is GradKind.DECAYING else normal
    if role is Role.STATE and sig.step_rule:
        return torch.zeros(shape, dtype=torch.float64)
    if role is Role.NONNEG or name in ("v", "row_var", "col_var", "square_avg"):
        return normal * normal
    if role is Role.AFTER:
        assert param is not None
        return param + 0.1 * normal
    return normal


def _value(
    role: Role, name: str, step: int, inst: Instance, gen: torch.Generator, first: dict[str, Any]
) -> Any:
    """A tensor (or a dict of named tensors) for one argument, rounded to the case dtype."""
    dtype = _DTYPES[inst.dtype]
    param = first.get("theta_before")
    if SIGNATURES[inst.function].named:
        return {
            n: _draw(role, name, s, step, inst, gen, None).to(dtype)
            for n, s in zip(inst.case.names, inst.shapes, strict=True)
        }
    return _draw(role, name, inst.shapes[0], step, inst, gen, param).to(dtype)


@dataclass(frozen=True)
class Step:
    """One call: tensor arguments (new values only), t, and the reference's results."""

    tensors: dict[str, Any]
    t: int | None
    results: tuple[Any, ...]


def run_reference(inst: Instance) -> list[Step]:
    """Draw the inputs of every step and run the reference (float64) along the trajectory."""
    sig = SIGNATURES[inst.function]
    gen = torch.Generator().manual_seed(inst.seed)
    fn = reference(inst.function)
    env: dict[str, Any] = {}
    steps: list[Step] = []
    for step in range(1, inst.case.steps + 1):
        fresh: dict[str, Any] = {}
        for name, role in sig.tensors:
            if step == 1 or name not in sig.returns:
                fresh[name] = _value(role, name, step, inst, gen, fresh)
        env.update(fresh)
        t = step if sig.takes_t else None
        values = {**{n: _to64(env[n]) for n, _ in sig.tensors}, "t": t, **inst.case.hparams}
        positional, keywords = call_layout(inst.function, inst.case.hparams)
        out = fn(*(values[n] for n in positional), **{k: values[k] for k in keywords})
        results = out if isinstance(out, tuple) else (out,)
        steps.append(Step(fresh, t, results))
        for name, value in zip(sig.returns, results, strict=True):
            if name in dict(sig.tensors):
                env[name] = _round(value, inst.dtype)
    return steps


def call_layout(function: str, hparams: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Argument names passed by position (tensors, `t`, hparams before them) and by keyword."""
    sig = SIGNATURES[function]
    params = list(inspect.signature(reference(function)).parameters)
    inputs = {n for n, _ in sig.tensors} | ({"t"} if sig.takes_t else set())
    last = max((params.index(n) for n in inputs), default=-1)
    positional = [n for n in params[: last + 1] if n in inputs or n in hparams]
    keywords = [n for n in hparams if n not in positional]
    return positional, keywords


def _to64(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: v.double() for k, v in x.items()}
    return x.double()


def _round(x: Any, dtype: str) -> Any:
    """What the learner's (correct) code would carry: the result in the case dtype."""
    if isinstance(x, dict):
        return {k: v.to(_DTYPES[dtype]) for k, v in x.items()}
    return x.to(_DTYPES[dtype]) if isinstance(x, torch.Tensor) else x


# ---- writing code ----


def literal(x: Any, dtype: str | None = None, digits: int | None = None) -> str:
    """Python source for a value: tensors via torch.tensor/torch.zeros, floats round-trip.

    `digits` rounds to that many significant digits: expected values are written with 11, so
    a last-bit difference in a reduction on another CPU does not change the generated notebook
    (the rounding, 5e-12 relative, is far below every test tolerance). Inputs are exact.
    """
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v, dtype, digits)}" for k, v in x.items()) + "}"
    if isinstance(x, torch.Tensor):
        tdtype = dtype or str(x.dtype).removeprefix("torch.")
        if x.numel() > 0 and not bool(x.any()):
            dims = ", ".join(str(d) for d in x.shape)
            return f"torch.zeros({dims}{', ' if dims else ''}dtype=torch.{tdtype})"
        return f"torch.tensor({_nested(x.double().tolist(), digits)}, dtype=torch.{tdtype})"
    if isinstance(x, bool) or x is None or isinstance(x, str | int):
        return repr(x)
    if isinstance(x, float):
        return _float(x, digits)
    if isinstance(x, tuple):
        return "(" + "".join(f"{literal(v)}, " for v in x).rstrip(" ") + ")"
    raise TypeError(f"no literal for {type(x).__name__}")


def _float(v: float, digits: int | None = None) -> str:
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "-math.inf"
    return repr(float(f"{v:.{digits}g}") if digits else v)


def _nested(x: Any, digits: int | None) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(v, digits) for v in x) + "]"
    return _float(float(x), digits)


def case_test(inst: Instance) -> str:
    """Straight-line test code for one instance (inputs, calls, checks)."""
    sig: Signature = SIGNATURES[inst.function]
    steps = run_reference(inst)
    tol = inst.case.tolerance.get(inst.dtype, TOLERANCES[inst.dtype])
    shapes = ", ".join(str(s) for s in inst.shapes)
    lines = [f"# {inst.case.name}: {inst.dtype}, shape {shapes}, {inst.case.steps} step(s)"]
    carried = [n for n, _ in sig.tensors if n in sig.returns]
    positional, keywords = call_layout(inst.function, inst.case.hparams)
    kwargs = "".join(f", {k}={literal(inst.case.hparams[k])}" for k in keywords)
    many = len(steps) > 1
    for i, step in enumerate(steps, start=1):
        for name, value in step.tensors.items():
            var = f"{name}_{i}" if many and name not in carried else name
            lines.append(f"{var} = {literal(value, inst.dtype)}")
        names = {n: f"{n}_{i}" if many and n not in carried else n for n, _ in sig.tensors}
        names["t"] = str(step.t)
        names.update({k: literal(v) for k, v in inst.case.hparams.items()})
        args = ", ".join(names[n] for n in positional)
        targets = ", ".join(sig.returns)
        lines.append(f"{targets} = {inst.function}({args}{kwargs})")
        if not carried or i == len(steps):
            for name, value in zip(sig.returns, step.results, strict=True):
                lines.append(
                    f'check("{name}", {name}, {literal(value, "float64", EXPECTED_DIGITS)}, '
                    f'"{inst.dtype}", rtol={tol.rtol!r}, atol={tol.atol!r})'
                )
    return "\n".join(lines) + "\n"
