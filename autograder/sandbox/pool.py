"""`Sandbox`: a pool of warm, isolated workers that run untrusted submissions one job at a time.

    with Sandbox(workers=2, min_level="L1") as sb:
        result = sb.run(Job(source, cases))     # thread-safe, blocking; never raises for the
                                                # student: every outcome is a RunStatus

Each `run` takes a free slot, sends the job, and turns what came back into a `JobResult`. Only a
complete, strictly parsed result frame yields cases; a timeout, crash, oversize or malformed
result is a status, and the slot's worker is recycled when its state could be affected.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from alr.errors import SandboxError
from autograder.sandbox import cgroups, layers, records
from autograder.sandbox.limits import Limits
from autograder.sandbox.protocol import CaseRun, Job, JobResult, RunStatus
from autograder.sandbox.slot import RawRun, Slot, SlotConfig
from course.cases.program import Call, Program, Ref

_HERE = Path(__file__).resolve().parent
_BOOT_FILES = {
    "_alr_sandbox_wire.py": _HERE / "wire.py",
    "_alr_sandbox_program.py": _HERE.parent.parent / "course" / "cases" / "program.py",
    "_alr_sandbox_child.py": _HERE / "child.py",
    "_alr_sandbox_worker.py": _HERE / "worker.py",
}
_UID_BASE = 1_800_000_000
DEFAULT_LIMITS = Limits()


def _boot_dir(host_dir: str) -> str:
    boot = Path(host_dir) / "boot"
    boot.mkdir(mode=0o755)
    for name, src in _BOOT_FILES.items():
        shutil.copyfile(src, boot / name)
        (boot / name).chmod(0o644)
    boot.chmod(0o755)
    return str(boot)


class Sandbox:
    """Warm sandboxed workers; see the module docstring."""

    def __init__(
        self,
        *,
        workers: int,
        limits: Limits = DEFAULT_LIMITS,
        min_level: str = "L0",
        cuda: bool = False,
    ) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise SandboxError(f"workers: expected a positive integer, got {workers!r}")
        layers.parse_level(min_level)
        caps = layers.detect()
        self.level = caps.level
        if not layers.meets(self.level, min_level):
            raise SandboxError(
                f"this machine gives sandbox level {self.level}, below the required {min_level}: "
                "install bubblewrap for L1 (apt-get install bubblewrap), run as root with "
                "writable cgroups for L2, pip install pyseccomp for +seccomp"
            )
        self.limits = limits
        self._host_dir = tempfile.mkdtemp(prefix="alr-sandbox-")
        l2 = self.level.startswith("L2")
        # a user id per slot whenever root can start bubblewrap, even without cgroups: it is
        # what makes RLIMIT_NPROC bind (root ignores it), so a fork bomb stays bounded
        own_uid = bool(caps.bwrap and caps.root)
        config = SlotConfig(
            limits=limits,
            bwrap=caps.bwrap,
            setuid=own_uid,
            cgroups=l2,
            seccomp=caps.seccomp,
            cuda=cuda,
            boot_dir=_boot_dir(self._host_dir),
            host_dir=self._host_dir,
        )
        gpus = cuda_devices() if cuda else []
        if l2:
            cgroups.sweep_stale()
        base = _UID_BASE + (os.getpid() % 100_000) * 64
        self._slots: list[Slot] = []
        self._free: queue.Queue[Slot] = queue.Queue()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alr-sandbox-spawn")
        try:
            for i in range(workers):
                uid = base + i if own_uid else None
                gpu = gpus[i % len(gpus)] if gpus else None
                self._slots.append(Slot(i, config, uid, self._spawner, gpu=gpu))
            self._start_all()
            if cuda:
                self._check_cuda()
        except BaseException:
            self.close()
            raise
        for slot in self._slots:
            self._free.put(slot)

    def _start_all(self) -> None:
        self._each_slot(Slot.start)

    def _each_slot(self, fn: Callable[[Slot], None]) -> None:
        """fn(slot) for every slot at once; the first exception raised is re-raised here."""
        errors: list[BaseException] = []

        def one(slot: Slot) -> None:
            try:
                fn(slot)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(s,)) for s in self._slots]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def _check_cuda(self) -> None:
        """Run one tiny CUDA job in every slot; a slot where CUDA does not work is the grader's
        problem, not the students': refuse to start rather than fail every CUDA case."""
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        job = Job(_PROBE_SOURCE, (CaseRun("probe", _PROBE, {"x": x}, "cuda"),))
        frame = records.encode_job(job)
        problems: list[str] = []

        def check(slot: Slot) -> None:
            res = interpret(slot.run(frame), job, self.limits, self.level)
            problem = _probe_problem(res, x)
            if problem:
                problems.append(f"slot {slot.index} (CUDA device {slot.gpu}): {problem}")

        self._each_slot(check)
        if problems:
            raise SandboxError(
                "CUDA does not work inside the sandbox: "
                + "; ".join(sorted(problems))
                + ". Check that the driver's device files (/dev/nvidia*) exist and that its "
                "library (libcuda.so.1) is in ld.so.cache or on LD_LIBRARY_PATH; or grade with "
                "--device cpu"
            )

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every worker tree, remove the slots' cgroups and the grader-side scratch."""
        for slot in self._slots:
            slot.close()
        self._spawner.shutdown(wait=True)
        shutil.rmtree(self._host_dir, ignore_errors=True)

    @property
    def worker_starts(self) -> int:
        """How many worker processes were started so far (recycling included)."""
        return sum(s.starts for s in self._slots)

    def run(self, job: Job) -> JobResult:
        """Run one submission's job in a free slot (blocks until one is free)."""
        frame = records.encode_job(job)
        slot = self._free.get()
        try:
            raw = slot.run(frame)
        finally:
            self._free.put(slot)
        return interpret(raw, job, self.limits, self.level)


_PROBE_SOURCE = "def alr_cuda_probe(x):\n    return x * 2\n"
_PROBE = Program((Call("alr_cuda_probe", (Ref("x"),), outputs=("out",)),))


def _probe_problem(res: JobResult, x: np.ndarray) -> str:
    """What is wrong with the CUDA probe's result ("" when it ran on a GPU and doubled x)."""
    if res.status is not RunStatus.OK:
        return f"{res.status.value}: {res.message}"
    rec = res.cases["probe"][0]
    if rec.error:
        return rec.error
    out = rec.outputs.get("out")
    if out is None or not out.device.startswith("cuda"):
        return f"the result came back on {out.device if out else 'no device'}, not CUDA"
    if out.value is None or not np.array_equal(out.value, 2 * x):
        return "the result came back with wrong values"
    return ""


def cuda_devices() -> list[str]:
    """The CUDA devices slots are spread over: CUDA_VISIBLE_DEVICES's entries when it is set
    (up to the first invalid one, as CUDA reads it), else every device torch counts."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids: list[str] = []
        for entry in env.split(","):
            entry = entry.strip()
            if not entry or entry.startswith("-"):
                break
            ids.append(entry)
    else:
        import torch

        ids = [str(i) for i in range(torch.cuda.device_count())]
    if not ids:
        raise SandboxError(
            f"a CUDA sandbox was asked for, but no CUDA device is visible "
            f"(CUDA_VISIBLE_DEVICES={env!r}): grade with --device cpu"
        )
    return ids


def _signal_name(sig: Any) -> str:
    try:
        return signal.Signals(sig).name
    except (ValueError, TypeError):
        return f"signal {sig}"


def _failure(raw: RawRun, limits: Limits) -> tuple[RunStatus, str]:
    """Status and message when no usable result frame came back."""
    if raw.timed_out:
        return RunStatus.TIMEOUT, f"stopped after the {limits.timeout_s:g} s time limit"
    if raw.oversize:
        return RunStatus.OUTPUT_LIMIT, f"the result exceeded the {limits.output_mb} MB cap"
    if raw.oom:
        return RunStatus.MEMORY, "the submission's processes exceeded the memory limit"
    report = raw.report if isinstance(raw.report, dict) else {}
    sig, code = report.get("signal"), report.get("exit")
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and _cpu(report) >= limits.cpu_s):
        return RunStatus.TIMEOUT, f"stopped after the {limits.cpu_s} s CPU time limit"
    if raw.worker_died:
        return RunStatus.CRASHED, "the sandbox process was killed while running the submission"
    how = f"killed by {_signal_name(sig)}" if sig is not None else f"exit code {code}"
    return RunStatus.CRASHED, f"the submission's process ended without a result ({how})"


def _cpu(report: dict[str, Any]) -> float:
    cpu = report.get("cpu_s")
    return float(cpu) if isinstance(cpu, int | float) else 0.0


def interpret(raw: RawRun, job: Job, limits: Limits, level: str) -> JobResult:
    """Turn what the grader observed into a JobResult (strict parse of the result frame)."""
    base: dict[str, Any] = {"duration_s": raw.duration_s, "sandbox_level": level}
    if raw.frame is None or raw.timed_out or raw.oversize or raw.oom:
        status, message = _failure(raw, limits)
        return JobResult(status=status, message=message, **base)
    try:
        kind, message, memory, cases = records.parse_result(
            raw.frame, job, max_bytes=limits.output_mb << 20
        )
    except records.ResultError as exc:
        return JobResult(
            status=RunStatus.PROTOCOL_ERROR,
            message=f"the submission's result was malformed ({str(exc)[:200]})",
            **base,
        )
    if kind == "output_limit":
        return JobResult(status=RunStatus.OUTPUT_LIMIT, message=message, **base)
    if kind == "load_error":
        status = RunStatus.MEMORY if memory else RunStatus.LOAD_ERROR
        return JobResult(status=status, message=message, **base)
    status = RunStatus.MEMORY if memory else RunStatus.OK
    message = "the submission ran out of memory in a call" if memory else ""
    return JobResult(status=status, message=message, cases=cases, **base)
