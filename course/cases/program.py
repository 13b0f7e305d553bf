"""A grading case as a straight-line program of calls.

The same program runs three ways: in the sandboxed child with the student's functions, in the
trusted parent with the reference functions (float64), and in the parent with each known wrong
variant (diagnosis). It is plain data (JSON-serialisable), so it crosses the process boundary
without pickle; the inputs cross as plain arrays.

    Program(calls=(
        Call("adam_step", args=(Ref("theta0"), Ref("g1"), Ref("m0"), Ref("v0"), 1),
             kwargs=(("lr", 0.1),), outputs=("theta1", "m1", "v1")),
        Call("adam_step", args=(Ref("theta1"), Ref("g2"), Ref("m1"), Ref("v1"), 2),
             kwargs=(("lr", 0.1),), outputs=("theta2", "m2", "v2")),
    ))

Arguments are `Ref` (a named input or earlier output tensor), `RefDict` (a dict of named tensors,
for the 4.5 functions) or plain scalars / tuples of strings. A call's result is bound to its
`outputs`: one name for a single result, one per element for a tuple. A dict result bound to
name `p` is visible as `p/<key>` and can be passed on whole with RefDict.prefix("p", keys).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # torch is imported where a program runs, not where it is only described:
    from torch import Tensor  # the grader starts its sandbox before it imports torch

Scalar = float | int | bool | str | None


@dataclass(frozen=True)
class Ref:
    """A tensor: a named input of the case or an earlier call's output."""

    name: str


@dataclass(frozen=True)
class RefDict:
    """A dict of tensors {key: Ref(name)}, passed as one argument."""

    items: tuple[tuple[str, str], ...]

    @staticmethod
    def prefix(prefix: str, keys: tuple[str, ...]) -> RefDict:
        return RefDict(tuple((k, f"{prefix}/{k}") for k in keys))


Arg = Ref | RefDict | Scalar | tuple[str, ...]


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Arg, ...] = ()
    kwargs: tuple[tuple[str, Arg], ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Program:
    calls: tuple[Call, ...]

    # ---- plain-data form (crosses the sandbox boundary as JSON) ----
    def to_obj(self) -> list[dict[str, Any]]:
        return [_call_to_obj(c) for c in self.calls]

    @staticmethod
    def from_obj(data: Any) -> Program:
        if not isinstance(data, list):
            raise ValueError("program: expected a list of calls")
        return Program(tuple(_call_from_obj(c) for c in data))

    def to_json(self) -> str:
        return json.dumps(self.to_obj(), allow_nan=False)

    @staticmethod
    def from_json(text: str) -> Program:
        return Program.from_obj(json.loads(text))


def _arg_to_obj(a: Arg) -> Any:
    if isinstance(a, Ref):
        return {"ref": a.name}
    if isinstance(a, RefDict):
        return {"dict": [list(kv) for kv in a.items]}
    if isinstance(a, tuple):
        return {"tuple": list(a)}
    if isinstance(a, float) and not math.isfinite(a):
        raise ValueError(f"program: non-finite scalar argument {a!r}")
    return a


def _arg_from_obj(o: Any) -> Arg:
    if isinstance(o, dict):
        if set(o) == {"ref"} and isinstance(o["ref"], str):
            return Ref(o["ref"])
        if set(o) == {"dict"}:
            return RefDict(tuple((str(k), str(v)) for k, v in o["dict"]))
        if set(o) == {"tuple"}:
            return tuple(str(x) for x in o["tuple"])
        raise ValueError(f"program: bad argument {o!r}")
    if o is None or isinstance(o, bool | int | float | str):
        return o
    raise ValueError(f"program: bad argument {o!r}")


def _call_to_obj(c: Call) -> dict[str, Any]:
    return {
        "function": c.function,
        "args": [_arg_to_obj(a) for a in c.args],
        "kwargs": [[k, _arg_to_obj(v)] for k, v in c.kwargs],
        "outputs": list(c.outputs),
    }


def _call_from_obj(o: Any) -> Call:
    if not isinstance(o, dict) or set(o) != {"function", "args", "kwargs", "outputs"}:
        raise ValueError(f"program: bad call {o!r}")
    return Call(
        function=str(o["function"]),
        args=tuple(_arg_from_obj(a) for a in o["args"]),
        kwargs=tuple((str(k), _arg_from_obj(v)) for k, v in o["kwargs"]),
        outputs=tuple(str(n) for n in o["outputs"]),
    )


# ---- execution ----


@dataclass
class CallOutcome:
    """What one call produced. `values` maps output names to tensors or Python floats.

    `mutated` names input tensors changed in place; `aliased` names outputs sharing storage with
    an argument; `error` is "Type: message" when the call raised or returned the wrong structure.
    """

    function: str
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    mutated: list[str] = field(default_factory=list)
    aliased: list[str] = field(default_factory=list)
    skipped: bool = False


def _resolve(a: Arg, env: Mapping[str, Any]) -> Any:
    if isinstance(a, Ref):
        return env[a.name]
    if isinstance(a, RefDict):
        return {k: env[v] for k, v in a.items}
    return a


def _refs(a: Arg) -> list[str]:
    if isinstance(a, Ref):
        return [a.name]
    if isinstance(a, RefDict):
        return [v for _, v in a.items]
    return []


def _bind(call: Call, result: Any) -> dict[str, Any]:
    """Bind a call's result to its output names, checking the structure."""
    names = call.outputs
    if len(names) == 1:
        items = [result]
    else:
        if not isinstance(result, tuple | list) or len(result) != len(names):
            got = f"a {type(result).__name__}"
            if isinstance(result, tuple | list):
                got += f" of length {len(result)}"
            raise TypeError(f"expected a tuple of {len(names)} results, got {got}")
        items = list(result)
    bound: dict[str, Any] = {}
    for name, value in zip(names, items, strict=True):
        if isinstance(value, dict):
            for k, v in value.items():
                bound[f"{name}/{k}"] = v
            bound[name] = dict(value)
        else:
            bound[name] = value
    return bound


def _label(a: RefDict) -> str:
    """The name of a dict argument: `params_0` for its entries `params_0_<i>` or `params_0/<k>`."""
    first = a.items[0][1] if a.items else "dict"
    return first.partition("/")[0] if "/" in first else first.rsplit("_", 1)[0]


def _storage_ptrs(x: Any, tensor: type[Tensor]) -> set[int]:
    if isinstance(x, tensor) and not x.is_meta:
        try:
            return {x.untyped_storage().data_ptr()}
        except Exception:  # noqa: BLE001 - exotic tensor subclasses
            return set()
    if isinstance(x, dict):
        return set().union(*(_storage_ptrs(v, tensor) for v in x.values())) if x else set()
    return set()


def _same_values(a: Tensor, b: Tensor) -> bool:
    """Equal shape and values, NaN equal to NaN (a NaN input is not a mutation)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.equal(b):  # the usual case, in one op (False when a NaN is in either)
        return True
    a = a.detach()
    return bool(((a == b) | (a.isnan() & b.isnan())).all())


@dataclass(frozen=True)
class _Layout:
    """What `execute` needs of a call that depends on the call alone: the names it reads and
    the (position among its arguments, label) of each dict argument."""

    needed: tuple[str, ...]
    dicts: tuple[tuple[int, str], ...]


_O = TypeVar("_O")
_V = TypeVar("_V")


def per_object(limit: int) -> Callable[[Callable[[_O], _V]], Callable[[_O], _V]]:
    """Cache a one-argument function per argument object (by identity, not by value: hashing a
    program or call on every case would cost what the cache saves). A batch reuses its plan's
    programs and calls, so each is worked out once; the cache holds each object, which keeps its
    id unique, and starts again past `limit` entries."""

    def wrap(compute: Callable[[_O], _V]) -> Callable[[_O], _V]:
        kept: dict[int, tuple[_O, _V]] = {}

        def cached(obj: _O) -> _V:
            hit = kept.get(id(obj))
            if hit is not None and hit[0] is obj:
                return hit[1]
            if len(kept) > limit:
                kept.clear()
            value = compute(obj)
            kept[id(obj)] = (obj, value)
            return value

        cached.__doc__ = compute.__doc__
        return cached

    return wrap


@per_object(100_000)
def _layout(call: Call) -> _Layout:
    """`_Layout` of a call (a program is run once per case and batch)."""
    every = (*call.args, *(v for _, v in call.kwargs))
    needed = tuple(r for a in every for r in _refs(a))
    dicts = tuple((i, _label(a)) for i, a in enumerate(every) if isinstance(a, RefDict))
    return _Layout(needed, dicts)


def execute(
    program: Program,
    inputs: Mapping[str, Tensor],
    functions: Mapping[str, Callable[..., Any]],
    *,
    check_purity: bool = True,
) -> list[CallOutcome]:
    """Run every call in order; a failed call's outputs are missing and later calls using them
    are skipped. Never raises for a failing function: the failure is recorded in its outcome."""
    from torch import Tensor

    env: dict[str, Any] = dict(inputs)
    outcomes: list[CallOutcome] = []
    for call in program.calls:
        out = CallOutcome(call.function)
        outcomes.append(out)
        layout = _layout(call)
        needed = layout.needed
        if any(r not in env for r in needed) or call.function not in functions:
            out.skipped = call.function in functions
            if call.function not in functions:
                out.error = f"NameError: {call.function} is not defined"
            continue
        args = [_resolve(a, env) for a in call.args]
        kwargs = {k: _resolve(v, env) for k, v in call.kwargs}
        tensors_in = {r: env[r] for r in needed if isinstance(env[r], Tensor)}
        containers: list[tuple[str, dict[Any, Any], list[tuple[Any, int]]]] = []
        if layout.dicts:
            values = (*args, *kwargs.values())
            containers = [
                (label, values[i], [(k, id(v)) for k, v in values[i].items()])
                for i, label in layout.dicts
                if isinstance(values[i], dict)
            ]
        before = (
            {r: t.detach().clone() for r, t in tensors_in.items() if not t.is_meta}
            if check_purity
            else {}
        )
        try:
            result = functions[call.function](*args, **kwargs)
            bound = _bind(call, result)
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            out.error = f"{type(exc).__name__}: {str(exc)[:500]}"
            continue
        if check_purity:
            for r, copy in before.items():
                if not _same_values(tensors_in[r], copy):
                    out.mutated.append(r)
            for label, value, items in containers:  # an entry added, removed or replaced
                if [(k, id(v)) for k, v in value.items()] != items and label not in out.mutated:
                    out.mutated.append(label)
            in_ptrs = (
                set().union(*(_storage_ptrs(t, Tensor) for t in tensors_in.values()))
                if tensors_in
                else set()
            )
            for name in call.outputs:
                if _storage_ptrs(bound.get(name), Tensor) & in_ptrs:
                    out.aliased.append(name)
        out.values = {k: v for k, v in bound.items() if not isinstance(v, dict)}
        env.update(bound)
    return outcomes
