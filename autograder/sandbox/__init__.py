"""Sandbox for untrusted student code: warm isolated workers, strict plain-data protocol.

    from autograder.sandbox import Job, CaseRun, Limits, Sandbox, detect_level

    with Sandbox(workers=2, limits=Limits(timeout_s=10), min_level="L1") as sb:
        result = sb.run(Job(source=student_source, cases=(CaseRun("c1", program, inputs),)))
        result.status, result.cases["c1"][0].outputs

Student code runs only in children forked from a warm worker inside the sandbox; the grader keeps
expected values, references, seeds and output paths to itself (see `pool`, `slot`, `layers`).
"""

from __future__ import annotations

from autograder.sandbox.layers import detect_level
from autograder.sandbox.limits import Limits
from autograder.sandbox.pool import Sandbox
from autograder.sandbox.protocol import (
    CallRecord,
    CaseRun,
    Job,
    JobResult,
    OutputValue,
    RunStatus,
)

__all__ = [
    "CallRecord",
    "CaseRun",
    "Job",
    "JobResult",
    "Limits",
    "OutputValue",
    "RunStatus",
    "Sandbox",
    "detect_level",
]
