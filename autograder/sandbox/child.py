"""What the sandboxed child does with one job: run the student's source, then each case's program.

Job meta (from the grader): `{"source": str, "cases": [{"id", "program" (JSON text), "device",
"inputs": {name: array index}}]}`. Result meta (to the grader): `{"status": "ok" | "load_error" |
"output_limit",
"message": str, "memory": bool, "cases": {id: [call, ...]}}` where a call is `{"function",
"error", "skipped", "mutated", "aliased", "outputs": {name: value}}` and a value is `{"kind":
"tensor" | "float" | "other", "dtype", "device", "shape", "value": array index | None,
"type_name"}`. The grader parses all of it strictly (`records.py`); nothing here is trusted.

Imports only the standard library, numpy and torch; loaded by path inside the sandbox.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import torch

MAX_MESSAGE = 500
MAX_NAME = 200
#: numpy type characters of the dtypes the wire carries (bool, int8/16/32/64, uint8, float16/32/64);
#: other tensors (complex, ...) are described without a value. (dtype.name is slow in numpy 2.)
WIRE_CHARS = frozenset("?bBhilqefd")


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:MAX_MESSAGE]}"


def load_source(source: str) -> tuple[dict[str, Any] | None, str]:
    """Execute the source as a fresh module named "submission"; (namespace, error message)."""
    mod = types.ModuleType("submission")
    mod.__file__ = "submission.py"
    sys.modules["submission"] = mod
    try:
        exec(compile(source, "submission.py", "exec"), mod.__dict__)
    except BaseException as exc:  # noqa: BLE001 - anything the student raises is data
        return None, _short(exc)
    return dict(vars(mod)), ""


def _tensor(arr: np.ndarray, device: str) -> torch.Tensor:
    if device == "meta":
        return torch.empty(arr.shape, dtype=torch.from_numpy(arr[:0].copy()).dtype, device="meta")
    t = torch.from_numpy(np.array(arr, copy=True))
    return t if device == "cpu" else t.to(device)


class _Encoder:
    def __init__(self, cap_bytes: int) -> None:
        self.arrays: list[np.ndarray] = []
        self.left = cap_bytes

    def array(self, a: np.ndarray) -> int:
        self.left -= a.nbytes
        if self.left < 0:
            raise OutputTooLarge
        self.arrays.append(a)
        return len(self.arrays) - 1

    def value(self, v: Any) -> dict[str, Any]:
        if isinstance(v, torch.Tensor):
            return self.tensor(v)
        number = isinstance(v, int | float | np.integer | np.floating)
        if number and not isinstance(v, bool | np.bool_):  # numpy scalars are numbers too
            return {"kind": "float", "value": self.array(np.array(float(v), dtype=np.float64))}
        return {"kind": "other", "type_name": type(v).__name__[:MAX_NAME]}

    def tensor(self, t: torch.Tensor) -> dict[str, Any]:
        dtype = str(t.dtype).removeprefix("torch.")
        out: dict[str, Any] = {
            "kind": "tensor",
            "dtype": dtype,
            "device": str(t.device),
            "shape": [int(d) for d in t.shape],
            "value": None,
        }
        if t.device.type != "meta":
            cpu = t.detach().to("cpu")
            if cpu.dtype == torch.bfloat16:
                cpu = cpu.float()
            arr = np.array(cpu.resolve_conj().numpy(), copy=True, order="C")
            if arr.dtype.char in WIRE_CHARS:
                out["value"] = self.array(arr)
        return out

    def outcome(self, o: Any) -> dict[str, Any]:
        return {
            "function": str(o.function),
            "error": o.error,
            "skipped": bool(o.skipped),
            "mutated": [str(m) for m in o.mutated],
            "aliased": [str(a) for a in o.aliased],
            "outputs": {str(k): self.safe_value(v) for k, v in o.values.items()},
        }

    def safe_value(self, v: Any) -> dict[str, Any]:
        try:
            return self.value(v)
        except OutputTooLarge:
            raise
        except Exception as exc:  # noqa: BLE001 - exotic student objects
            return {"kind": "other", "type_name": f"unencodable ({type(exc).__name__})"}


class OutputTooLarge(Exception):
    """The result would exceed the grader's cap: stop encoding, report output_limit."""


def run_job(
    program: Any, meta: dict[str, Any], arrays: list[np.ndarray], *, cap_bytes: int = 1 << 62
) -> tuple[Any, list]:
    """Run one job; return (result meta, arrays) ready for `wire.encode_frame`.

    A MemoryError stops the job (later cases are not run: a submission exhausting memory
    would otherwise redo it case after case); a result above `cap_bytes` is not encoded.
    """
    namespace, error = load_source(meta["source"])
    if namespace is None:
        memory = error.startswith("MemoryError")
        return {"status": "load_error", "message": error, "memory": memory, "cases": {}}, []
    functions = {k: v for k, v in namespace.items() if callable(v) and not k.startswith("__")}
    enc = _Encoder(cap_bytes)
    memory = False
    cases: dict[str, list[dict[str, Any]]] = {}
    for case in meta["cases"]:
        prog = program.Program.from_json(case["program"])
        if memory:
            cases[str(case["id"])] = [_failed(c.function, _NOT_RUN) for c in prog.calls]
            continue
        try:
            tensors = {n: _tensor(arrays[i], case["device"]) for n, i in case["inputs"].items()}
            outcomes = program.execute(prog, tensors, functions)
            calls = [enc.outcome(o) for o in outcomes]
        except OutputTooLarge:
            message = f"the result is larger than the {cap_bytes >> 20} MB cap"
            return {"status": "output_limit", "message": message, "memory": False, "cases": {}}, []
        except BaseException as exc:  # noqa: BLE001 - e.g. KeyboardInterrupt raised by student
            err = _short(exc)
            calls = [_failed(c.function, err) for c in prog.calls]
        memory = any((c["error"] or "").startswith("MemoryError") for c in calls)
        cases[str(case["id"])] = calls
    result = {"status": "ok", "message": "", "memory": memory, "cases": cases}
    return result, enc.arrays


_NOT_RUN = "MemoryError: not run (the memory limit was hit in an earlier case)"


def _failed(function: str, error: str) -> dict[str, Any]:
    return {
        "function": function,
        "error": error,
        "skipped": False,
        "mutated": [],
        "aliased": [],
        "outputs": {},
    }
