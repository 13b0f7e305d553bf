"""Which reference functions call which: what a notebook may give without giving work away.

The references compose (`adamw_step` calls `adam_second_moment`, `bias_correction`,
`adam_direction`), so giving one function can give away another. A module's notebook may give a
function graded in an earlier module, or an ungraded helper, only when nothing it calls (directly
or not) is graded in the module itself or later; `later_graded` names what stands in the way.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import solutions
from alr.contract import FUNCTION_MODULE, MODULE_IDS

Function = Callable[..., Any]


def is_solution_function(obj: Any) -> bool:
    return inspect.isfunction(obj) and obj.__module__.startswith("solutions.")


@cache
def dependencies(fn: Function) -> tuple[Function, ...]:
    """Solution functions named in fn's body (direct dependencies)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    found = [fn.__globals__.get(name) for name in sorted(names)]
    return tuple(f for f in found if f is not None and f is not fn and is_solution_function(f))


def closure(roots: Iterable[Function]) -> list[Function]:
    """The roots and everything they call, directly or not."""
    seen: list[Function] = []
    stack = list(roots)
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.append(fn)
        stack.extend(dependencies(fn))
    return seen


def graded_in(fn: Function) -> str | None:
    """The module that grades `fn`, or None for an ungraded helper."""
    return FUNCTION_MODULE.get(fn.__name__) if getattr(solutions, fn.__name__, None) is fn else None


def is_later(fn: Function, module_id: str, *, same: bool = True) -> bool:
    """True when fn is graded in a module after `module_id` (or in it, when `same`)."""
    module = graded_in(fn)
    if module is None:
        return False
    here, there = MODULE_IDS.index(module_id), MODULE_IDS.index(module)
    return there > here or (same and there == here)


def later_graded(fn: Function, module_id: str) -> list[str]:
    """Functions graded after `module_id` that fn calls (directly or not), in name order."""
    return sorted(
        f.__name__ for f in closure([fn]) if f is not fn and is_later(f, module_id, same=False)
    )


def reference_function(name: str) -> Function:
    fn = getattr(solutions, name)
    assert is_solution_function(fn), name
    return fn
