"""The warm worker and the per-submission child. Runs inside the sandbox, never in the grader.

The grader starts one worker per slot as `python -I -c BOOT` (see `slot.py`): it imports numpy
and torch once with one thread (and what torch's ops on meta tensors load on first use), runs no
torch op, blocks the project's own packages, drops to the slot's user id where it was given one,
leaves the grader's session keyring, makes torch.optim unreachable (unless the course allows
it; every child inherits the stubs, the finder and the audit hook), freezes its heap (the
children's garbage collector never walks, nor copies, what they inherit) and serves jobs.

A child is forked before its job comes (a spare): it enters fresh namespaces with a new /tmp and
/dev/shm (`isolate`), limits itself, loads its seccomp filter, and then waits for its job, so
none of that set-up is in a submission's time. For each job the grader sends the word "run"
and two fresh pipe ends over the control socket (fd 3): the job's read end and the result's
write end; the worker hands both to the spare, which reads the job itself (so the worker never
holds a submission or its inputs in memory for a later child to find), runs the student's
source and program, writes one result frame per case and a final one, and `_exit`s. The worker
then kills every process the child left behind (where no fresh namespaces could be made, it
also wipes what the child wrote), reports how the child ended, and forks the next spare.

This file imports only the standard library (plus numpy/torch at start-up); `wire`, `program`,
`child` and `isolate` are handed in by the boot code, loaded by path from a private copy.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import signal
import socket
import sys
import tempfile
import time
import types
from typing import Any

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
JOB_CAP = 256 << 20


def _prctl(option: int, value: int) -> None:
    if not sys.platform.startswith("linux"):
        return  # L0 elsewhere: no subreaper / dumpable controls
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


class _Blocker:
    """A meta-path finder that refuses the project's own packages inside the sandbox."""

    def __init__(self, names: list[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def _block_project(names: list[str]) -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(type(f))]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p]
    sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in repr(h)]
    sys.path_importer_cache.clear()
    sys.meta_path.insert(0, _Blocker(names))


def _skip_dynamo(torch: Any) -> None:
    """Let torch's ops on meta tensors run without importing torch._dynamo (over a second).

    torch wraps some of its own Python functions (the reference implementations its meta
    tensors run through) in `torch._compile._disable_dynamo`, which imports torch._dynamo on
    the first call only to wrap the function so that a compiler never traces into it, and keeps
    that in the function's `__dynamo_disable`. No compiler runs here, so each such function is
    its own disabled form: it is stored there now. Where torch is not built that way, torch._dynamo
    is imported as before. The symbolic-shape helpers (sympy) those functions use are imported
    now too, once, instead of in every child."""
    disable = getattr(getattr(torch, "_compile", None), "_disable_dynamo", None)
    code = getattr(disable(lambda: None), "__code__", None) if disable else None
    if code is None or "fn" not in code.co_freevars or "__dynamo_disable" not in code.co_consts:
        import torch._dynamo  # noqa: F401

        return
    at = code.co_freevars.index("fn")
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType and obj.__code__ is code and obj.__closure__:
            fn = obj.__closure__[at].cell_contents
            if getattr(fn, "__dynamo_disable", None) is None:
                fn.__dynamo_disable = fn
    import torch.fx.experimental.symbolic_shapes  # noqa: F401


def main(wire: Any, program: Any, child: Any, isolate: Any, cfg: dict[str, Any]) -> None:
    """Worker start-up and job loop (never returns)."""
    ctl = socket.socket(fileno=cfg["ctl_fd"])
    import numpy  # noqa: F401 - warm import
    import torch

    torch.set_num_threads(1)
    _skip_dynamo(torch)
    if cfg["seccomp"]:
        import pyseccomp  # noqa: F401 - warm import, used by each child
    _block_project(cfg["block"])
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    uid = cfg.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _prctl(PR_SET_DUMPABLE, 0)
    isolate.new_session_keyring()  # never the grader's: keys there are possessed by children
    if not cfg["limits"]["allow_torch_optim"]:
        child.forbid_torch_optim()  # once, here: every child inherits the stubs and the hook
    fresh = bool(cfg["fresh_ns"]) and isolate.works(cfg["tmpfs_mb"], cfg["keep"])
    cfg = dict(cfg, fresh_ns=fresh)
    gc.freeze()  # what every child inherits: its collector never walks (or copies) it
    mods = (wire, program, child, isolate)
    spare = _Spare.fork(ctl, mods, cfg)
    ctl.send(json.dumps({"ready": os.getpid(), "uid": os.getuid(), "fresh": fresh}).encode())
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 64, 2)
        except OSError:
            os._exit(0)
        if msg != b"run" or len(fds) != 2:  # the grader closed the socket: stop
            os._exit(0)
        ctl.send(json.dumps(_serve(ctl, mods, cfg, spare, fds[0], fds[1])).encode())
        spare = _Spare.fork(ctl, mods, cfg)


class _Spare:
    """A child forked (and isolated, limited, filtered) before its job: its pid, the worker's
    end of the socket its job's pipes are handed over, and its scratch folder."""

    def __init__(self, pid: int, handoff: socket.socket, scratch: str) -> None:
        self.pid, self.handoff, self.scratch = pid, handoff, scratch

    @staticmethod
    def fork(ctl: socket.socket, mods: tuple[Any, ...], cfg: dict[str, Any]) -> _Spare:
        scratch = "/tmp" if cfg["fresh_ns"] else tempfile.mkdtemp(dir=cfg["scratch_root"])
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                ctl.close()
                ours.close()
                _child(mods, cfg, theirs.detach(), scratch)
            except BaseException:
                if cfg.get("debug"):
                    import traceback

                    traceback.print_exc()
            finally:
                os._exit(70)
        theirs.close()
        return _Spare(pid, ours, scratch)

    def hand(self, job_fd: int, res_fd: int) -> bool:
        """Give the child its job's pipes; False when it is gone (then it is reaped)."""
        try:
            socket.send_fds(self.handoff, [b"job"], [job_fd, res_fd])
            return True
        except OSError:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            return False
        finally:
            self.handoff.close()


def _serve(
    ctl: socket.socket,
    mods: tuple[Any, ...],
    cfg: dict[str, Any],
    spare: _Spare,
    job_fd: int,
    res_fd: int,
) -> dict[str, Any]:
    """Run one job in the spare child and clean up after it: with fresh namespaces nothing is
    left to wipe (their /tmp, /dev/shm, IPC objects and keyrings die with the child's
    processes). A spare that died before its job is replaced by a child forked now."""
    isolate = mods[3]
    t0 = time.monotonic()
    if not spare.hand(job_fd, res_fd):
        if not cfg["fresh_ns"]:
            isolate.remove_tree(spare.scratch)
        spare = _Spare.fork(ctl, mods, cfg)
        spare.hand(job_fd, res_fd)
    os.close(job_fd)
    os.close(res_fd)
    pid = spare.pid
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.monotonic() - t0
    if cfg.get("pidns"):  # only inside our own PID namespace: no chance of a reused pid
        try:
            os.killpg(pid, signal.SIGKILL)  # the child's session, whatever /proc shows
        except OSError:
            pass
    _reap_descendants()
    if not cfg["fresh_ns"]:
        isolate.remove_tree(spare.scratch)
        isolate.wipe_after(cfg["wipe"], cfg["keep"])
    return {
        "cleanup_s": time.monotonic() - t0 - elapsed,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": elapsed,
    }


def _descendants() -> list[int]:
    """Every process below this one (orphans are reparented here: we are a subreaper)."""
    parent: dict[int, int] = {}
    if not os.path.isdir("/proc"):
        return []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parent[int(entry)] = int(fields[1])
    me = os.getpid()
    found: list[int] = []
    frontier = [me]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c != me]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _reap_descendants() -> None:
    """SIGSTOP then SIGKILL every descendant until none is left; reap the zombies."""
    for _ in range(200):
        pids = _descendants()
        if not pids:
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for p in pids:
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
        _reap_zombies()
    _reap_zombies()


def _reap_zombies() -> None:
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def _limit(cfg: dict[str, Any]) -> None:
    lim = cfg["limits"]
    mb = 1 << 20
    # CPU: SIGXCPU at the soft limit (reported as a time limit); the hard limit a second later
    # kills code that ignores it. Equal limits let the kernel SIGKILL first, with the rusage
    # read back a hair under the limit: a time limit misreported as a crash.
    resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu_s"], lim["cpu_s"] + 1))
    settings = [
        (resource.RLIMIT_FSIZE, lim["file_mb"] * mb),
        (resource.RLIMIT_NOFILE, lim["nofile"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if not lim.get("cuda"):  # CUDA: RLIMIT_DATA once the driver has started (`_limit_data`)
        settings.append((resource.RLIMIT_AS, lim["memory_mb"] * mb))
    if cfg.get("uid") is not None:  # only with a slot's own user id: NPROC counts every
        settings.append((resource.RLIMIT_NPROC, lim["pids"]))  # process of the uid
    for which, value in settings:
        resource.setrlimit(which, (value, value))


def _cap_gpu_memory(torch: Any, mb: int) -> None:
    """Cap torch's CUDA allocator in this child (so one submission cannot starve the GPU for the
    slots beside it). This starts CUDA, in the child: the warm worker never does, since a CUDA
    context does not survive a fork. A failure is left for the cases (and the grader's start-up
    probe) to report."""
    try:
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, (mb << 20) / total), 0)
    except Exception:  # noqa: BLE001 - no usable device: the CUDA cases say so themselves
        pass


def _limit_data(mb: int) -> None:
    """RLIMIT_DATA at the private writable memory in use now (torch, the CUDA context) plus
    `mb`: bounds what the submission allocates, not the driver's reserved address space."""
    in_use = 0
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    in_use = int(line.split()[1]) << 10
    except (OSError, ValueError):
        pass
    limit = in_use + (mb << 20)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _child(mods: tuple[Any, ...], cfg: dict[str, Any], handoff: int, scratch: str) -> None:
    """A spare: set up, then wait on `handoff` for its job's pipes (fd 3 and 4 from then)."""
    wire, program, child, isolate = mods
    os.setsid()
    if cfg["fresh_ns"]:  # before anything else: the student's /tmp is a new one
        isolate.fresh_namespaces(cfg["tmpfs_mb"], cfg["keep"])
    isolate.new_session_keyring()
    os.chdir(scratch)
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1) if cfg.get("debug") else (0, 1, 2):
        os.dup2(null, target)
    os.dup2(handoff, 3)
    os.closerange(4, 1 << 16)
    _limit(cfg)
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    lim = cfg["limits"]
    if lim.get("cuda"):  # CUDA starts here, before seccomp and any input
        _cap_gpu_memory(torch, lim["gpu_memory_mb"])
        _limit_data(lim["memory_mb"])
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if cfg["seccomp"]:
        isolate.load_filter()
    _await_job()
    frame = wire.read_frame(3, max_bytes=JOB_CAP)
    os.close(3)
    meta, arrays = wire.decode_frame(frame, max_bytes=JOB_CAP)
    del frame

    def emit(out_meta: Any, raws: list[Any]) -> None:
        wire.write_all(4, wire.encode_raw(out_meta, raws))

    child.run_job(program, meta, arrays, cap_bytes=lim["output_mb"] << 20, emit=emit)
    os.close(4)  # the result is complete: the grader need not wait for this process to end
    os._exit(0)


def _await_job() -> None:
    """Receive the job's read end and the result's write end over fd 3, and make them fd 3 and
    fd 4; leave quietly when the worker closes the socket instead (the slot is stopping)."""
    handoff = socket.socket(fileno=3)
    try:
        _, fds, _, _ = socket.recv_fds(handoff, 16, 2)
    except OSError:
        fds = []
    handoff.detach()
    if len(fds) != 2:
        os._exit(0)
    os.close(3)
    os.dup2(fds[0], 3)
    os.dup2(fds[1], 4)
    os.closerange(5, 1 << 16)
