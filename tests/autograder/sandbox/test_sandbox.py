"""The sandbox end to end with hand-built jobs: results, isolation, limits and recycling."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from alr.errors import SandboxError
from autograder.sandbox import (
    Limits,
    RunStatus,
    Sandbox,
    detect_level,
    layers,
)
from solutions import ema
from tests.autograder.sandbox.conftest import (
    EMA,
    LIMITS,
    SECRET_ENV,
    CaseRun,
    ema_case,
    probe,
    run,
    tree,
)

CORRECT = "def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n"
LEVEL = detect_level()
NAMESPACES = not LEVEL.startswith("L0")
needs_l1 = pytest.mark.skipif(not NAMESPACES, reason=f"needs bubblewrap (L1); here {LEVEL}")


def _expected(case: CaseRun) -> np.ndarray:
    avg, x = (torch.from_numpy(case.inputs[k]) for k in ("avg", "x"))
    return ema(avg, x, 0.9).numpy()


def test_a_correct_function_returns_the_same_bits_as_in_the_parent(sandbox: Sandbox) -> None:
    """Does a correct function give bit-identical float32 values, with dtype, device, shape?"""
    case = ema_case(seed=7)
    res = run(sandbox, CORRECT, case)
    assert res.status is RunStatus.OK and res.sandbox_level == LEVEL == sandbox.level
    out = res.cases["c1"][0].outputs["out"]
    assert (out.kind, out.dtype, out.device, out.shape) == ("tensor", "float32", "cpu", (3, 4))
    assert out.value is not None and out.value.tobytes() == _expected(case).tobytes()


def test_meta_tensors_report_shape_and_dtype_without_values(sandbox: Sandbox) -> None:
    """Does a case on the meta device come back as a meta tensor of the right shape, no value?"""
    out = run(sandbox, CORRECT, ema_case(device="meta")).cases["c1"][0].outputs["out"]
    assert (out.device, out.shape, out.dtype, out.value) == ("meta", (3, 4), "float32", None)


@pytest.mark.parametrize(
    ("source", "status", "message"),
    [
        ("def ema(:\n", RunStatus.LOAD_ERROR, "SyntaxError"),
        ("import sys\nclass X:\n    sys.exit(0)\n", RunStatus.LOAD_ERROR, "SystemExit"),
        ("import solutions\n", RunStatus.LOAD_ERROR, "No module named 'solutions'"),
        ("from autograder import grade\n", RunStatus.LOAD_ERROR, "No module named 'autograder'"),
        ("import os\nclass X:\n    os._exit(0)\n", RunStatus.CRASHED, "exit code 0"),
        (
            "import os, signal\ndef ema(a, x, b):\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
            RunStatus.CRASHED,
            "SIGSEGV",
        ),
        (
            "import os\ndef ema(a, x, b):\n    os.write(4, b'ALRW' + bytes(12) + b'junk')\n"
            "    os._exit(0)\n",
            RunStatus.PROTOCOL_ERROR,
            "malformed",
        ),
        (
            "import torch\ndef ema(a, x, b):\n    return torch.zeros(1_000_000)\n",
            RunStatus.OUTPUT_LIMIT,
            "cap",
        ),
        (
            "import os\ndef ema(a, x, b):\n    while True:\n        os.write(4, bytes(1 << 20))\n",
            RunStatus.OUTPUT_LIMIT,
            "cap",
        ),
        (
            "def ema(a, x, b):\n    return bytearray(3 << 30)\n",
            RunStatus.MEMORY,
            "memory",
        ),
    ],
)
def test_each_failure_becomes_a_status_not_an_exception(
    sandbox: Sandbox, source: str, status: RunStatus, message: str
) -> None:
    """Is each way of failing reported as its RunStatus with a message, and is the next job
    served normally?"""
    res = run(sandbox, source)
    assert res.status is status and message in res.message, res.message
    assert not res.cases or status is RunStatus.MEMORY  # a MemoryError in a call keeps records
    assert run(sandbox, CORRECT).status is RunStatus.OK


def test_cases_that_finished_before_a_crash_or_a_hang_keep_their_records(sandbox: Sandbox) -> None:
    """The child sends each case when it is done: when the second case crashes the child, or
    hangs until the time limit, does the first case still come back with its exact value?"""
    first, second = ema_case(seed=1, case_id="c1"), ema_case(seed=2, case_id="c2")
    for ending, status in (
        ("os._exit(3)", RunStatus.CRASHED),
        ("time.sleep(60)", RunStatus.TIMEOUT),
    ):
        source = (
            "import os, time\ncalls = []\ndef ema(avg, x, beta):\n    calls.append(1)\n"
            f"    if len(calls) > 1:\n        {ending}\n    return beta * avg + (1 - beta) * x\n"
        )
        res = run(sandbox, source, first, second)
        assert res.status is status and list(res.cases) == ["c1"], (res.status, res.message)
        value = res.cases["c1"][0].outputs["out"].value
        assert value is not None and value.tobytes() == _expected(first).tobytes()


@pytest.mark.parametrize("body", ["while True:\n    pass", "import time\ntime.sleep(60)"])
def test_time_limit_kills_busy_and_sleeping_code(sandbox: Sandbox, body: str) -> None:
    """Are a busy loop and a sleep (which RLIMIT_CPU ignores) stopped by the wall clock, with
    the worker recycled and the next job served?"""
    source = "def ema(a, x, b):\n" + "\n".join("    " + line for line in body.splitlines())
    t0 = time.monotonic()
    res = run(sandbox, source)
    assert res.status is RunStatus.TIMEOUT and "time limit" in res.message
    assert time.monotonic() - t0 < LIMITS.timeout_s + 10
    assert run(sandbox, CORRECT).status is RunStatus.OK


def test_call_errors_mutation_and_missing_functions_are_recorded(sandbox: Sandbox) -> None:
    """Are an in-place update, a raising call and an undefined function recorded per call?"""
    mutating = "def ema(avg, x, beta):\n    return avg.mul_(beta).add_(x, alpha=1 - beta)\n"
    rec = run(sandbox, mutating).cases["c1"][0]
    assert rec.mutated == ("avg",) and rec.aliased == ("out",)
    rec = run(sandbox, "def ema(a, x, b):\n    raise KeyError('nope')\n").cases["c1"][0]
    assert rec.error is not None and rec.error.startswith("KeyError")
    rec = run(sandbox, "def other():\n    pass\n").cases["c1"][0]
    assert rec.error == "NameError: ema is not defined"


def test_the_child_environment_argv_and_descriptors_hold_no_secrets(sandbox: Sandbox) -> None:
    """Does the child see a fixed minimal environment (not the grader's), only /dev/null, its
    result pipe and nothing else as descriptors, and no grader paths in its command line?"""
    seen = json.loads(
        probe(
            sandbox,
            """
            import os, json
            fds = {}
            for f in os.listdir('/proc/self/fd'):
                try:
                    fds[f] = os.readlink('/proc/self/fd/' + f)
                except OSError:  # the listing's own descriptor, closed by now
                    pass
            cmd = open('/proc/self/cmdline', 'rb').read().decode(errors='replace')
            result = json.dumps({'env': dict(os.environ), 'fds': fds, 'cmd': cmd})
            """,
        )
    )
    assert SECRET_ENV in os.environ and SECRET_ENV not in seen["env"]
    allowed = {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PATH", "LANG"}
    allowed |= {"HOME", "PWD", "TORCHINDUCTOR_CACHE_DIR"}  # the last two set by bwrap / torch
    assert set(seen["env"]) <= allowed
    targets = sorted(seen["fds"].values())
    pipes = [t for t in targets if t.startswith("pipe:")]
    others = [t for t in targets if not t.startswith("pipe:") and t != "/dev/null"]
    assert len(pipes) == 1 and len(others) <= 1  # the result pipe; the listing's own fd
    assert "hunter2" not in seen["cmd"] and "seed" not in seen["cmd"]


def test_project_packages_cannot_be_imported(sandbox: Sandbox) -> None:
    """Is every project package refused inside the child, whatever the import form?"""
    result = probe(
        sandbox,
        """
        import importlib
        got = []
        for name in ('solutions', 'autograder.sandbox', 'alr.errors', 'quizzes'):
            try:
                importlib.import_module(name)
                got.append(name)
            except ImportError:
                pass
        result = ','.join(got)
        """,
    )
    assert result == ""


@needs_l1
def test_the_filesystem_view_holds_no_grader_files(sandbox: Sandbox) -> None:
    """At L1+: is the project checkout (solutions, grader, fixtures) absent from the view, /etc
    nearly empty, and is everything outside the scratch dirs read-only?"""
    root = str(layers._project_root())
    result = json.loads(
        probe(
            sandbox,
            f"""
            import os, json
            root = {root!r}
            listing = sorted(os.listdir(root)) if os.path.isdir(root) else []
            writable = []
            for d in ('/usr', '/etc', root, '/', '/alr-boot', '/proc/1'):
                try:
                    open(os.path.join(d, 'x'), 'w').close()
                    writable.append(d)
                except OSError:
                    pass
            result = json.dumps({{'listing': listing, 'etc': sorted(os.listdir('/etc')),
                                  'writable': writable, 'passwd': os.path.exists('/etc/passwd')}})
            """,
        )
    )
    assert set(result["listing"]) <= {".venv"}
    assert not result["passwd"] and set(result["etc"]) <= {"ld.so.cache", "ld.so.conf", "localtime"}
    # a checkout under /tmp is shown inside the child's own new /tmp: writing beside its .venv
    # there lands in that private tmpfs, never in the grader's checkout
    private = {root} if Path(root).resolve().is_relative_to(Path("/tmp").resolve()) else set()
    assert set(result["writable"]) <= private
    assert not (Path(root) / "x").exists()


@needs_l1
def test_files_do_not_survive_into_the_next_submission(sandbox: Sandbox) -> None:
    """Is what one child writes in /tmp, /dev/shm or its cwd gone for the next child of the
    same worker?"""
    write = """
    import os
    for p in ('/tmp/leak', '/dev/shm/leak', 'leak'):
        open(p, 'w').write('secret answer')
    result = os.getcwd()
    """
    read = """
    import os
    result = ','.join(p for p in ('/tmp/leak', '/dev/shm/leak') if os.path.exists(p))
    result += '|' + ','.join(os.listdir('/tmp'))
    """
    cwds = [probe(sandbox, write) for _ in range(2)]  # one per worker (FIFO slot queue)
    seen = [probe(sandbox, read) for _ in range(2)]
    assert all(s.startswith("|") for s in seen), seen
    assert all(c not in s for s in seen for c in cwds)


@needs_l1
def test_no_network_not_even_the_hosts_loopback(sandbox: Sandbox) -> None:
    """Can the child reach neither the internet nor a TCP service listening on the host's
    127.0.0.1 (which must see no connection)?"""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    result = probe(
        sandbox,
        f"""
        import socket
        reached = []
        for addr in (('127.0.0.1', {port}), ('10.0.0.1', 80), ('1.1.1.1', 53)):
            try:
                socket.create_connection(addr, timeout=1).close()
                reached.append(str(addr))
            except OSError:
                pass
        result = ';'.join(reached)
        """,
    )
    try:
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert result == ""


def test_left_over_processes_are_killed(sandbox: Sandbox) -> None:
    """Is a daemonised grandchild that ignores SIGTERM killed when its submission ends, so the
    worker has no process left below it but the next submission's spare child?"""
    body = """
    import os, signal, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(600)
        os._exit(0)
    time.sleep(0.2)
    result = 'ok'
    """
    assert probe(sandbox, body) == "ok"
    assert probe(sandbox, body) == "ok"
    for s in sandbox._slots:
        assert s.proc is not None
        # L1: bubblewrap's init, the worker and its spare; L0: the spare below the worker
        assert len(tree(s.proc.pid)) <= (3 if NAMESPACES else 1)


def test_a_fork_bomb_next_to_a_correct_submission_costs_it_nothing(sandbox: Sandbox) -> None:
    """Run concurrently in the two workers: does the correct one still get the exact values
    while the fork bomb ends as a status?"""
    bomb = "import os\ndef ema(a, x, b):\n    while True:\n        try:\n            os.fork()\n"
    bomb += "        except OSError:\n            pass\n"
    results: dict[str, object] = {}

    def go(name: str, source: str) -> None:
        results[name] = run(sandbox, source, ema_case(seed=3))

    threads = [threading.Thread(target=go, args=a) for a in (("bomb", bomb), ("ok", CORRECT))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    good = results["ok"]
    assert good.status is RunStatus.OK  # type: ignore[attr-defined]
    value = good.cases["c1"][0].outputs["out"].value  # type: ignore[attr-defined]
    assert value.tobytes() == _expected(ema_case(seed=3)).tobytes()
    assert results["bomb"].status in (RunStatus.TIMEOUT, RunStatus.OK)  # type: ignore[attr-defined]
    assert run(sandbox, CORRECT).status is RunStatus.OK


def test_sandbox_refuses_a_level_the_machine_cannot_give(monkeypatch: pytest.MonkeyPatch) -> None:
    """Does asking for L1 on a machine without bubblewrap raise SandboxError saying what to
    install, and is an unknown level name refused?"""
    monkeypatch.setattr(layers, "detect", lambda: layers.Capabilities(None, False, False, False))
    with pytest.raises(SandboxError, match="bubblewrap"):
        Sandbox(workers=1, min_level="L1")
    with pytest.raises(SandboxError, match="unknown sandbox level"):
        Sandbox(workers=1, min_level="L5")


@pytest.mark.parametrize(
    ("have", "need", "ok"),
    [("L2+seccomp", "L1", True), ("L1", "L2", False), ("L1", "L1+seccomp", False)],
)
def test_levels_compare_by_layer_and_seccomp(have: str, need: str, ok: bool) -> None:
    """Is a level sufficient exactly when its layer and seccomp both meet the minimum?"""
    assert layers.meets(have, need) is ok


def test_limits_are_validated() -> None:
    """Are non-positive limits and an address space too small for torch refused?"""
    with pytest.raises(SandboxError, match="timeout_s"):
        Limits(timeout_s=0)
    with pytest.raises(SandboxError, match="too small for torch"):
        Limits(memory_mb=512)


def test_the_view_never_shows_the_project_checkout() -> None:
    """Does the bubblewrap view bind nothing that is or contains the project checkout?"""
    from pathlib import Path

    root = layers._project_root()
    args = layers.view_args(boot_dir=None, tmpfs_mb=16, cuda=False, setuid=True)
    binds = [args[i + 1] for i, a in enumerate(args) if a in ("--ro-bind", "--bind")]
    assert binds and all(not root.is_relative_to(Path(b)) for b in binds)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_cases_run_on_the_gpu_inside_the_sandbox() -> None:
    """With cuda=True: does a CUDA case return a cuda:0 tensor with the right float32 values,
    while the warm worker itself never initialised CUDA (the fork would break it)?"""
    case = ema_case(seed=5, device="cuda")
    # a child starts CUDA itself (seconds of wall and CPU time): the short test limits would not do
    limits = dataclasses.replace(LIMITS, timeout_s=60, cpu_s=30)
    with Sandbox(workers=1, limits=limits, cuda=True) as sb:
        res = run(sb, CORRECT, case)
        out = res.cases["c1"][0].outputs["out"]
        assert res.status is RunStatus.OK and out.device == "cuda:0"
        assert np.allclose(out.value, _expected(case), rtol=1e-6, atol=1e-7)
        res2 = run(sb, CORRECT, CaseRun("c2", EMA, case.inputs, "cuda"))
        assert res2.status is RunStatus.OK


def test_a_child_killing_its_worker_ends_only_its_own_run(sandbox: Sandbox) -> None:
    """Does a child that kills its own worker get CRASHED, with the worker restarted?"""
    src = "import os, signal\ndef ema(a, x, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    src += "    import time; time.sleep(1)\n"
    res = run(sandbox, src)
    assert res.status in (RunStatus.CRASHED, RunStatus.TIMEOUT)
    assert run(sandbox, CORRECT).status is RunStatus.OK


@pytest.mark.skipif(
    not (NAMESPACES and os.geteuid() == 0), reason="needs bubblewrap and root (slot user ids)"
)
def test_processes_stay_bounded_at_l1_without_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root with bubblewrap but no writable cgroups (level L1): does the slot's own user id
    still bound a fork bomb (RLIMIT_NPROC, which root would ignore)?"""
    bwrap = layers.detect().bwrap
    monkeypatch.setattr(layers, "detect", lambda: layers.Capabilities(bwrap, True, False, False))
    # a generous time limit: the verdict is about the count, and must not hinge on the load
    with Sandbox(workers=1, limits=dataclasses.replace(LIMITS, timeout_s=60)) as sb:
        assert sb.level == "L1"
        count = probe(
            sb,
            """
            import os, time
            n = 0
            for _ in range(1000):
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    n += 1
                except OSError:
                    break
            result = str(n)
            """,
        )
    assert 0 < int(count) < LIMITS.pids


def test_a_spare_child_that_died_before_its_job_is_replaced(sandbox: Sandbox) -> None:
    """Each slot's next child is forked (and set up) before its job: when that spare is killed
    while it waits, does the next job still run, in a child forked then, by the same worker?"""
    for _ in range(2):
        assert run(sandbox, CORRECT).status is RunStatus.OK
    starts = sandbox.worker_starts
    killed = 0
    for s in sandbox._slots:
        assert s.worker_pid is not None
        for pid in tree(s.worker_pid):  # only its spare is below an idle worker
            os.kill(pid, signal.SIGKILL)
            killed += 1
    assert killed >= 1
    time.sleep(0.2)
    for _ in range(2 * len(sandbox._slots)):
        res = run(sandbox, CORRECT)
        assert res.status is RunStatus.OK and res.cases["c1"][0].error is None
    assert sandbox.worker_starts == starts


def test_workers_start_in_the_background_and_a_failed_start_is_raised_once_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With wait=False, does the constructor return before the workers are ready, and does
    wait_ready raise (and close the sandbox) when a worker cannot start?"""
    from autograder.sandbox import slot

    def argv(self: slot.Slot, ctl_fd: int) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-c", "pass"], {}  # ends without saying it is ready

    monkeypatch.setattr(slot.Slot, "_argv", argv)
    sb = Sandbox(workers=1, limits=LIMITS, wait=False)
    assert all(s.proc is not None and not s.ready for s in sb._slots)  # started, not awaited
    with pytest.raises(SandboxError, match="failed to start"):
        sb.wait_ready()
    assert all(s.proc is None for s in sb._slots)
