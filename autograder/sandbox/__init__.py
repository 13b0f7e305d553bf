"""Sandbox for untrusted student code: warm isolated workers, strict plain-data protocol.

    from autograder.sandbox import Job, CaseRun, Limits, Sandbox, detect_level

    with Sandbox(workers=2, limits=Limits(timeout_s=10), min_level="L1") as sb:
        result = sb.run(Job(source=student_source, cases=(CaseRun("c1", program, inputs),)))
        result.status, result.cases["c1"][0].outputs

Student code runs only in children forked from a warm worker inside the sandbox; the grader keeps
expected values, references, seeds and output paths to itself. Layers are detected at start-up
(`detect_level()`, reported in every JobResult and result file):

    L0         separate process per submission, rlimits (address space, or data segment once
               CUDA has started in a CUDA sandbox; CPU, file size, open
               files, core 0), wall-clock kill of the child's whole tree, clean environment,
               `python -I`, private scratch cwd, project packages unimportable
    L1         + bubblewrap: read-only view of only the interpreter and packages (never the
               checkout), no network, PID namespace, no capabilities; per child new user,
               mount and IPC namespaces with a new size-capped /tmp and /dev/shm and a new
               session keyring (nothing a child leaves reaches the next; where user namespaces
               are refused, the worker wipes instead); as root also a user id per slot
               (RLIMIT_NPROC), unique among the sandboxes running at once
    L2         + root with writable cgroups: per-slot memory, pids and CPU limits, cgroup.kill
    +seccomp   (pyseccomp + libseccomp) sockets of AF_UNIX only; io_uring, keyrings, bpf, perf
               events, userfaultfd, ptrace, process_vm_*, exec, mount, new namespaces denied

Every level: the child streams a result frame per case; the parent parses it within bounds
derived from the job, and, when `Limits.allow_torch_optim` is off (the default), torch.optim
cannot be reached in the child.

Modules: `pool` (Sandbox, slot user ids), `slot` (one warm worker and its job exchange), `worker`,
`child` and `isolate` (run inside the sandbox, loaded by path: the job loop, one job, fresh
namespaces / wipe / seccomp), `wire` (no-pickle framing), `records` (strict, bounded parse),
`layers` (detection, bubblewrap view), `cgroups`, `procs` (process trees), `limits`.
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
