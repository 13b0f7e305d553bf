"""Isolation layers: what this machine can give, detected at start-up, and the argv that uses it.

    L0  separate process, rlimits, wall-clock kill of the whole tree, clean env, `python -I`,
        private temp cwd (everywhere)
    L1  + bubblewrap: no network, read-only views of only the interpreter and packages, a
        size-capped tmpfs /tmp, PID namespace, no capabilities
    L2  + root: a user id per slot, a cgroup per slot with memory and pids limits, cgroup.kill
    +seccomp  (any level) sockets of AF_UNIX only; io_uring, keyrings, bpf, perf events,
              userfaultfd, ptrace, exec, mount and namespace syscalls denied

Levels are cumulative; `+seccomp` is reported as a suffix, e.g. "L2+seccomp".
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from alr import PACKAGES
from alr.errors import SandboxError

#: The project's own packages: never importable, never visible, inside the sandbox.
PROJECT_PACKAGES = PACKAGES
LEVELS = ("L0", "L1", "L2")
BOOT_DIR = "/alr-boot"


@dataclass(frozen=True)
class Capabilities:
    bwrap: str | None  # path of a working bubblewrap
    root: bool
    cgroups: bool  # per-slot memory + pids cgroups can be created
    seccomp: bool

    @property
    def level(self) -> str:
        base = "L0"
        if self.bwrap:
            base = "L2" if self.root and self.cgroups else "L1"
        return base + ("+seccomp" if self.seccomp else "")


def parse_level(text: str) -> tuple[int, bool]:
    """ "L1+seccomp" -> (1, True); raises SandboxError on anything else."""
    base, _, extra = text.partition("+")
    if base not in LEVELS or extra not in ("", "seccomp"):
        raise SandboxError(
            f"unknown sandbox level {text!r}: expected one of L0, L1, L2, optionally +seccomp"
        )
    return LEVELS.index(base), extra == "seccomp"


def meets(level: str, minimum: str) -> bool:
    have, have_sc = parse_level(level)
    need, need_sc = parse_level(minimum)
    return have >= need and (have_sc or not need_sc)


def seccomp_available() -> bool:
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    except Exception:  # noqa: BLE001 - missing package or libseccomp
        return False
    return True


@functools.cache
def detect() -> Capabilities:
    """Probe the machine once per process (a trial bubblewrap run, a trial cgroup)."""
    from autograder.sandbox import cgroups

    bwrap = shutil.which("bwrap")
    if bwrap and not _bwrap_works(bwrap):
        bwrap = None
    root = os.geteuid() == 0
    return Capabilities(
        bwrap=bwrap,
        root=root,
        cgroups=root and cgroups.available(),
        seccomp=seccomp_available(),
    )


def detect_level() -> str:
    """The strongest level this machine gives, e.g. "L2+seccomp"."""
    return detect().level


def _bwrap_works(bwrap: str) -> bool:
    argv = [bwrap, *view_args(boot_dir=None, tmpfs_mb=16, cuda=False, setuid=False)]
    argv += [sys.executable, "-I", "-c", "pass"]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=30, env={})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _project_root() -> Path | None:
    """The source checkout this package runs from, or None when it is installed (a wheel in a
    site-packages, whose package folders `_hidden_package_dirs` masks instead)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def python_dirs() -> list[str]:
    """Interpreter and package directories to show read-only (never the project checkout).

    A directory that is the checkout or one of its ancestors is never shown; one inside the
    checkout only when it is inside the active virtual environment (a `.venv` in the checkout).
    """
    root = _project_root()
    venv = Path(sys.prefix).resolve()
    # and package folders on sys.path: a .pth file may add another environment's packages.
    # Never other sys.path entries: sys.path[0] is the script's folder or the working directory.
    packages = [d for d in sys.path if Path(d).name in ("site-packages", "dist-packages")]
    candidates = {sys.base_prefix, sys.prefix, *site.getsitepackages(), *packages}
    candidates.add(str(Path(sys.executable).parent))
    out: set[Path] = set()
    for d in candidates:
        p = Path(d).resolve()
        if not p.is_dir() or (root is not None and root.is_relative_to(p)):
            continue
        if root is not None and p.is_relative_to(root) and not p.is_relative_to(venv):
            continue
        out.add(p)
    # drop directories already inside another shown one
    kept = [p for p in out if not any(p != q and p.is_relative_to(q) for q in out)]
    return sorted(str(p) for p in kept)


def _hidden_package_dirs(shown: list[str]) -> list[str]:
    """Installed copies of the project's packages inside a shown directory (to mask)."""
    hide: list[str] = []
    for name in PROJECT_PACKAGES:
        spec = importlib.util.find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec else []:
            if any(Path(loc).resolve().is_relative_to(Path(s).resolve()) for s in shown):
                hide.append(loc)
    return hide


def view_args(*, boot_dir: str | None, tmpfs_mb: int, cuda: bool, setuid: bool) -> list[str]:
    """bubblewrap options for the filesystem view and namespaces (order matters)."""
    if os.geteuid() == 0:  # no user namespace: slot user ids must be real ones (NPROC, kill)
        args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        args += ["--unshare-cgroup-try"]
    else:
        args = ["--unshare-all"]
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if setuid:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    shown = [d for d in python_dirs() if not Path(d).resolve().is_relative_to(Path("/usr"))]
    # /tmp first: a tmpfs mounted after a bind under /tmp would hide it (a checkout, and so its
    # .venv, may well live under /tmp); the mount points below it are made inside the tmpfs.
    args += ["--size", str(tmpfs_mb << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    parents = sorted(
        {str(a) for d in ["/etc/x", *shown] for a in Path(d).parents if a != a.parent} - {"/tmp"}
    )
    for a in parents:  # bubblewrap would create them 0700: the slot user could not traverse
        args += ["--perms", "0755", "--dir", a]
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime"):
        args += ["--ro-bind-try", f, f]
    for d in shown:
        args += ["--ro-bind", d, d]
    for d in _hidden_package_dirs(shown):
        args += ["--tmpfs", d, "--remount-ro", d]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(tmpfs_mb << 20), "--perms", "1777", "--tmpfs", "/dev/shm"]
    if cuda:
        for dev in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(dev), str(dev)]
        args += ["--ro-bind-try", "/sys", "/sys"]
        for d in cuda_library_dirs(shown):
            args += ["--ro-bind", d, d]
    if boot_dir is not None:
        args += ["--ro-bind", boot_dir, BOOT_DIR]
    args += ["--chdir", "/tmp", "--clearenv"]
    return args


#: Environment a CUDA worker keeps from the grader's (trusted: set by whoever runs the grader):
#: where the driver library lives (often only on LD_LIBRARY_PATH, e.g. /usr/local/nvidia/lib64
#: in containers) and how CUDA loads modules.
CUDA_ENV = ("LD_LIBRARY_PATH", "CUDA_MODULE_LOADING", "NVIDIA_DRIVER_CAPABILITIES")


def cuda_env() -> dict[str, str]:
    """The grader's CUDA-related variables that a CUDA worker needs (never CUDA_VISIBLE_DEVICES:
    each slot gets its own device)."""
    return {k: os.environ[k] for k in CUDA_ENV if os.environ.get(k)}


def cuda_library_dirs(shown: list[str]) -> list[str]:
    """Folders on LD_LIBRARY_PATH to show read-only in a CUDA sandbox: existing absolute ones
    not already in the view (/usr, the package folders), never one that is, holds or lies in
    the checkout, nor /, /tmp or a folder holding the home folder."""
    root = _project_root()
    home = Path.home().resolve()
    covered = [Path("/usr"), *(Path(x).resolve() for x in shown)]
    out: list[str] = []
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if not entry or not os.path.isabs(entry) or not os.path.isdir(entry):
            continue
        d = Path(entry).resolve()
        if any(d.is_relative_to(c) for c in covered) or str(d) in out:
            continue
        if root is not None and (d.is_relative_to(root) or root.is_relative_to(d)):
            continue
        if home.is_relative_to(d) or d == Path("/tmp"):
            continue
        out.append(str(d))
    return out
