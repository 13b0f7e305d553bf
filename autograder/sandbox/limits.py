"""Resource limits of one sandboxed run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. `timeout_s` is wall clock and mandatory (RLIMIT_CPU ignores sleep).

    memory_mb: address space of the child (torch alone needs about 768 MiB; keep >= 2048).
    cpu_s: CPU seconds of the child. output_mb: cap on the child's result stream, which the
    grader holds in memory while it parses it (every function of the course, all cases
    together, honestly needs under 1 MB). file_mb: largest file the child may write.
    tmpfs_mb: size of the sandbox's /tmp and /dev/shm (L1+). nofile: open descriptors.
    pids: processes per slot (cgroup pids.max at L2, RLIMIT_NPROC for a non-root slot user).
    slot_memory_mb: cgroup memory of a whole slot, warm worker included (L2).

    In a CUDA sandbox the child's address space is not limited: the CUDA driver reserves tens
    of GiB of virtual addresses when it starts, and fails under RLIMIT_AS. The child starts CUDA
    first and then limits its data segment (RLIMIT_DATA: private writable memory, which the
    driver's reservations are not) to what it uses then plus `memory_mb`; the slot's cgroup
    (L2) bounds it too. `cuda_slot_memory_mb` replaces `slot_memory_mb` (a CUDA context and its
    libraries need more), `cuda_nofile` replaces `nofile` (the driver opens descriptors per
    device), and `gpu_memory_mb` caps torch's allocator in each child (against careless
    allocations: the submission's own code could lift it).
    """

    timeout_s: float = 20.0
    memory_mb: int = 2048
    cpu_s: int = 30
    output_mb: int = 8
    file_mb: int = 16
    tmpfs_mb: int = 64
    nofile: int = 64
    pids: int = 64
    slot_memory_mb: int = 3072
    cuda_slot_memory_mb: int = 8192
    cuda_nofile: int = 1024
    gpu_memory_mb: int = 4096
    #: the integrity policy: may graded functions use `torch.optim`? (off: each exercise asks
    #: the student to write the step; the child then cannot import or reach it)
    allow_torch_optim: bool = False

    def __post_init__(self) -> None:
        from alr.errors import SandboxError

        if not isinstance(self.allow_torch_optim, bool):
            raise SandboxError(
                f"sandbox limit allow_torch_optim: expected true or false, "
                f"got {self.allow_torch_optim!r}"
            )
        for name, value in asdict(self).items():
            if name == "allow_torch_optim":
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise SandboxError(
                    f"sandbox limit {name}: expected a positive number, got {value!r}"
                )
        if self.memory_mb < 1024:
            raise SandboxError(
                f"sandbox limit memory_mb: {self.memory_mb} is too small for torch (needs >= 1024)"
            )

    def for_child(self, *, cuda: bool = False) -> dict[str, Any]:
        """The limits the worker applies to each child (plain JSON); see the class docstring
        for what `cuda` changes."""
        return {
            "cuda": bool(cuda),
            "memory_mb": int(self.memory_mb),
            "gpu_memory_mb": int(self.gpu_memory_mb) if cuda else None,
            "cpu_s": int(self.cpu_s),
            "file_mb": int(self.file_mb),
            "nofile": int(self.cuda_nofile if cuda else self.nofile),
            "pids": int(self.pids),
            "output_mb": int(self.output_mb),
            "allow_torch_optim": self.allow_torch_optim,
        }

    def slot_memory(self, *, cuda: bool = False) -> int:
        """The cgroup memory of one slot, in MiB."""
        return int(self.cuda_slot_memory_mb if cuda else self.slot_memory_mb)
