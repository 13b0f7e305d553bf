"""How a CUDA sandbox is set up, checked on any machine: device assignment, the environment and
view the CUDA driver needs, limits that do not break it, and the start-up probe that refuses a
sandbox where CUDA does not work. (The GPU itself is exercised by the `cuda`-marked tests.)"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import numpy as np
import pytest
import torch

from alr.errors import SandboxError
from autograder.sandbox import JobResult, Limits, RunStatus, Sandbox, layers, pool, worker
from autograder.sandbox.protocol import CallRecord, Job, OutputValue
from tests.autograder.sandbox.conftest import LIMITS, ema_case, probe

NO_CUDA = pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA"
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [("0", ["0"]), ("1,0", ["1", "0"]), (" 2 , 3", ["2", "3"]), ("0,-1,2", ["0"])],
)
def test_slots_are_spread_over_the_visible_devices(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: list[str]
) -> None:
    """Does CUDA_VISIBLE_DEVICES give the devices in order, up to the first invalid entry?"""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    assert pool.cuda_devices() == expected


@pytest.mark.parametrize("env", ["", "-1", ",0"])
def test_no_visible_device_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    with pytest.raises(SandboxError, match="no CUDA device is visible.*--device cpu"):
        pool.cuda_devices()


@NO_CUDA
def test_a_machine_without_cuda_gets_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(SandboxError, match="no CUDA device is visible"):
        Sandbox(workers=1, limits=LIMITS, cuda=True)


def test_cuda_limits_raise_descriptors_and_cap_the_gpu() -> None:
    lim = Limits(memory_mb=2048, nofile=64, cuda_nofile=512, gpu_memory_mb=1024)
    cpu, gpu = lim.for_child(), lim.for_child(cuda=True)
    assert (cpu["cuda"], cpu["memory_mb"], cpu["nofile"], cpu["gpu_memory_mb"]) == (
        False,
        2048,
        64,
        None,
    )
    assert (gpu["cuda"], gpu["memory_mb"], gpu["nofile"], gpu["gpu_memory_mb"]) == (
        True,
        2048,
        512,
        1024,
    )
    assert lim.slot_memory(cuda=True) == lim.cuda_slot_memory_mb > lim.slot_memory()


@pytest.mark.parametrize("cuda", [False, True])
def test_the_child_applies_the_limits_it_is_given(cuda: bool) -> None:
    """In a forked process, does `_limit` set RLIMIT_AS only outside CUDA (a CUDA child limits
    its data segment once the driver has started), and the descriptors?"""
    cfg = {"limits": Limits(cuda_nofile=300).for_child(cuda=cuda)}
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the fork
        try:
            worker._limit(cfg)
            got = [resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(7)[0]]
            os.write(w, repr(got).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    address_space, nofile = eval(os.read(r, 100).decode())  # noqa: S307 - our own repr
    os.close(r)
    if cuda:
        assert address_space == resource.RLIM_INFINITY and nofile == 300
    else:
        assert address_space == Limits().memory_mb << 20 and nofile == Limits().nofile


def test_library_dirs_on_ld_library_path_are_shown_but_never_the_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Are driver folders on LD_LIBRARY_PATH bound read-only in a CUDA view (not in a CPU one),
    while relative entries, /usr, missing folders and the checkout are left out?"""
    drivers = str((tmp_path / "driver" / "lib64").resolve())
    Path(drivers).mkdir(parents=True)
    root = layers._project_root()
    entries = [drivers, "lib", "/usr/lib", "/nonexistent/alr", "/", "/tmp", str(root or "/usr")]
    monkeypatch.setenv("LD_LIBRARY_PATH", os.pathsep.join(entries))
    assert layers.cuda_library_dirs([]) == [drivers]
    view = layers.view_args(boot_dir=None, tmpfs_mb=16, cuda=True, setuid=False)
    at = view.index(drivers)
    assert view[at - 1 : at + 2] == ["--ro-bind", drivers, drivers]
    assert view.index("/tmp") < at  # after the /tmp tmpfs, which would hide it
    cpu_view = layers.view_args(boot_dir=None, tmpfs_mb=16, cuda=False, setuid=False)
    assert drivers not in cpu_view
    assert layers.cuda_env()["LD_LIBRARY_PATH"] == os.pathsep.join(entries)


def test_a_cuda_worker_sees_its_device_and_the_driver_environment_and_no_as_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside a CUDA sandbox's child (start-up probe skipped, as this machine may have no GPU):
    is CUDA_VISIBLE_DEVICES the slot's own device, is LD_LIBRARY_PATH passed, is the address
    space unlimited but the data segment limited, the descriptor limit the CUDA one, and is
    nothing else leaked? Does a submission allocating 6 GiB then run out of memory?"""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/lib/alr-test")
    monkeypatch.setenv("ALR_NOT_FOR_STUDENTS", "secret")
    monkeypatch.setattr(Sandbox, "_check_cuda", lambda self: None)
    with Sandbox(workers=2, limits=LIMITS, cuda=True) as sb:
        assert [s.gpu for s in sb._slots] == ["3", "5"]
        seen = probe(
            sb,
            """
            import os, resource
            result = repr([os.environ.get("CUDA_VISIBLE_DEVICES"),
                           os.environ.get("LD_LIBRARY_PATH"),
                           os.environ.get("ALR_NOT_FOR_STUDENTS"),
                           resource.getrlimit(resource.RLIMIT_AS)[0],
                           resource.getrlimit(resource.RLIMIT_DATA)[0],
                           resource.getrlimit(resource.RLIMIT_NOFILE)[0]])
            """,
        )
        bomb = "def ema(avg, x, beta):\n    return bytearray(6 << 30)\n"
        res = sb.run(Job(bomb, (ema_case(),)))
    device, libs, leaked, address_space, data, nofile = eval(seen)  # noqa: S307 - our own repr
    assert device in ("3", "5") and libs == "/usr/lib/alr-test" and leaked is None
    assert address_space == resource.RLIM_INFINITY and nofile == LIMITS.cuda_nofile
    assert LIMITS.memory_mb << 20 < data < (LIMITS.memory_mb + 2048) << 20
    assert res.status is RunStatus.MEMORY, (res.status, res.message)


@NO_CUDA
def test_a_sandbox_where_cuda_fails_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a device named but no working CUDA inside the sandbox (this CPU-only torch), does the
    start-up probe refuse with the child's own error instead of failing every student's case?"""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(SandboxError, match="CUDA does not work inside the sandbox") as info:
        Sandbox(workers=1, limits=LIMITS, cuda=True)
    assert "slot 0 (CUDA device 0)" in str(info.value)
    assert "CUDA" in str(info.value).split(":", 2)[2]  # the child's own message follows


def _probe_result(*, status=RunStatus.OK, error=None, device="cuda:0", value=None) -> JobResult:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = OutputValue("tensor", "float32", device, (2, 3), 2 * x if value is None else value)
    rec = CallRecord("alr_cuda_probe", error=error, outputs={} if error else {"out": out})
    return JobResult(status=status, message="boom", cases={"probe": (rec,)})


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (_probe_result(), ""),
        (_probe_result(status=RunStatus.CRASHED), "crashed: boom"),
        (_probe_result(error="RuntimeError: no driver"), "RuntimeError: no driver"),
        (_probe_result(device="cpu"), "came back on cpu"),
        (_probe_result(value=np.zeros((2, 3), np.float32)), "wrong values"),
    ],
)
def test_the_probe_accepts_only_doubled_values_on_a_gpu(result: JobResult, problem: str) -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = pool._probe_problem(result, x)
    assert (got == "") if not problem else (problem in got)
