"""Code cells from the reference solutions: one math, taken from `solutions/` by `inspect`.

- `solution_source(fn)`: the reference function with its body between nbgrader's
  `### BEGIN SOLUTION` / `### END SOLUTION` markers (signature and docstring stay visible).
- `given_functions(module)`: what a module's notebook needs besides the learner's own functions:
  the dependency closure (through the reference sources) of the module's graded functions, its
  experiments' step rules and the functions its experiment code calls, minus the graded
  functions of the module. Late binding makes a given function call the learner's version of a
  graded one: the given `_adam_update` of module 4.1 calls the learner's `bias_correction`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from functools import cache
from typing import Any

import solutions
from course.spec import ModuleSpec

IMPORTS = """\
import math
from collections.abc import Iterable, Mapping

import torch
from torch import Tensor
"""


def _is_solution_function(obj: Any) -> bool:
    return inspect.isfunction(obj) and obj.__module__.startswith("solutions.")


@cache
def _dependencies(fn: Callable[..., Any]) -> tuple[Callable[..., Any], ...]:
    """Solution functions named in fn's body (direct dependencies)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    found = [fn.__globals__.get(name) for name in sorted(names)]
    return tuple(f for f in found if f is not None and f is not fn and _is_solution_function(f))


def _closure(roots: list[Callable[..., Any]]) -> list[Callable[..., Any]]:
    seen: list[Callable[..., Any]] = []
    stack = list(roots)
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.append(fn)
        stack.extend(_dependencies(fn))
    return seen


def _order(fn: Callable[..., Any]) -> tuple[int, int]:
    modules = ["moments", "decay", "rmsprop", "adam", "adafactor", "trust"]
    name = fn.__module__.rsplit(".", 1)[-1]
    return modules.index(name) if name in modules else len(modules), fn.__code__.co_firstlineno


def code_names(code: str) -> set[str]:
    """Names read by a snippet of experiment code."""
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


def given_functions(module: ModuleSpec) -> list[Callable[..., Any]]:
    """Reference functions the notebook of `module` gives ready-made, in source order."""
    graded = {getattr(solutions, f) for f in module.functions}
    roots = list(graded)
    for experiment in module.experiments:
        roots += [getattr(solutions, run.rule) for run in experiment.runs]
        for name in sorted(code_names(experiment.code)):
            obj = getattr(solutions, name, None)
            if _is_solution_function(obj):
                roots.append(obj)
    return sorted((f for f in _closure(roots) if f not in graded), key=_order)


def given_source(module: ModuleSpec) -> str:
    """The "given functions" cell: imports, then every given function's reference source."""
    parts = [IMPORTS]
    parts += [inspect.getsource(f) for f in given_functions(module)]
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def solution_source(function: str) -> str:
    """The reference function with its body (after the docstring) in solution markers."""
    fn = getattr(solutions, function)
    source = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    body = node.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    if has_doc and len(body) < 2:
        raise ValueError(f"{function}: the reference has no body after its docstring")
    first = body[1] if has_doc else body[0]
    lines = source.splitlines()
    head, rest = lines[: first.lineno - 1], lines[first.lineno - 1 :]
    indent = rest[0][: len(rest[0]) - len(rest[0].lstrip())]
    marked = [*head, f"{indent}### BEGIN SOLUTION", *rest, f"{indent}### END SOLUTION"]
    return "\n".join(marked) + "\n"
