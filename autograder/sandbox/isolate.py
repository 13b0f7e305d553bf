"""What the worker does to each child so that nothing one submission leaves reaches the next.

Runs inside the sandbox (loaded by path, like `worker`); imports only the standard library and,
for the filter, pyseccomp.

Fresh state per child (L1+, where user namespaces can be created): right after the fork the
child enters a new user, mount and IPC namespace, mounts a new size-capped tmpfs on /tmp and on
/dev/shm (the read-only views that lie under them are bound again), joins a new anonymous
session keyring and drops every capability. Everything it creates there (files of any mode,
System V segments, queues and semaphores, keys in its user keyring, which the kernel keeps per
user namespace) lives in namespaces that die with the child's last process: nothing is walked.
Where user namespaces are refused (a sysctl, an LSM), `wipe_after` empties the folders, removes
the System V objects and clears the slot user's keyrings instead, and the filter denies keyctl.

The seccomp filter (`load_filter`) allows socket families by list (AF_UNIX only) and denies
io_uring, keyrings, bpf, perf events, userfaultfd, tracing, exec, mounts and new namespaces.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import socket
import stat
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
#: CLONE_NEWUSER, NEWNS, NEWNET, NEWPID, NEWIPC, NEWUTS, NEWCGROUP: namespace flags of clone
NAMESPACE_FLAGS = (
    0x10000000,
    0x00020000,
    0x40000000,
    0x20000000,
    0x08000000,
    0x04000000,
    0x02000000,
)
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 1 << 18
PR_SET_DUMPABLE = 4
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 1, 7
KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -4, -5
IPC_RMID = 0
#: The one socket family a child may open: local sockets (torch and multiprocessing use them).
#: Every other family (inet, netlink, packet, vsock, bluetooth, ...) is refused.
SOCKET_FAMILY = socket.AF_UNIX
#: Syscalls the child never needs: tracing and other processes' memory, exec, mounts and
#: namespaces, kernel-side programs, keyrings (they outlive a process), io_uring (its own
#: socket and file operations bypass this filter), userfaultfd, perf events, POSIX queues.
DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "execve",
    "execveat",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "init_module",
    "finit_module",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mq_open",
)
_SHOWN_UNDER = ("/tmp", "/dev/shm")


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _keyctl(*args: int) -> int:
    """keyctl(2) by number (glibc has no wrapper); -1 where the syscall is refused or this is
    not Linux (keyrings are Linux's)."""
    nr = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
    if nr is None or not sys.platform.startswith("linux"):
        return -1
    return int(_libc().syscall(nr, *(ctypes.c_long(a) for a in args)))


def fresh_namespaces(tmpfs_mb: int, shown: list[str]) -> None:
    """Enter new user, mount and IPC namespaces with a new /tmp and /dev/shm; raises OSError
    when the kernel refuses (the caller then falls back to `wipe_after`)."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    # a process that changed its user id is not dumpable: its /proc files belong to root
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w", encoding="ascii") as fh:
                fh.write(text)
    finally:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate")
    # the read-only views under /tmp (a checkout's .venv) are bound again from these handles,
    # opened in the new mount namespace (a mount can only be bound within its own namespace)
    views = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in _under_scratch(shown)]
    opts = f"size={tmpfs_mb}m,mode=1777".encode()
    for point in _SHOWN_UNDER:
        target = point.encode()
        _check(libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, opts), "tmpfs")
    for path, fd in views:
        os.makedirs(path, mode=0o755, exist_ok=True)
        source = f"/proc/self/fd/{fd}".encode()
        _check(libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None), "bind")
        os.close(fd)
    _drop_capabilities(libc)


def _under_scratch(shown: list[str]) -> list[str]:
    return sorted(p for p in shown if any(p.startswith(root + os.sep) for root in _SHOWN_UNDER))


def _drop_capabilities(libc: Any) -> None:
    """Empty the effective, permitted and inheritable sets (the new user namespace gave all)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    data = (Data * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")


def new_session_keyring() -> None:
    """Leave the inherited session keyring for a new anonymous one (best effort: refused where
    keyrings are not built in)."""
    _keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)


def works(tmpfs_mb: int, shown: list[str]) -> bool:
    """Whether `fresh_namespaces` succeeds here (tried in a throwaway child)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fresh_namespaces(tmpfs_mb, shown)
            code = 0
        except BaseException:  # noqa: BLE001 - reported by the exit code
            pass
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# ---- the fallback: walk and remove ----


def wipe_after(roots: list[str], keep: list[str]) -> None:
    """Remove what a child left where no fresh namespaces were given: files under `roots`
    (whatever their modes), System V objects, and keys in the slot user's keyrings."""
    for root in roots:
        wipe_dir(root, keep)
    remove_sysv_ipc()
    for ring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
        _keyctl(KEYCTL_CLEAR, ring)


def wipe_dir(root: str, keep: list[str]) -> None:
    """Empty `root`, except the read-only views in `keep` (the interpreter, a .venv under /tmp):
    a folder on the way to one is emptied of everything else."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        path = os.path.join(root, name)
        if path in keep:
            continue
        if any(k.startswith(path + os.sep) for k in keep):
            wipe_dir(path, keep)
        else:
            remove_tree(path)


def remove_tree(path: str) -> None:
    """Remove a file or a whole folder, making each folder searchable first (a mode-000
    folder cannot be listed, so a plain rmtree would leave it and everything in it)."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    stack = [path]
    while stack:  # open every folder up, top down, before removing
        d = stack.pop()
        try:
            os.chmod(d, 0o700)
            entries = list(os.scandir(d))
        except OSError:
            continue
        stack += [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    shutil.rmtree(path, ignore_errors=True)


def remove_sysv_ipc() -> None:
    """Remove every System V shared memory segment, message queue and semaphore set this
    namespace shows (the slot's own: bubblewrap gave the worker its IPC namespace)."""
    if not sys.platform.startswith("linux"):
        return
    libc = _libc()
    calls = {
        "shm": lambda i: libc.shmctl(i, IPC_RMID, None),
        "msg": lambda i: libc.msgctl(i, IPC_RMID, None),
        "sem": lambda i: libc.semctl(i, 0, IPC_RMID),
    }
    for kind, remove in calls.items():
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))


# ---- seccomp ----


def load_filter() -> None:
    """Load the child's seccomp filter (EPERM for what it denies); see the module docstring."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for call in ("socket", "socketpair"):
        f.add_rule(deny, call, sc.Arg(0, sc.NE, SOCKET_FAMILY))
    for name in DENIED:
        f.add_rule(deny, name)
    for flag in NAMESPACE_FLAGS:
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # flags are behind a pointer: libc falls back
    f.load()
