"""One sandbox slot: a warm worker process and the grader-side loop that feeds it one job.

The worker is started with a clean environment, `python -I`, no inherited descriptors but its
control socket, inside bubblewrap (L1+) and the slot's cgroups (L2). `run` hands it two fresh
pipe ends, streams the job frame in, reads the size-capped result frame back and waits for the
worker's report of how the child ended, all under one wall-clock deadline. Any timeout, oversize
result or dead worker kills the slot's whole process tree and restarts the worker.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alr.errors import SandboxError
from autograder.sandbox import cgroups, layers
from autograder.sandbox.limits import Limits
from autograder.sandbox.procs import find_worker, kill_tree

BOOT = (
    "import sys,json;d=sys.argv[1];sys.path.insert(0,d);"
    "import _alr_sandbox_wire as w,_alr_sandbox_program as p,"
    "_alr_sandbox_child as c,_alr_sandbox_isolate as i,_alr_sandbox_worker as k;"
    "del sys.path[0];k.main(w,p,c,i,json.loads(sys.argv[2]))"
)
START_TIMEOUT_S = 180.0
SETTLE_S = 5.0
ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
}


@dataclass(frozen=True)
class SlotConfig:
    """What every slot of a sandbox shares."""

    limits: Limits
    bwrap: str | None
    setuid: bool
    cgroups: bool
    seccomp: bool
    cuda: bool
    boot_dir: str  # private copy of the worker code (read-only in the sandbox)
    host_dir: str  # grader-side scratch (worker logs; L0 scratch roots)


@dataclass
class RawRun:
    """What the grader observed of one job, before interpretation. `data` is what the child
    wrote (read-only, never copied), also when it was stopped or died; None when nothing came
    or it went over the cap."""

    data: memoryview | None = None
    report: dict[str, Any] | None = None
    timed_out: bool = False
    oversize: bool = False
    worker_died: bool = False
    oom: bool = False
    #: from the hand-over of the job to the end of the result stream (the child closes it once
    #: its final frame is written, before its process is torn down), or to the stop
    duration_s: float = 0.0
    ended_at: float = 0.0  # time.monotonic() when the result stream ended


class Slot:
    def __init__(
        self,
        index: int,
        config: SlotConfig,
        uid: int | None,
        spawner: ThreadPoolExecutor,
        gpu: str | None = None,
    ) -> None:
        self.index, self.config, self.uid = index, config, uid
        self.gpu = gpu  # the one CUDA device this slot's children see (CUDA_VISIBLE_DEVICES)
        # bubblewrap's --die-with-parent fires when the *thread* that started it exits, so every
        # worker is started from the sandbox's one long-lived spawner thread.
        self.spawner = spawner
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.cg: cgroups.SlotCgroups | None = None
        self.starts = 0
        self.ready = False
        self.worker_pid: int | None = None
        #: whether each child gets fresh namespaces (else the worker wipes after it)
        self.fresh = False
        if config.cgroups:
            name = f"alr-{os.getpid()}-{index}-{time.monotonic_ns() % 10**9}"
            self.cg = cgroups.create(
                name, memory_mb=config.limits.slot_memory(cuda=config.cuda), pids=config.limits.pids
            )
            if self.cg is None:
                raise SandboxError("could not create the slot's cgroups")

    # ---- worker lifecycle ----

    def _worker_cfg(self, ctl_fd: int) -> dict[str, Any]:
        c = self.config
        if c.bwrap:
            root, wipe = "/tmp", ["/tmp", "/dev/shm"]
        else:
            root = tempfile.mkdtemp(prefix=f"slot{self.index}-", dir=c.host_dir)
            wipe = [root]
        return {
            "ctl_fd": ctl_fd,
            "uid": self.uid,
            "block": list(layers.PROJECT_PACKAGES),
            "scratch_root": root,
            "wipe": wipe,
            "keep": self._shown() if c.bwrap else [],
            "pidns": bool(c.bwrap),
            # a new user, mount and IPC namespace per child, with its own /tmp and /dev/shm
            "fresh_ns": bool(c.bwrap),
            "tmpfs_mb": c.limits.tmpfs_mb,
            "seccomp": c.seccomp,
            "limits": c.limits.for_child(cuda=c.cuda),
            "debug": bool(os.environ.get("ALR_SANDBOX_DEBUG")),
        }

    def _shown(self) -> list[str]:
        """The read-only views inside the sandbox (the worker's wipe leaves them alone)."""
        shown = layers.python_dirs()
        return shown + (layers.cuda_library_dirs(shown) if self.config.cuda else [])

    def _argv(self, ctl_fd: int) -> tuple[list[str], dict[str, str] | None]:
        c = self.config
        env = dict(ENV, HOME="/tmp")
        if c.cuda:
            env.update(layers.cuda_env())
            if self.gpu is not None:
                env["CUDA_VISIBLE_DEVICES"] = self.gpu
        boot = layers.BOOT_DIR if c.bwrap else c.boot_dir
        py = [sys.executable, "-I", "-c", BOOT, boot, json.dumps(self._worker_cfg(ctl_fd))]
        if not c.bwrap:
            return py, env
        view = layers.view_args(
            boot_dir=c.boot_dir,
            tmpfs_mb=c.limits.tmpfs_mb,
            cuda=c.cuda,
            setuid=self.uid is not None,
        )
        argv = [c.bwrap, *view]
        for k, v in env.items():
            argv += ["--setenv", k, v]
        argv += py
        if self.cg is not None:
            argv = cgroups.enter_command(self.cg, argv)
        return argv, None

    def start(self) -> None:
        """Start the worker and wait until it has imported torch and is ready."""
        self.spawn()
        self.await_ready()

    def spawn(self) -> None:
        """Start a fresh worker process (returns at once; `await_ready` waits for it)."""
        self.stop()
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv, env = self._argv(child_sock.fileno())
        log = open(Path(self.config.host_dir) / f"worker{self.index}.log", "ab")  # noqa: SIM115
        try:
            self.proc = self.spawner.submit(
                subprocess.Popen,
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env if env else {},
                pass_fds=(child_sock.fileno(),),
                close_fds=True,
                start_new_session=True,
            ).result()
        finally:
            child_sock.close()
            log.close()
        self.sock = parent_sock
        self.starts += 1
        self.ready = False

    def await_ready(self) -> None:
        assert self.sock is not None
        self.sock.settimeout(START_TIMEOUT_S)
        try:
            ready = self.sock.recv(4096)
        except OSError:
            ready = b""
        self.sock.settimeout(None)
        self.ready = bool(ready)
        said: Any = {}
        if ready:
            try:
                said = json.loads(ready)
            except ValueError:
                said = {}
        said = said if isinstance(said, dict) else {}
        self.fresh = said.get("fresh") is True
        ns_pid = said.get("ready") if type(said.get("ready")) is int else None
        self.worker_pid = find_worker(self.proc.pid, ns_pid) if ready and self.proc else None
        if not ready:
            self.stop()
            tail = (Path(self.config.host_dir) / f"worker{self.index}.log").read_text()[-800:]
            raise SandboxError(f"sandbox worker {self.index} failed to start: {tail.strip()}")

    def stop(self) -> None:
        """Kill the worker's whole tree (cgroup.kill where available) and reap it."""
        if self.proc is not None:
            if self.cg is not None:
                self.cg.kill_all()
            kill_tree(self.proc.pid)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def close(self) -> None:
        self.stop()
        if self.cg is not None:  # removable once its killed processes are gone (a few ms)
            for _ in range(500):
                self.cg.remove()
                if not any(d.exists() for d in self.cg.dirs):
                    break
                time.sleep(0.002)

    # ---- one job ----

    def run(self, frame: bytes, timeout_s: float | None = None) -> RawRun:
        """Run one job frame; `timeout_s` (at most the limits' own) is its wall-clock limit."""
        if self.proc is None or self.proc.poll() is not None:
            self.spawn()
        if not self.ready:
            self.await_ready()
        oom_before = self.cg.oom_kills() if self.cg else 0
        limit = self.config.limits.timeout_s
        raw = self._exchange(frame, limit if timeout_s is None else min(timeout_s, limit))
        if self.cg is not None and self.cg.oom_kills() > oom_before:
            raw.oom = True
        if raw.timed_out or raw.oversize:
            # kill the child and all it left; keep the warm worker if it reports back clean
            if not self._settle(raw):
                self.spawn()
        elif raw.worker_died or raw.oom:
            self.spawn()  # recycle: kill the whole tree, start a fresh worker now
        return raw

    def _settle(self, raw: RawRun) -> bool:
        """Kill everything below the worker; True when the worker then reports within a grace
        period (it has reaped and wiped: it can serve the next job)."""
        if self.worker_pid is None or self.sock is None or raw.report is not None:
            return raw.report is not None
        kill_tree(self.worker_pid, keep_root=True)
        self.sock.settimeout(SETTLE_S)
        try:
            msg = self.sock.recv(4096)
        except OSError:
            msg = b""
        finally:
            if self.sock is not None:
                self.sock.settimeout(None)
        if not msg:
            return False
        try:
            raw.report = json.loads(msg)
        except ValueError:
            return False
        return True

    def _exchange(self, frame: bytes, timeout_s: float) -> RawRun:
        assert self.sock is not None
        limits = self.config.limits
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        t0 = time.monotonic()
        raw = RawRun()
        try:
            socket.send_fds(self.sock, [b"run"], [job_r, res_w])
        except OSError:
            for fd in (job_r, job_w, res_r, res_w):
                os.close(fd)
            raw.worker_died = True
            return raw
        os.close(job_r)
        os.close(res_w)
        try:
            self._pump(frame, job_w, res_r, t0 + timeout_s, limits.output_mb << 20, raw)
        finally:
            for fd in (job_w, res_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
        raw.duration_s = (raw.ended_at or time.monotonic()) - t0
        return raw

    def _pump(
        self, frame: bytes, job_w: int, res_r: int, deadline: float, cap: int, raw: RawRun
    ) -> None:
        os.set_blocking(job_w, False)
        os.set_blocking(res_r, False)
        sel = selectors.DefaultSelector()
        sel.register(job_w, selectors.EVENT_WRITE)
        sel.register(res_r, selectors.EVENT_READ)
        sel.register(self.sock, selectors.EVENT_READ)  # type: ignore[arg-type]
        buf = bytearray()
        try:
            self._select(sel, memoryview(frame), (job_w, res_r), deadline, cap, raw, buf)
        finally:
            sel.close()
            if buf and not raw.oversize:  # what came, also from a child that was stopped
                raw.data = memoryview(buf).toreadonly()

    def _select(
        self,
        sel: selectors.BaseSelector,
        pending: memoryview,
        fds: tuple[int, int],
        deadline: float,
        cap: int,
        raw: RawRun,
        buf: bytearray,
    ) -> None:
        """Write the job, read the result into `buf` and the worker's report, until both are
        done or the deadline, the cap or the worker's death ends it."""
        assert self.sock is not None
        job_w, res_r = fds
        res_open = True
        while raw.report is None or res_open:
            left = deadline - time.monotonic()
            if left <= 0:
                raw.timed_out = True
                return
            for key, _ in sel.select(left):
                if key.fd == job_w:
                    try:
                        pending = pending[os.write(job_w, pending[: 1 << 16]) :]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(job_w)  # closed once, by the caller
                elif key.fd == res_r:
                    chunk = os.read(res_r, 1 << 20)
                    if not chunk:
                        sel.unregister(res_r)
                        res_open = False
                        raw.ended_at = time.monotonic()
                    buf += chunk
                    if len(buf) > cap:
                        raw.oversize = True
                        return
                else:
                    msg = self.sock.recv(4096)
                    if not msg:
                        raw.worker_died = True
                        return
                    try:
                        raw.report = json.loads(msg)
                    except ValueError:
                        raw.worker_died = True
                        return
                    sel.unregister(self.sock)
