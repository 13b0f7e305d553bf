"""Job frames out, result frames in: the parent's side of the wire, strict and size-capped.

`encode_job` turns a `Job` into one frame (student source + per case its program and input
arrays; nothing else). `parse_result` turns the child's frame into protocol records and rejects
anything that is not exactly the expected shape: unknown keys, wrong types, case ids or call
sequences that differ from the job, output names the program did not ask for, arrays whose dtype
or shape contradict what the record claims, oversize strings.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from autograder.sandbox import wire
from autograder.sandbox.protocol import CallRecord, Job, OutputValue
from course.cases.program import Program

MAX_TEXT = 600
MAX_OUTPUTS = 512
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
_CALL_KEYS = {"function", "error", "skipped", "mutated", "aliased", "outputs"}
_RESULT_KEYS = {"status", "message", "memory", "cases"}


class ResultError(ValueError):
    """The child's result is malformed (becomes RunStatus.PROTOCOL_ERROR)."""


_PROGRAM_TEXT: dict[int, tuple[Program, str]] = {}


def _program_text(program: Program) -> str:
    """`program.to_json()`, cached per program object (a batch reuses its plan's programs)."""
    hit = _PROGRAM_TEXT.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1]
    if len(_PROGRAM_TEXT) > 50_000:
        _PROGRAM_TEXT.clear()
    text = program.to_json()
    _PROGRAM_TEXT[id(program)] = (program, text)  # holding the object keeps its id unique
    return text


def encode_job(job: Job) -> bytes:
    """One frame: the source, and per case its id, program (JSON text), device, input arrays."""
    arrays: list[np.ndarray] = []
    cases = []
    for case in job.cases:
        names: dict[str, int] = {}
        for name, arr in case.inputs.items():
            names[name] = len(arrays)
            arrays.append(np.asarray(arr))
        program = _program_text(case.program)
        cases.append(
            {"id": case.case_id, "program": program, "device": case.device, "inputs": names}
        )
    return wire.encode_frame({"source": job.source, "cases": cases}, arrays)


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
    if set(x) != {"kind", "dtype", "device", "shape", "value"}:
        raise ResultError("output: bad keys for kind 'tensor'")
    dtype, device, shape = x["dtype"], x["device"], x["shape"]
    if not isinstance(dtype, str) or dtype not in TORCH_DTYPES:
        dtype_ok = isinstance(dtype, str) and len(dtype) <= 40
        if not dtype_ok or x["value"] is not None:
            raise ResultError(f"output: tensor dtype {dtype!r} not allowed with a value")
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ResultError("output: bad device")
    if not (isinstance(shape, list) and len(shape) <= 16):
        raise ResultError("output: bad shape")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
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
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(arrays):
        raise ResultError("output: bad array index")
    return arrays[index]


def _call(x: Any, expected_function: str, outputs: tuple[str, ...], arrays: list) -> CallRecord:
    if not isinstance(x, dict) or set(x) != _CALL_KEYS:
        raise ResultError("call: bad keys")
    if x["function"] != expected_function:
        raise ResultError("call: function does not match the program")
    error = None if x["error"] is None else _text(x["error"], "error")
    if not isinstance(x["skipped"], bool):
        raise ResultError("call: 'skipped' must be a boolean")
    outs = x["outputs"]
    if not isinstance(outs, dict) or len(outs) > MAX_OUTPUTS:
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


def parse_result(
    frame: bytes, job: Job, *, max_bytes: int
) -> tuple[str, str, bool, dict[str, tuple[CallRecord, ...]]]:
    """(status "ok"/"load_error"/"output_limit", message, memory flag, cases), or raise
    ResultError."""
    try:
        meta, arrays = wire.decode_frame(frame, max_bytes=max_bytes)
    except wire.WireError as exc:
        raise ResultError(str(exc)) from None
    if not isinstance(meta, dict) or set(meta) != _RESULT_KEYS:
        raise ResultError("result: bad keys")
    status, message, memory = meta["status"], _text(meta["message"], "message"), meta["memory"]
    if status not in ("ok", "load_error", "output_limit") or not isinstance(memory, bool):
        raise ResultError("result: bad status")
    got = meta["cases"]
    if not isinstance(got, dict):
        raise ResultError("result: bad cases")
    if status in ("load_error", "output_limit"):
        if got:
            raise ResultError(f"result: a {status.replace('_', ' ')} has no cases")
        return status, message, memory, {}
    if set(got) != {c.case_id for c in job.cases}:
        raise ResultError("result: case ids differ from the job")
    cases: dict[str, tuple[CallRecord, ...]] = {}
    for case in job.cases:
        calls = got[case.case_id]
        prog = case.program.calls
        if not isinstance(calls, list) or len(calls) != len(prog):
            raise ResultError("result: call count differs from the program")
        cases[case.case_id] = tuple(
            _call(x, c.function, c.outputs, arrays) for x, c in zip(calls, prog, strict=True)
        )
    return status, message, memory, cases
