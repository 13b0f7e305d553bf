"""Code cells from the reference solutions: one math, taken from `solutions/` by `inspect`.

- `given_functions(module)`: what a module's notebook gives ready-made: the functions its graded
  functions, its experiments' step rules and its probes need (through the reference sources),
  minus the module's graded functions, and only those that give nothing away: functions graded
  in an earlier module, and ungraded helpers, whose references call nothing graded later. Late
  binding makes a given function call the learner's version of a graded one: the given
  `_adam_update` of module 4.3 calls the learner's... earlier functions, and the given
  `adafactor_step` of module 4.1 calls the learner's `adafactor_beta2`.
- `support_functions(fn, module)`: what the reference of a graded function needs that the
  notebook cannot give (graded later, or calling something graded later): in the solution
  these are defined inside the function, so the learner writes that math inline.
- `solution_source(fn, module)`: the reference function with its body (and the support
  functions before it) between nbgrader's `### BEGIN SOLUTION` / `### END SOLUTION` markers.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import solutions
from course import lab_probes
from course.dependencies import closure, graded_in, is_later, later_graded
from course.spec import ModuleSpec

IMPORTS = """\
import math
from collections.abc import Iterable, Mapping

import torch
from torch import Tensor
"""

Function = Callable[..., Any]


def _order(fn: Function) -> tuple[int, int]:
    modules = ["moments", "decay", "rmsprop", "adam", "adafactor", "trust"]
    name = fn.__module__.rsplit(".", 1)[-1]
    return modules.index(name) if name in modules else len(modules), fn.__code__.co_firstlineno


def _roots(module: ModuleSpec) -> list[Function]:
    roots = [getattr(solutions, f) for f in module.functions]
    for experiment in module.experiments:
        roots += [getattr(solutions, r.rule) for r in experiment.runs if hasattr(solutions, r.rule)]
        if experiment.probe is not None:
            probe = lab_probes.PROBES[experiment.probe.value]
            roots += [getattr(solutions, n) for n in inspect.signature(probe).parameters]
    return roots


def can_give(fn: Function, module_id: str) -> bool:
    """True when the notebook of `module_id` may contain fn's code."""
    return not is_later(fn, module_id) and not later_graded(fn, module_id)


def given_functions(module: ModuleSpec) -> list[Function]:
    """Reference functions the notebook of `module` gives ready-made, in source order."""
    return sorted((f for f in closure(_roots(module)) if can_give(f, module.id)), key=_order)


def support_functions(function: str, module_id: str) -> list[Function]:
    """What the reference of `function` calls that its notebook cannot give, in source order."""
    fn = getattr(solutions, function)
    found = [
        f
        for f in closure([fn])
        if f is not fn and graded_in(f) != module_id and not can_give(f, module_id)
    ]
    return sorted(found, key=_order)


def given_source(module: ModuleSpec) -> str:
    """The "given functions" cell: imports, then every given function's reference source."""
    parts = [IMPORTS]
    parts += [inspect.getsource(f) for f in given_functions(module)]
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def solution_source(function: str, module_id: str) -> str:
    """The reference function with its body (after the docstring) in solution markers; the
    support functions it needs are defined first inside the body."""
    fn = getattr(solutions, function)
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    body = node.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    if has_doc and len(body) < 2:
        raise ValueError(f"{function}: the reference has no body after its docstring")
    first = body[1] if has_doc else body[0]
    lines = source.splitlines()
    head, rest = lines[: first.lineno - 1], lines[first.lineno - 1 :]
    indent = rest[0][: len(rest[0]) - len(rest[0].lstrip())]
    support = []
    needed = support_functions(function, module_id)
    if needed:
        names = ", ".join(f.__name__ for f in needed)
        support.append(f"{indent}# Inline here what is graded in a later module ({names}):")
        for f in needed:
            support += [
                indent + line if line else line
                for line in textwrap.dedent(inspect.getsource(f)).splitlines()
            ]
    marked = [*head, f"{indent}### BEGIN SOLUTION", *support, *rest, f"{indent}### END SOLUTION"]
    return "\n".join(marked) + "\n"
