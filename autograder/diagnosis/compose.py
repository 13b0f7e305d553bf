"""A reference function with some of its pieces replaced: how every wrong variant is built.

The references are composed of small named pieces (`adam_step` calls `adam_first_moment`,
`adam_second_moment`, `bias_correction` and `adam_direction` through `_adam_update`; `lamb_step`
adds `trust_ratio`; ...). `with_pieces(adam_step, bias_correction=uncorrected)` is `adam_step`
with every call of `bias_correction`, direct or through another reference function, going to
`uncorrected` instead: a variant that differs from the reference by exactly the named mistake,
with no copy of the reference's math. The original functions are left untouched.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any


def _is_reference(obj: Any) -> bool:
    return isinstance(obj, types.FunctionType) and obj.__module__.startswith("solutions")


def _global_names(code: types.CodeType) -> Iterator[str]:
    """Names a code object (and the code nested in it) may look up as globals."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def _closure(fn: types.FunctionType) -> list[types.FunctionType]:
    """`fn` and every reference function it reaches through global names."""
    seen: list[types.FunctionType] = []
    stack = [fn]
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.append(f)
        for name in _global_names(f.__code__):
            found = f.__globals__.get(name)
            if isinstance(found, types.FunctionType) and _is_reference(found):
                stack.append(found)
    return seen


def with_pieces(fn: Callable[..., Any], **pieces: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` with each named piece replaced wherever the call tree of `fn` uses it."""
    if not _is_reference(fn):
        raise TypeError(f"{fn!r} is not a reference function")
    assert isinstance(fn, types.FunctionType)
    reached = _closure(fn)
    namespaces: dict[int, dict[str, Any]] = {}
    copies: dict[types.FunctionType, types.FunctionType] = {}
    for f in reached:
        namespace = namespaces.setdefault(id(f.__globals__), dict(f.__globals__))
        copy = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
        copy.__kwdefaults__ = f.__kwdefaults__
        copy.__qualname__ = f.__qualname__
        copies[f] = copy
    for namespace in namespaces.values():
        for name, obj in namespace.items():
            if name in pieces:
                namespace[name] = pieces[name]
            elif isinstance(obj, types.FunctionType) and obj in copies:
                namespace[name] = copies[obj]
    return copies[fn]
