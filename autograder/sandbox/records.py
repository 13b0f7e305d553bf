"""Job frames out, result frames in: the parent's side of the wire, strict and bounded.

`encode_job` turns a `Job` into one frame (student source + per case its program and input
arrays; nothing else). `parse_result` turns the child's stream (a frame per case, in the job's
order, then a final frame) into protocol records and rejects anything that is not exactly the
expected shape: unknown keys, wrong types, case ids or call sequences that differ from the job,
output names the program did not ask for, arrays whose dtype or shape contradict what the
record claims, oversize strings.

The parent's work is bounded by the job, not by what the child sends: before a frame's header is
parsed, its size is checked against what that case can honestly need (`header_cap`: per call a
message, per output a name and a description, and a dict's entries up to `dict_entries`), and
its arrays are counted against the outputs the case may have. A hostile stream of millions of
empty arrays is refused by its prefix, without being parsed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autograder.sandbox import wire
from autograder.sandbox.child import MAX_MESSAGE, MAX_NAME, dict_entries
from autograder.sandbox.protocol import CallRecord, CaseRun, Job, OutputValue
from course.cases.program import Call, Program, Ref, RefDict, per_object

MAX_TEXT = 600
MAX_OUTPUTS = 512
#: JSON escapes a character in at most 12 bytes (a surrogate pair, "\ud83d\ude00")
_ESCAPED = 12
_FINAL_CAP = 512 + _ESCAPED * MAX_MESSAGE
_CALL_BYTES = 512 + _ESCAPED * MAX_MESSAGE  # keys, flags and the error message
_NAME_BYTES = 8 + _ESCAPED * MAX_NAME  # an output, mutated or aliased name
_VALUE_BYTES = 256 + 21 * 16 + _ESCAPED * MAX_NAME  # a value's keys, 16 dims, a type name
TORCH_DTYPES = {
    "float16": "float16",
    "bfloat16": "float32",  # sent widened
    "float32": "float32",
    "float64": "float64",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "bool": "bool",
}
_DEVICE = re.compile(r"^(cpu|meta|cuda(:\d{1,2})?)$")
_CALL_KEYS = frozenset({"function", "error", "skipped", "mutated", "aliased", "outputs"})
_RESULT_KEYS = frozenset({"status", "message", "memory"})
_TENSOR_KEYS = frozenset({"kind", "dtype", "device", "shape", "value"})


class ResultError(ValueError):
    """The child's result is malformed (becomes RunStatus.PROTOCOL_ERROR)."""


_PROGRAM_OBJ: dict[int, tuple[Program, list[dict[str, Any]]]] = {}


def _program_obj(program: Program) -> list[dict[str, Any]]:
    """`program.to_obj()`, cached per program object (a batch reuses its plan's programs)."""
    hit = _PROGRAM_OBJ.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1]
    if len(_PROGRAM_OBJ) > 50_000:
        _PROGRAM_OBJ.clear()
    obj = program.to_obj()
    json.dumps(obj, allow_nan=False)  # checked here, so a bad program fails before any frame
    _PROGRAM_OBJ[id(program)] = (program, obj)  # holding the object keeps its id unique
    return obj


def encode_job(job: Job) -> bytes:
    """One frame: the source, each distinct program once (its plain JSON form), and per case
    its id, program index, device and input arrays (an array shared by cases is sent once)."""
    arrays: list[np.ndarray] = []
    array_index: dict[int, int] = {}
    programs: list[list[dict[str, Any]]] = []
    program_index: dict[int, int] = {}
    cases = []
    for case in job.cases:
        names: dict[str, int] = {}
        for name, arr in case.inputs.items():
            at = array_index.get(id(arr))
            if at is None:
                at = array_index[id(arr)] = len(arrays)
                arrays.append(np.asarray(arr))
            names[name] = at
        at = program_index.get(id(case.program))
        if at is None:
            at = program_index[id(case.program)] = len(programs)
            programs.append(_program_obj(case.program))
        cases.append({"id": case.case_id, "program": at, "device": case.device, "inputs": names})
    return wire.encode_frame({"source": job.source, "programs": programs, "cases": cases}, arrays)


def _text(x: Any, what: str) -> str:
    if not isinstance(x, str):
        raise ResultError(f"{what}: expected a string")
    return x[:MAX_TEXT]


def _names(x: Any, what: str) -> tuple[str, ...]:
    if not isinstance(x, list) or len(x) > MAX_OUTPUTS:
        raise ResultError(f"{what}: expected a list of names")
    return tuple(_text(n, what) for n in x)


def _output(x: Any, arrays: list[np.ndarray]) -> OutputValue:
    if not isinstance(x, dict):
        raise ResultError("output: expected an object")
    kind = x.get("kind")
    if kind == "other":
        if set(x) != {"kind", "type_name"}:
            raise ResultError("output: bad keys for kind 'other'")
        return OutputValue(kind="other", type_name=_text(x["type_name"], "type_name")[:200])
    if kind == "float":
        if set(x) != {"kind", "value"}:
            raise ResultError("output: bad keys for kind 'float'")
        arr = _array(x["value"], arrays)
        if arr.dtype != np.float64 or arr.shape != ():
            raise ResultError("output: a float must be a 0-d float64 array")
        return OutputValue(kind="float", value=arr)
    if kind == "tensor":
        return _tensor_output(x, arrays)
    raise ResultError(f"output: unknown kind {kind!r}")


def _tensor_output(x: dict[str, Any], arrays: list[np.ndarray]) -> OutputValue:
    # JSON decodes to exact types: `type(v) is int` is an integer and never a bool
    if x.keys() != _TENSOR_KEYS:
        raise ResultError("output: bad keys for kind 'tensor'")
    dtype, device, shape = x["dtype"], x["device"], x["shape"]
    if type(dtype) is not str or dtype not in TORCH_DTYPES:
        dtype_ok = type(dtype) is str and len(dtype) <= 40
        if not dtype_ok or x["value"] is not None:
            raise ResultError(f"output: tensor dtype {dtype!r} not allowed with a value")
    if type(device) is not str or (device != "cpu" and not _DEVICE.match(device)):
        raise ResultError("output: bad device")
    if type(shape) is not list or len(shape) > 16:
        raise ResultError("output: bad shape")
    for d in shape:
        if type(d) is not int or d < 0:
            raise ResultError("output: bad shape")
    value = None
    if x["value"] is not None:
        if device == "meta":
            raise ResultError("output: a meta tensor has no value")
        value = _array(x["value"], arrays)
        if wire.dtype_name(value.dtype) != TORCH_DTYPES[dtype] or list(value.shape) != shape:
            raise ResultError("output: tensor value contradicts its dtype or shape")
    elif device != "meta" and dtype in TORCH_DTYPES:
        raise ResultError("output: a tensor off the meta device must carry its value")
    return OutputValue(kind="tensor", dtype=dtype, device=device, shape=tuple(shape), value=value)


def _array(index: Any, arrays: list[np.ndarray]) -> np.ndarray:
    if type(index) is not int or not 0 <= index < len(arrays):
        raise ResultError("output: bad array index")
    return arrays[index]


def _call(
    x: Any, expected_function: str, outputs: tuple[str, ...], arrays: list, allowed: int
) -> CallRecord:
    if type(x) is not dict or x.keys() != _CALL_KEYS:
        raise ResultError("call: bad keys")
    if x["function"] != expected_function:
        raise ResultError("call: function does not match the program")
    error = None if x["error"] is None else _text(x["error"], "error")
    if not isinstance(x["skipped"], bool):
        raise ResultError("call: 'skipped' must be a boolean")
    outs = x["outputs"]
    if type(outs) is not dict or len(outs) > min(allowed, MAX_OUTPUTS):
        raise ResultError("call: bad outputs")
    parsed: dict[str, OutputValue] = {}
    for name, value in outs.items():
        if name not in outputs and name.partition("/")[0] not in outputs:
            raise ResultError(f"call: output {name[:50]!r} was not asked for")
        parsed[_text(name, "output name")] = _output(value, arrays)
    return CallRecord(
        function=expected_function,
        error=error,
        skipped=x["skipped"],
        mutated=_names(x["mutated"], "mutated"),
        aliased=_names(x["aliased"], "aliased"),
        outputs=parsed,
    )


def _outputs_allowed(call: Call) -> int:
    return len(call.outputs) * (1 + dict_entries(call))


def _refs(call: Call) -> int:
    args = [*call.args, *(v for _, v in call.kwargs)]
    return sum(
        1 if isinstance(a, Ref) else len(a.items) if isinstance(a, RefDict) else 0 for a in args
    )


@dataclass(frozen=True)
class _Bounds:
    """What a program's calls may honestly send: header bytes (without the case id), arrays,
    and outputs per call."""

    header: int
    arrays: int
    outputs: tuple[int, ...]


@per_object(50_000)
def _bounds(program: Program) -> _Bounds:
    """A program's `_Bounds` (a batch reuses its plan's programs)."""
    header = 0
    outputs = tuple(_outputs_allowed(call) for call in program.calls)
    for call, n in zip(program.calls, outputs, strict=True):
        header += _CALL_BYTES + _ESCAPED * len(call.function)
        header += (_refs(call) + 2 * n) * _NAME_BYTES + n * _VALUE_BYTES
    return _Bounds(header, sum(outputs), outputs)


def header_cap(case: CaseRun) -> int:
    """The largest header an honest child can send for `case` (see the module docstring)."""
    return 256 + _ESCAPED * len(case.case_id) + _bounds(case.program).header


def array_cap(case: CaseRun) -> int:
    """The most arrays a case's frame may carry (one per output it may send)."""
    return _bounds(case.program).arrays


@dataclass(frozen=True)
class ParsedResult:
    """What a child's stream says. `status` is None when the stream ended before its final
    frame (the child was stopped or died): `cases` then holds the cases that finished."""

    status: str | None
    message: str = ""
    memory: bool = False
    cases: dict[str, tuple[CallRecord, ...]] = field(default_factory=dict)


def parse_result(data: bytes | memoryview, job: Job, *, max_bytes: int) -> ParsedResult:
    """Parse a child's stream strictly; raise ResultError on anything malformed. A frame cut
    short at the end of the stream is not an error (the child was stopped while writing)."""
    view = memoryview(data).toreadonly()
    if len(view) > max_bytes:
        raise ResultError(f"result of {len(view)} bytes exceeds the cap of {max_bytes}")
    cases: dict[str, tuple[CallRecord, ...]] = {}
    at = 0
    while at < len(view):
        case = job.cases[len(cases)] if len(cases) < len(job.cases) else None
        frame = _next_frame(view, at, case)
        if frame is None:
            return ParsedResult(None, cases=cases)
        meta, arrays, total = frame
        at += total
        if case is not None and isinstance(meta, dict) and "case" in meta:
            cases[case.case_id] = _case(meta, case, arrays)
            continue
        final = _final(meta, job, cases)
        if arrays or at != len(view):
            raise ResultError("result: arrays or frames after the final frame")
        return replace(final, cases=cases)
    return ParsedResult(None, cases=cases)


def _next_frame(view: memoryview, at: int, case: CaseRun | None) -> tuple[Any, list, int] | None:
    """The frame at `at`, decoded within the bounds of the case it may be (or of the final
    frame), and its length; None when the stream ends inside it."""
    rest = view[at:]
    if len(rest) < wire.PREFIX_BYTES:
        return None
    try:
        hlen, plen = wire.frame_sizes(rest)
    except wire.WireError as exc:
        raise ResultError(str(exc)) from None
    total = wire.PREFIX_BYTES + hlen + plen
    header_max = max(_FINAL_CAP, header_cap(case) if case else 0)
    if hlen > header_max:
        raise ResultError(f"frame header of {hlen} bytes exceeds the cap of {header_max}")
    if total > len(rest):
        return None
    try:
        meta, arrays = wire.decode_frame(
            rest[:total],
            max_bytes=total,
            max_header=header_max,
            max_arrays=array_cap(case) if case else 0,
        )
    except wire.WireError as exc:
        raise ResultError(str(exc)) from None
    return meta, arrays, total


def _case(meta: dict[str, Any], case: CaseRun, arrays: list[np.ndarray]) -> tuple[CallRecord, ...]:
    if meta.keys() != {"case", "calls"} or meta["case"] != case.case_id:
        raise ResultError("result: a case frame out of the job's order")
    calls, prog = meta["calls"], case.program.calls
    if type(calls) is not list or len(calls) != len(prog):
        raise ResultError("result: call count differs from the program")
    allowed = _bounds(case.program).outputs
    return tuple(
        _call(x, c.function, c.outputs, arrays, n)
        for x, c, n in zip(calls, prog, allowed, strict=True)
    )


def _final(meta: Any, job: Job, cases: dict[str, Any]) -> ParsedResult:
    if not isinstance(meta, dict) or set(meta) != _RESULT_KEYS:
        raise ResultError("result: bad keys")
    status, message, memory = meta["status"], _text(meta["message"], "message"), meta["memory"]
    if status not in ("ok", "load_error", "output_limit") or not isinstance(memory, bool):
        raise ResultError("result: bad status")
    if status == "load_error" and cases:
        raise ResultError("result: a load error after cases")
    if status == "ok" and not memory and len(cases) != len(job.cases):
        raise ResultError("result: case ids differ from the job")
    return ParsedResult(status, message, memory)
