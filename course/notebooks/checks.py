"""Test code for the notebooks: the grader's own cases, written out as straight-line Python.

A visible test is one concrete case of `course.cases.expand` (the grader's expansion, with the
public `NOTEBOOK_SEED` instead of the course secret): its inputs as literals, the learner's calls
(state carried from step to step, `t = 1..steps`) and a `check(...)` of every result against the
reference's value, with the grader's tolerance for that case. No reference code is needed to run
the test, and the build is reproducible byte for byte.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alr.contract import DISPLACEMENT_RTOL, FUNCTIONS
from course.cases.expand import NOTEBOOK_SEED, CaseInstance, expand_case
from course.cases.program import Call, Ref, RefDict
from course.cases.trusted import run_reference
from course.spec import CaseSpec

#: Expected values are written with 11 significant digits, so a last-bit difference in a
#: reduction on another CPU does not change the generated notebook (the rounding, 5e-12
#: relative, is far below every test tolerance). Inputs are exact.
EXPECTED_DIGITS = 11


def instances(function: str, case: CaseSpec, *, first_shape_only: bool) -> list[CaseInstance]:
    """The concrete tests of a case: every shape (or only the first) times every dtype."""
    return expand_case(function, case, seed=NOTEBOOK_SEED, first_shape_only=first_shape_only)


# ---- literals ----


def literal(x: Any, dtype: str | None = None, digits: int | None = None) -> str:
    """Python source for a value: tensors via torch.tensor/torch.zeros, floats round-trip;
    `digits` rounds to that many significant digits."""
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v, dtype, digits)}" for k, v in x.items()) + "}"
    if isinstance(x, np.ndarray):
        tdtype = dtype or str(x.dtype)
        if x.size > 0 and not x.any():
            dims = ", ".join(str(d) for d in x.shape)
            return f"torch.zeros({dims}{', ' if dims else ''}dtype=torch.{tdtype})"
        return (
            f"torch.tensor({_nested(x.astype(np.float64).tolist(), digits)}, dtype=torch.{tdtype})"
        )
    if hasattr(x, "detach"):  # a torch tensor (a reference's result)
        return literal(x.detach().double().numpy(), dtype, digits)
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


# ---- writing one test ----


class _Names:
    """Variable names a learner reads: carried state keeps its plain name (`theta`, `m`), inputs
    drawn fresh at each step of a trajectory get the step (`grad_1`, `grad_2`), and the starting
    parameter is `theta_0` where the float64 displacement check needs it."""

    def __init__(self, inst: CaseInstance) -> None:
        spec = FUNCTIONS[inst.function]
        self.carried = {a for _, a in spec.carry} | {o for o, _ in spec.carry}
        self.many = len(inst.program.calls) > 1
        self.start = spec.displacement[1] if spec.displacement and inst.dtype == "float64" else None

    def input(self, key: str) -> str:
        """`theta_0` / `grad_1` / `params_0_1` (a named tensor) -> the variable of its value."""
        base, step = key.rsplit("_", 1) if not _named_key(key) else key.rsplit("_", 2)[:2]
        if base == self.start and step == "0":
            return f"{base}_0"
        if base in self.carried or not self.many:
            return base
        return f"{base}_{int(step) + 1}"

    def output(self, name: str) -> str:
        return name.rsplit("_", 1)[0]


def _named_key(key: str) -> bool:
    parts = key.rsplit("_", 2)
    return len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit()


def _arg(a: Any, names: _Names, inputs: dict[str, np.ndarray], dtype: str, lines: list[str]) -> str:
    """The source of one argument, writing the assignment of fresh inputs it needs first."""
    if isinstance(a, Ref):
        if a.name in inputs:
            var = names.input(a.name)
            lines.append(f"{var} = {literal(inputs[a.name], dtype)}")
            return var
        return names.output(a.name)
    if isinstance(a, RefDict):
        keys = [v for _, v in a.items]
        if all(k in inputs for k in keys):
            var = names.input(keys[0])
            items = {k: inputs[v] for k, v in a.items}
            lines.append(f"{var} = {literal(items, dtype)}")
            return var
        return names.output(keys[0].split("/", 1)[0])
    return literal(a)


def _expected(call: Call, values: dict[str, Any]) -> list[tuple[str, Any]]:
    """(output, expected value) per output of a call; dict results regrouped by key."""
    out = []
    for name in call.outputs:
        if name in values:
            out.append((name, values[name]))
        else:
            prefix = f"{name}/"
            out.append(
                (name, {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)})
            )
    return out


def _start_value(inst: CaseInstance, arg: str) -> Any:
    """The parameter's value before the first step (a dict for named tensors)."""
    if f"{arg}_0" in inst.inputs:
        return inst.inputs[f"{arg}_0"]
    first = inst.program.calls[0]
    (ref,) = (a for a in first.args if isinstance(a, RefDict) and a.items[0][1].startswith(arg))
    return {k: inst.inputs[v] for k, v in ref.items}


def _minus(value: Any, start: Any) -> Any:
    """value - start in float64 (the displacement a step should make)."""
    if isinstance(value, dict):
        return {k: _minus(v, start[k]) for k, v in value.items()}
    return value.detach().double().numpy() - np.asarray(start, dtype=np.float64)


def case_test(inst: CaseInstance) -> str:
    """Straight-line test code for one case (inputs, calls, checks)."""
    spec = FUNCTIONS[inst.function]
    outcomes = run_reference(inst)
    names = _Names(inst)
    tol = inst.tolerance
    shapes = ", ".join(str(s) for s in inst.shapes)
    lines = [f"# {inst.case_name}: {inst.dtype}, shape {shapes}, {inst.steps} step(s)"]
    for i, (call, outcome) in enumerate(zip(inst.program.calls, outcomes, strict=True)):
        args = [_arg(a, names, inst.inputs, inst.dtype, lines) for a in call.args]
        args += [f"{k}={_arg(v, names, inst.inputs, inst.dtype, lines)}" for k, v in call.kwargs]
        targets = ", ".join(names.output(o) for o in call.outputs)
        lines.append(f"{targets} = {inst.function}({', '.join(args)})")
        if spec.carry and i < len(inst.program.calls) - 1:
            continue
        for name, value in _expected(call, outcome.values):
            var = names.output(name)
            start = ""
            if names.start == var:
                moved = _minus(value, _start_value(inst, names.start))
                moves = literal(moved, "float64", EXPECTED_DIGITS)
                start = f", start={var}_0, moved={moves}, drtol={DISPLACEMENT_RTOL!r}"
            lines.append(
                f'check("{var}", {var}, {literal(value, "float64", EXPECTED_DIGITS)}, '
                f'"{inst.dtype}", rtol={tol.rtol!r}, atol={tol.atol!r}{start})'
            )
    return "\n".join(lines) + "\n"
