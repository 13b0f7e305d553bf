"""What the sandboxed child does with one job: run the student's source, then each case's program.

Job meta (from the grader): `{"source": str, "programs": [program, ...] (each a program's plain
JSON form, once however many cases share it), "cases": [{"id", "program" (its index),
"device", "inputs": {name: array index}}]}`. The child answers with a stream of frames (`emit`):
one per case as soon as it has run, in the job's order, `{"case": id, "calls": [call, ...]}`,
then one final frame `{"status": "ok" | "load_error" | "output_limit", "message": str,
"memory": bool}`. A call is `{"function", "error", "skipped", "mutated", "aliased", "outputs":
{name: value}}` and a value is `{"kind": "tensor" | "float" | "other", "dtype", "device",
"shape", "value": array index | None, "type_name"}`. Because each case is sent when it is done,
the grader keeps the cases that finished when a later one hangs or crashes. The grader parses
all of it strictly and within bounds it derives from the job (`records.py`); nothing here is
trusted.

Arrays go back as `wire.Raw` entries, each value's bytes taken once from the tensor.

Imports only the standard library and numpy at the top (the grader reads this module's bounds
before it imports torch); torch is handed in where a job runs. Loaded by path inside the
sandbox.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    import torch

MAX_MESSAGE = 500
MAX_NAME = 200
#: entries of a returned dict sent back per output: as many as the call's largest dict argument
#: (the 4.5 functions map layers to tensors), and at least this many (a dict of diagnostics);
#: the grader allows exactly this many (`dict_entries`, shared with records.py)
MIN_DICT_ENTRIES = 16
#: torch dtypes whose values the wire carries, by the names both sides use (bfloat16 goes as
#: float32); other tensors (complex, unsigned wider than 8 bits, ...) are described without one
WIRE_DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "float16",
    "float32",
    "float64",
)


def _short(exc: BaseException) -> str:
    try:
        text = str(exc)[:MAX_MESSAGE]
    except Exception:  # noqa: BLE001 - a student exception whose __str__ raises
        text = "(unprintable)"
    return f"{type(exc).__name__[:MAX_NAME]}: {text}"[:MAX_MESSAGE]


def dict_entries(call: Any) -> int:
    """How many entries of a returned dict go back per output of `call` (a program Call)."""
    sizes = [len(a.items) for a in call.args if isinstance(getattr(a, "items", None), tuple)]
    sizes += [len(v.items) for _, v in call.kwargs if isinstance(getattr(v, "items", None), tuple)]
    return max([MIN_DICT_ENTRIES, *sizes])


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


def _tensor(torch: Any, arr: np.ndarray, device: str) -> torch.Tensor:
    if device == "meta":
        dtype = _META_DTYPES.get(arr.dtype)
        if dtype is None:
            dtype = _META_DTYPES[arr.dtype] = torch.from_numpy(arr[:0].copy()).dtype
        return torch.empty(arr.shape, dtype=dtype, device="meta")
    t = torch.from_numpy(np.array(arr, copy=True))
    return t if device == "cpu" else t.to(device)


_NAMES: dict[Any, str] = {}
_META_DTYPES: dict[np.dtype, Any] = {}  # numpy dtype -> the torch dtype from_numpy gives it
_DEVICE_NAMES: dict[Any, str] = {}  # torch device -> str(device)


def _wire_names(torch: Any) -> dict[Any, str]:
    """torch dtype -> its wire name, for the dtypes the wire carries (made once)."""
    if not _NAMES:
        _NAMES.update({getattr(torch, n): n for n in WIRE_DTYPES})
    return _NAMES


class _Encoder:
    """Describes a case's returned values; keeps each value's bytes (`wire.Raw`) for the frame,
    within what is left of the result cap."""

    def __init__(self, torch: Any, cap_bytes: int) -> None:
        self.torch = torch
        self.names = _wire_names(torch)
        self.raws: list[tuple[str, list[int], bytes]] = []
        self.left = cap_bytes

    def raw(self, name: str, shape: list[int], data: bytes) -> int:
        self.left -= len(data)
        if self.left < 0:
            raise OutputTooLarge
        self.raws.append((name, shape, data))
        return len(self.raws) - 1

    def value(self, v: Any) -> dict[str, Any]:
        if isinstance(v, self.torch.Tensor):
            return self.tensor(v)
        number = isinstance(v, int | float | np.integer | np.floating)
        if number and not isinstance(v, bool | np.bool_):  # numpy scalars are numbers too
            data = np.array(float(v), dtype="<f8").tobytes()
            return {"kind": "float", "value": self.raw("float64", [], data)}
        return {"kind": "other", "type_name": type(v).__name__[:MAX_NAME]}

    def tensor(self, t: torch.Tensor) -> dict[str, Any]:
        device = t.device
        name = _DEVICE_NAMES.get(device)
        if name is None:
            name = _DEVICE_NAMES[device] = str(device)
        out: dict[str, Any] = {
            "kind": "tensor",
            "dtype": str(t.dtype).removeprefix("torch."),
            "device": name,
            "shape": [int(d) for d in t.shape],
            "value": None,
        }
        if device.type != "meta":
            cpu = t if device.type == "cpu" else t.detach().to("cpu")
            if cpu.requires_grad:
                cpu = cpu.detach()
            if cpu.dtype == self.torch.bfloat16:
                cpu = cpu.float()
            wire_name = self.names.get(cpu.dtype)  # (never a complex dtype: no conjugate bit)
            if wire_name is not None:
                arr = cpu.numpy()
                if arr.dtype.byteorder == ">":  # never on the platforms torch runs on
                    arr = arr.astype(arr.dtype.newbyteorder("<"))
                out["value"] = self.raw(wire_name, list(arr.shape), arr.tobytes(order="C"))
        return out

    def outcome(self, o: Any, call: Any, entries: int) -> dict[str, Any]:
        """One call's record: its declared outputs, and up to `entries` (`dict_entries` per
        output) entries of each returned dict (names of at most MAX_NAME characters), as the
        grader allows."""
        outputs: dict[str, Any] = {}
        for k, v in o.values.items():
            name = str(k)
            if name not in call.outputs:
                if entries <= 0 or len(name) > MAX_NAME:
                    continue
                entries -= 1
            outputs[name] = self.safe_value(v)
        return {
            "function": str(o.function),
            "error": None if o.error is None else str(o.error)[:MAX_MESSAGE],
            "skipped": bool(o.skipped),
            "mutated": [str(m)[:MAX_NAME] for m in o.mutated],
            "aliased": [str(a)[:MAX_NAME] for a in o.aliased],
            "outputs": outputs,
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
    program: Any,
    meta: dict[str, Any],
    arrays: list[np.ndarray],
    *,
    emit: Callable[[dict[str, Any], list[tuple[str, list[int], bytes]]], None],
    cap_bytes: int = 1 << 62,
) -> None:
    """Run one job, emitting a frame per case and the final frame (see the module docstring).

    A MemoryError stops the job (later cases are not run: a submission exhausting memory
    would otherwise redo it case after case); a result above `cap_bytes` is not encoded.
    """
    import torch

    namespace, error = load_source(meta["source"])
    if namespace is None:
        memory = error.startswith("MemoryError")
        emit({"status": "load_error", "message": error, "memory": memory}, [])
        return
    functions = {k: v for k, v in namespace.items() if callable(v) and not k.startswith("__")}
    programs = [program.Program.from_obj(p) for p in meta["programs"]]
    entries = [[dict_entries(c) * len(c.outputs) for c in p.calls] for p in programs]
    left = cap_bytes
    for case in meta["cases"]:
        prog, allowed = programs[case["program"]], entries[case["program"]]
        enc = _Encoder(torch, left)
        try:
            device = case["device"]
            tensors = {n: _tensor(torch, arrays[i], device) for n, i in case["inputs"].items()}
            outcomes = program.execute(prog, tensors, functions)
            calls = [enc.outcome(*x) for x in zip(outcomes, prog.calls, allowed, strict=True)]
        except OutputTooLarge:
            message = f"the result is larger than the {cap_bytes >> 20} MB cap"
            emit({"status": "output_limit", "message": message, "memory": False}, [])
            return
        except BaseException as exc:  # noqa: BLE001 - e.g. KeyboardInterrupt raised by student
            err = _short(exc)
            calls = [_failed(c.function, err) for c in prog.calls]
            enc = _Encoder(torch, left)  # arrays of a half-encoded case are not sent
        left = enc.left
        emit({"case": str(case["id"]), "calls": calls}, enc.raws)
        if any((c["error"] or "").startswith("MemoryError") for c in calls):
            emit({"status": "ok", "message": "", "memory": True}, [])
            return
    emit({"status": "ok", "message": "", "memory": False}, [])


def _failed(function: str, error: str) -> dict[str, Any]:
    return {
        "function": function,
        "error": error,
        "skipped": False,
        "mutated": [],
        "aliased": [],
        "outputs": {},
    }


# ---- integrity policy: no torch.optim in graded functions ----

OPTIM_POLICY = (
    "this exercise asks you to write the step; `torch.optim` is not available while grading"
)


class TorchOptimNotAvailable(RuntimeError):
    """Raised wherever graded code touches torch.optim (its name shows in the verdict)."""


class _Forbidden:
    """Stands for anything of torch.optim: calling it, reading it, subclassing it or using it
    in isinstance raises TorchOptimNotAvailable naming what was used."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TorchOptimNotAvailable(
            f"{OPTIM_POLICY} (used: {object.__getattribute__(self, '_what')})"
        )

    __call__ = _refuse
    __instancecheck__ = _refuse
    __subclasscheck__ = _refuse
    __mro_entries__ = _refuse
    __iter__ = _refuse
    __setattr__ = _refuse

    def __getattr__(self, name: str) -> NoReturn:
        self._refuse()

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_what')}: not available while grading>"


class _Stub(types.ModuleType):
    """What `torch.optim` and its submodules are in the child: every attribute is forbidden."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Forbidden(f"{self.__name__}.{name}")


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _stub(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _StubFinder:
    """Answers every import of torch.optim or below with a stub (never the real files)."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
        if name == "torch.optim" or name.startswith("torch.optim."):
            return importlib.machinery.ModuleSpec(name, _StubLoader(), is_package=True)
        return None


def _stub(name: str) -> types.ModuleType:
    mod = _Stub(name)
    mod.__path__ = []  # a package: `import torch.optim.adam` reaches the finder, not the disk
    mod.__spec__ = importlib.machinery.ModuleSpec(name, _StubLoader(), is_package=True)
    return mod


def forbid_torch_optim() -> None:
    """Make torch.optim unusable in this process: `torch.optim`, `sys.modules` and every import
    give stubs; the real modules' globals are replaced, so their classes and functions, if
    found some other way (gc, subclasses of a base), raise when used; their files cannot be
    opened (an audit hook, which cannot be removed), nor their code or globals read."""
    import torch

    real = sys.modules.get("torch.optim")
    folder = os.path.realpath(os.path.dirname(real.__file__ or "")) if real else None
    for name in [n for n in sys.modules if n == "torch.optim" or n.startswith("torch.optim.")]:
        mod = sys.modules.pop(name)
        names = vars(mod)
        for key in [k for k in names if not (k.startswith("__") and k.endswith("__"))]:
            names[key] = _Forbidden(f"{name}.{key}")
    stub = _stub("torch.optim")
    sys.modules["torch.optim"] = stub
    torch.optim = stub
    sys.meta_path.insert(0, _StubFinder())

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and folder and isinstance(args[0], str | bytes):
            path = os.fsdecode(args[0])
            resolved = os.path.realpath(path)
            if resolved == folder or resolved.startswith(folder + os.sep):
                raise TorchOptimNotAvailable(f"{OPTIM_POLICY} (opened: {path[:200]})")
        elif event == "object.__getattr__" and args[1] in ("__code__", "__globals__"):
            module = getattr(args[0], "__module__", None)
            if isinstance(module, str) and module.startswith("torch.optim"):
                raise TorchOptimNotAvailable(f"{OPTIM_POLICY} (read: {args[1]})")

    sys.addaudithook(audit)
