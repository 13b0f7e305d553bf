"""What crosses the trust boundary between the grader (parent) and a sandboxed child.

Parent -> child: the filtered student source and, per case, a `Program` (plain JSON) with its
input arrays and device. Nothing else: no expected values, seeds, reference code or paths.
Child -> parent: per call, plain numbers and descriptive strings (`CallRecord`), parsed strictly
and size-capped by the parent. The parent never unpickles, evals or calls anything the child sent.

The records describe what the child *claims*; only values compared in the parent against the
parent's own references are evidence of a pass. `mutated`/`aliased` are diagnostics for honest
code (a hostile child could forge them, but can never forge a correct value it did not compute).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np

from course.cases.program import Program

Device = Literal["cpu", "cuda", "meta"]


@dataclass(frozen=True)
class CaseRun:
    """One case to run in the child: the program, its inputs as plain arrays, the device."""

    case_id: str
    program: Program
    inputs: dict[str, np.ndarray]
    device: Device = "cpu"


@dataclass(frozen=True)
class Job:
    """One submission's work for the sandbox. `timeout_s`: its wall-clock limit when less than
    the sandbox's own (what is left of the submission's time budget); None: the whole limit."""

    source: str  # the extracted, filtered student source (Python text)
    cases: tuple[CaseRun, ...]
    timeout_s: float | None = None


@dataclass(frozen=True)
class OutputValue:
    """One returned value as the child saw it.

    kind "tensor": dtype ("float32"), device ("cpu", "cuda:0", "meta"), shape, and value (the
    array; None on meta). kind "float": a Python int/float, value a 0-d float64 array.
    kind "other": anything else (None, list, numpy array, ...), described by type_name only.
    """

    kind: Literal["tensor", "float", "other"]
    dtype: str = ""
    device: str = ""
    shape: tuple[int, ...] = ()
    value: np.ndarray | None = None
    type_name: str = ""


@dataclass(frozen=True)
class CallRecord:
    """One call of a case's program (same order as Program.calls)."""

    function: str
    error: str | None = None  # "TypeError: ..." when it raised or returned the wrong structure
    skipped: bool = False  # an input it needed was missing (an earlier call failed)
    mutated: tuple[str, ...] = ()
    aliased: tuple[str, ...] = ()
    outputs: dict[str, OutputValue] = field(default_factory=dict)


class RunStatus(StrEnum):
    """How a job ended. Apart from OK, LOAD_ERROR and PROTOCOL_ERROR, `JobResult.cases` holds
    the cases that finished before the job was stopped (each case is sent when it is done)."""

    OK = "ok"  # the child ran every case and returned a well-formed result
    LOAD_ERROR = "load_error"  # the source raised while being executed (message says what)
    TIMEOUT = "timeout"  # wall-clock limit hit; the process tree was killed
    CRASHED = "crashed"  # the child died (signal, os._exit, segfault) without a result
    MEMORY = "memory"  # address-space / cgroup memory limit hit
    OUTPUT_LIMIT = "output_limit"  # the result exceeded the size cap
    PROTOCOL_ERROR = "protocol_error"  # the result was malformed or failed strict parsing


@dataclass(frozen=True)
class JobResult:
    status: RunStatus
    message: str = ""  # for the student: what happened, without internals
    cases: dict[str, tuple[CallRecord, ...]] = field(default_factory=dict)
    duration_s: float = 0.0
    sandbox_level: str = "L0"  # e.g. "L0", "L1", "L2", "L2+seccomp"
    time_limit_s: float = 0.0  # the wall-clock limit this job ran under
