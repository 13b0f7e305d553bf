"""`Sandbox`: a pool of warm, isolated workers that run untrusted submissions one job at a time.

    with Sandbox(workers=2, min_level="L1") as sb:
        result = sb.run(Job(source, cases))     # thread-safe, blocking; never raises for the
                                                # student: every outcome is a RunStatus

    sb = Sandbox(workers=1, wait=False)         # the workers start (import torch) meanwhile:
    ...                                         # the grader's own start-up overlaps theirs
    sb.wait_ready()                             # raises SandboxError as the constructor would

Each `run` takes a free slot, sends the job, and turns what came back into a `JobResult`. Only
strictly parsed result frames yield cases; a timeout, crash, oversize or malformed result is a
status (with the cases that finished before a timeout, crash or memory kill), and the slot's
worker is recycled when its state could be affected.
"""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
import signal
import stat
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
from course.cases import program
from course.cases.program import Call, Program, Ref

_HERE = Path(__file__).resolve().parent
_BOOT_FILES = {
    "_alr_sandbox_wire.py": _HERE / "wire.py",
    "_alr_sandbox_program.py": Path(program.__file__).resolve(),
    "_alr_sandbox_child.py": _HERE / "child.py",
    "_alr_sandbox_isolate.py": _HERE / "isolate.py",
    "_alr_sandbox_worker.py": _HERE / "worker.py",
}
_UID_BASE = 1_800_000_000
_UID_BLOCK = 256  # slots per sandbox at most
_UID_BLOCKS = 4096
DEFAULT_LIMITS = Limits()


def _lock_dir() -> Path:
    """A folder only this user can write, for the locks of slot user id blocks."""
    run = Path("/run")
    base = run if run.is_dir() and os.access(run, os.W_OK) else Path(tempfile.gettempdir())
    folder = base / "alr-sandbox-uids"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise SandboxError(f"{folder}: expected a folder of this user's, mode 0700")
    return folder


def claim_uids(workers: int) -> tuple[int, int]:
    """A block of slot user ids that no other live sandbox on this machine holds: (its first
    id, the descriptor holding its lock). The lock is an flock on that descriptor: it goes when
    the sandbox closes it, or when this process dies, whatever way it dies."""
    if workers > _UID_BLOCK:
        raise SandboxError(f"workers: at most {_UID_BLOCK} per sandbox, got {workers}")
    folder = _lock_dir()
    start = os.getpid() % _UID_BLOCKS
    for i in range(_UID_BLOCKS):
        block = (start + i) % _UID_BLOCKS
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(folder / f"block-{block}.lock", flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return _UID_BASE + block * _UID_BLOCK, fd
    raise SandboxError(f"every block of slot user ids is held by a running grader ({folder})")


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
        wait: bool = True,
    ) -> None:
        """Start `workers` slots; with `wait` (the default) return once every worker is ready
        (and, for `cuda`, has run a CUDA probe), else at once: call `wait_ready` before
        relying on them."""
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
        # a user id per slot whenever root can start bubblewrap, even without cgroups: it is
        # what makes RLIMIT_NPROC bind (root ignores it), so a fork bomb stays bounded; the
        # ids are unique among the sandboxes running at once (two batches, two graders)
        own_uid = bool(caps.bwrap and caps.root)
        self._uid_lock: int | None = None
        base = 0
        if own_uid:
            base, self._uid_lock = claim_uids(workers)
        self._host_dir = tempfile.mkdtemp(prefix="alr-sandbox-")
        l2 = self.level.startswith("L2")
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
        self._slots: list[Slot] = []
        self._free: queue.Queue[Slot] = queue.Queue()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alr-sandbox-spawn")
        try:
            for i in range(workers):
                uid = base + i if own_uid else None
                gpu = gpus[i % len(gpus)] if gpus else None
                self._slots.append(Slot(i, config, uid, self._spawner, gpu=gpu))
            for slot in self._slots:
                slot.spawn()
        except BaseException:
            self.close()
            raise
        self._cuda = cuda
        self._ready = False
        if wait:
            self.wait_ready()
        for slot in self._slots:
            self._free.put(slot)

    def wait_ready(self) -> None:
        """Wait until every worker is ready (and CUDA works in each, for a CUDA sandbox); on a
        failure the sandbox is closed and the SandboxError raised."""
        if self._ready:
            return
        try:
            self._each_slot(Slot.await_ready)
            if self._cuda:
                self._check_cuda()
        except BaseException:
            self.close()
            raise
        self._ready = True

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
            res = interpret(slot.run(frame), job, self.limits, self.level, None)
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
        if self._uid_lock is not None:  # only now: no process of these user ids is left
            os.close(self._uid_lock)
            self._uid_lock = None

    @property
    def worker_starts(self) -> int:
        """How many worker processes were started so far (recycling included)."""
        return sum(s.starts for s in self._slots)

    def run(self, job: Job) -> JobResult:
        """Run one submission's job in a free slot (blocks until one is free)."""
        frame = records.encode_job(job)
        slot = self._free.get()
        try:
            raw = slot.run(frame, job.timeout_s)
        finally:
            self._free.put(slot)
        return interpret(raw, job, self.limits, self.level, job.timeout_s)


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


def _failure(raw: RawRun, limits: Limits, limit: float) -> tuple[RunStatus, str]:
    """Status and message when no final result frame came back."""
    if raw.timed_out:
        if limit < limits.timeout_s:
            return RunStatus.TIMEOUT, (
                f"stopped when the submission's time limit ran out "
                f"({limits.timeout_s:g} s for all its functions together)"
            )
        return RunStatus.TIMEOUT, f"stopped after the {limit:g} s time limit"
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


def interpret(
    raw: RawRun, job: Job, limits: Limits, level: str, timeout_s: float | None
) -> JobResult:
    """Turn what the grader observed into a JobResult (strict, bounded parse of the stream)."""
    limit = limits.timeout_s if timeout_s is None else min(timeout_s, limits.timeout_s)
    base: dict[str, Any] = {
        "duration_s": raw.duration_s,
        "sandbox_level": level,
        "time_limit_s": limit,
    }
    parsed, problem = records.ParsedResult(None), ""
    if raw.data is not None:
        try:
            parsed = records.parse_result(raw.data, job, max_bytes=limits.output_mb << 20)
        except records.ResultError as exc:
            problem = str(exc)[:200]
    stopped = raw.timed_out or raw.oversize or raw.oom
    if problem and not stopped:
        message = f"the submission's result was malformed ({problem})"
        return JobResult(status=RunStatus.PROTOCOL_ERROR, message=message, **base)
    if stopped or parsed.status is None:
        status, message = _failure(raw, limits, limit)
        cases = {} if problem else parsed.cases
        return JobResult(status=status, message=message, cases=cases, **base)
    if parsed.status == "output_limit":
        return JobResult(RunStatus.OUTPUT_LIMIT, parsed.message, parsed.cases, **base)
    if parsed.status == "load_error":
        status = RunStatus.MEMORY if parsed.memory else RunStatus.LOAD_ERROR
        return JobResult(status=status, message=parsed.message, **base)
    status = RunStatus.MEMORY if parsed.memory else RunStatus.OK
    message = "the submission ran out of memory in a call" if parsed.memory else ""
    return JobResult(status=status, message=message, cases=parsed.cases, **base)
