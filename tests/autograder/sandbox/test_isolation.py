"""Clean slots, the seccomp filter and the integrity policy, in real one-slot sandboxes.

Every job of a one-slot sandbox runs in the same slot, so what one child leaves is what the
next one would find. Three sandboxes: the machine's own level (here L2+seccomp), L1 without
seccomp (so a child can plant keys and open any socket family), and L1 where no fresh
namespaces are made (the worker wipes instead).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.sandbox import Limits, RunStatus, Sandbox, detect_level, isolate, layers, pool
from autograder.sandbox.child import OPTIM_POLICY
from autograder.sandbox.slot import Slot
from tests.autograder.sandbox.conftest import LIMITS, probe, run, shown_in_tmp

LEVEL = detect_level()
pytestmark = pytest.mark.skipif(
    LEVEL.startswith("L0"), reason=f"needs bubblewrap (L1); this machine gives {LEVEL}"
)

#: Plant every kind of state a child could leave for the next one in its slot.
PLANT = """
import ctypes, json, os, time
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs('/tmp/locked/inner')
open('/tmp/locked/inner/answers', 'w').write('42')
os.chmod('/tmp/locked', 0)
open('/tmp/note', 'w').write('42')
open('/dev/shm/note', 'w').write('42')
planted = {
    'shm': libc.shmget(0x414C5201, 4096, 0o1666),
    'msg': libc.msgget(0x414C5202, 0o1666),
    'sem': libc.semget(0x414C5203, 1, 0o1666),
    'key_user': libc.syscall(248, b'user', b'alr-leak', b'42', 2, -4),
    'key_session': libc.syscall(248, b'user', b'alr-leak', b'42', 2, -3),
}
if os.fork() == 0:
    os.setsid()
    libc.prctl(15, b'alr-leftover', 0, 0, 0)
    time.sleep(120)
    os._exit(0)
time.sleep(0.1)
planted['files'] = sorted(os.listdir('/tmp'))
result = json.dumps(planted)
"""

#: What the next child of the same slot can find of it.
LOOK = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
seen = [p for p in ('/tmp/locked', '/tmp/note', '/dev/shm/note') if os.path.lexists(p)]
if libc.shmget(0x414C5201, 0, 0) >= 0: seen.append('shm')
if libc.msgget(0x414C5202, 0) >= 0: seen.append('msg')
if libc.semget(0x414C5203, 0, 0) >= 0: seen.append('sem')
if libc.syscall(250, 10, -4, b'user', b'alr-leak', 0) >= 0: seen.append('key_user')
if libc.syscall(250, 10, -3, b'user', b'alr-leak', 0) >= 0: seen.append('key_session')
for pid in os.listdir('/proc'):
    try:
        if pid.isdigit() and open(f'/proc/{pid}/comm').read().strip() == 'alr-leftover':
            seen.append('process')
    except OSError:
        pass
result = json.dumps(seen)
"""

#: Try each syscall the filter denies, with arguments that fail differently without it.
SYSCALLS = """
import ctypes, errno, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *(ctypes.c_long(a) for a in args))
    return 0 if r >= 0 else ctypes.get_errno()
got = {}
for name in ('AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET', 'AF_VSOCK', 'AF_UNIX'):
    try:
        kind = socket.SOCK_STREAM if name == 'AF_VSOCK' else socket.SOCK_DGRAM
        socket.socket(getattr(socket, name), kind).close()
        got[name] = 0
    except OSError as exc:
        got[name] = exc.errno
try:
    a, b = socket.socketpair(socket.AF_UNIX)
    a.close(); b.close()
    got['socketpair_unix'] = 0
except OSError as exc:
    got['socketpair_unix'] = exc.errno
got['socketpair_inet'] = call(53, socket.AF_INET, socket.SOCK_STREAM, 0, 0)
got['io_uring_setup'] = call(425, 0, 0)
got['io_uring_enter'] = call(426, -1, 0, 0, 0, 0, 0)
got['io_uring_register'] = call(427, -1, 0, 0, 0)
got['keyctl'] = call(250, 0, -4, 0)
got['add_key'] = call(248, 0, 0, 0, 0, -4)
got['request_key'] = call(249, 0, 0, 0, 0)
got['bpf'] = call(321, 9999, 0, 0)
got['perf_event_open'] = call(298, 0, 0, -1, -1, 0)
got['userfaultfd'] = call(323, 1 | 0x40000000)
got['ptrace'] = call(101, 3, os.getpid(), 0, 0)
result = json.dumps(got)
"""
DENIED = (
    "AF_INET",
    "AF_INET6",
    "AF_NETLINK",
    "AF_PACKET",
    "AF_VSOCK",
    "socketpair_inet",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "ptrace",
)

#: Every way graded code could reach torch.optim; each must raise the policy's error.
OPTIM_ROUTES = {
    "attribute": "torch.optim.Adam([p])",
    "import": "import torch.optim as o\no.SGD([p], lr=0.1)",
    "from": "from torch.optim import Adafactor\nAdafactor([p])",
    "importlib": "import importlib\nimportlib.import_module('torch.optim.adam').Adam([p])",
    "sys.modules": "import sys\nsys.modules['torch.optim'].AdamW([p])",
    "submodule": "import torch.optim.adam\ntorch.optim.adam.Adam([p])",
    "functional": "from torch.optim import _functional as F\nF.adam([p], [p], [p], [p], [], [])",
    "subclass": "class Mine(torch.optim.Optimizer):\n    pass",
    "isinstance": "isinstance(p, torch.optim.Optimizer)",
    "gc": (
        "import gc\n"
        "gc.unfreeze()\n"  # the worker's heap, frozen before the fork, back in view
        "cls = next(o for o in gc.get_objects() if isinstance(o, type) "
        "and o.__name__ == 'Adam' and o.__module__ == 'torch.optim.adam')\n"
        "cls([p])"
    ),
    "subclasses": (
        "base = next(c for c in object.__subclasses__() if c.__name__ == 'Optimizer')\n"
        "base.__subclasses__()[0]([p], lr=0.1)"
    ),
    "file": (
        "import importlib.util, os\n"
        "path = os.path.join(os.path.dirname(torch.__file__), 'optim', 'adam.py')\n"
        "spec = importlib.util.spec_from_file_location('adam_copy', path)\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
    ),
    "code": (
        "import gc\n"
        "gc.unfreeze()\n"
        "fn = next(o for o in gc.get_objects() if type(o).__name__ == 'function' "
        "and o.__module__ == 'torch.optim.adam')\n"
        "fn.__code__"
    ),
}
OPTIM_PROBE = """
import json, torch
p = torch.zeros(2, requires_grad=True)
got = {}
for name, code in ROUTES.items():
    try:
        exec(code, {'torch': torch, 'p': p})
        got[name] = 'reached'
    except Exception as exc:
        got[name] = type(exc).__name__ + ': ' + str(exc)
result = json.dumps(got)
"""


#: A read-only view under /tmp (as when the checkout and its .venv live there), shown to the L1
#: sandbox: the child's new /tmp must show it again.
VIEW = Path(tempfile.gettempdir()) / f"alr-view-{os.getpid()}"


def _with(
    caps: layers.Capabilities | None = None, fresh: bool = True, view: bool = False
) -> Iterator[Sandbox]:
    with pytest.MonkeyPatch.context() as mp:
        if caps is not None:
            mp.setattr(layers, "detect", lambda: caps)
        if view:
            shown = layers.python_dirs()
            mp.setattr(layers, "python_dirs", lambda: [*shown, str(VIEW)])
        if not fresh:
            original = Slot._worker_cfg
            mp.setattr(
                Slot, "_worker_cfg", lambda self, fd: {**original(self, fd), "fresh_ns": False}
            )
        # a generous time limit: no verdict here is about time, none may hinge on the load
        with Sandbox(workers=1, limits=replace(LIMITS, timeout_s=60)) as sb:
            yield sb


@pytest.fixture(scope="module")
def own_level() -> Iterator[Sandbox]:
    """The machine's own level (L2+seccomp here)."""
    yield from _with()


@pytest.fixture(scope="module")
def l1() -> Iterator[Sandbox]:
    """L1 without seccomp: namespaces (and, as root, a user id per slot) only; with a view
    under /tmp."""
    caps = layers.detect()
    VIEW.mkdir(mode=0o755)
    (VIEW / "marker.py").write_text("VALUE = 42\n")
    (VIEW / "marker.py").chmod(0o644)
    try:
        yield from _with(layers.Capabilities(caps.bwrap, caps.root, False, False), view=True)
    finally:
        shutil.rmtree(VIEW)


@pytest.fixture(scope="module")
def l1_wiped() -> Iterator[Sandbox]:
    """L1 without seccomp where no fresh namespaces are made: the worker wipes instead."""
    caps = layers.detect()
    yield from _with(layers.Capabilities(caps.bwrap, caps.root, False, False), fresh=False)


def _plant_then_look(sb: Sandbox) -> tuple[dict[str, object], list[str]]:
    planted = json.loads(probe(sb, PLANT))
    return planted, json.loads(probe(sb, LOOK))


def test_nothing_a_child_leaves_reaches_the_next_child_of_its_slot(own_level: Sandbox) -> None:
    """At the machine's level: after a child leaves a mode-000 folder in /tmp, files in /tmp and
    /dev/shm, System V segment, queue and semaphores and a daemon, does the next child of the
    same slot find none of them (and were the keys refused outright)?"""
    assert all(s.fresh for s in own_level._slots)
    planted, seen = _plant_then_look(own_level)
    assert all(planted[k] >= 0 for k in ("shm", "msg", "sem"))  # type: ignore[operator]
    assert set(planted["files"]) - shown_in_tmp() == {"locked", "note"}  # type: ignore[arg-type]
    if LEVEL.endswith("+seccomp"):
        assert planted["key_user"] == planted["key_session"] == -1
    assert seen == []


def test_without_seccomp_keys_and_everything_else_still_die_with_the_child(l1: Sandbox) -> None:
    """At L1 without seccomp, where keys can be added: do keys in the user and session keyrings
    die with the child like its files, IPC objects and processes?"""
    assert l1.level == "L1" and all(s.fresh for s in l1._slots)
    planted, seen = _plant_then_look(l1)
    assert all(planted[k] >= 0 for k in ("shm", "msg", "sem", "key_user", "key_session"))  # type: ignore[operator]
    assert seen == []


def test_without_fresh_namespaces_the_worker_wipes_everything(l1_wiped: Sandbox) -> None:
    """Where user namespaces cannot be made: does the worker's wipe remove the mode-000
    folder, the files, the IPC objects and the keys before the next child?"""
    assert not any(s.fresh for s in l1_wiped._slots)
    planted, seen = _plant_then_look(l1_wiped)
    assert all(planted[k] >= 0 for k in ("shm", "msg", "sem", "key_user", "key_session"))  # type: ignore[operator]
    assert seen == []


def test_a_child_never_holds_the_graders_session_keyring(l1: Sandbox) -> None:
    """Is the child's session keyring a new one, not the one the grader was started in?"""
    libc = ctypes.CDLL(None, use_errno=True)
    grader = libc.syscall(250, 0, -3, 0)  # KEYCTL_GET_KEYRING_ID of the session keyring
    child = int(probe(l1, "import ctypes\nresult = str(ctypes.CDLL(None).syscall(250, 0, -3, 0))"))
    assert child > 0 and child != grader


@pytest.mark.skipif(not LEVEL.endswith("+seccomp"), reason=f"needs seccomp; here {LEVEL}")
def test_the_filter_denies_each_listed_syscall_and_socket_family(
    own_level: Sandbox, l1: Sandbox
) -> None:
    """At L2+seccomp: is every socket family but AF_UNIX, io_uring, keyrings, bpf, perf events,
    userfaultfd and ptrace refused with EPERM in the child, while AF_UNIX sockets work; and
    does the same probe at L1 show that the filter is what refuses them (AF_INET and the
    syscalls fail otherwise, or succeed)?"""
    got = json.loads(probe(own_level, SYSCALLS))
    assert {k: got[k] for k in DENIED} == dict.fromkeys(DENIED, errno.EPERM)
    assert got["AF_UNIX"] == got["socketpair_unix"] == 0
    without = json.loads(probe(l1, SYSCALLS))
    assert without["AF_INET"] == without["AF_NETLINK"] == 0  # an empty network namespace
    differ = {"io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key"}
    differ |= {"perf_event_open", "userfaultfd", "ptrace", "socketpair_inet"}
    assert all(without[k] != errno.EPERM for k in differ), without


def test_the_filter_holds_a_rule_for_every_denied_syscall() -> None:
    """Does the filter the child loads hold a rule for every syscall of the list, and allow
    socket() and socketpair() for AF_UNIX only (read on the filter itself, where the errnos
    seen in a child cannot tell a filter from a kernel setting, as for bpf)?"""
    sc = pytest.importorskip("pyseccomp")
    original = sc.SyscallFilter

    class Exported(original):  # type: ignore[misc, valid-type]
        def load(self) -> None:
            self.export_pfc(pfc)

    with tempfile.TemporaryFile("w+") as pfc, pytest.MonkeyPatch.context() as mp:
        mp.setattr(sc, "SyscallFilter", Exported)
        isolate.load_filter()
        pfc.seek(0)
        text = pfc.read()
    for name in (*isolate.DENIED, "socket", "socketpair"):
        assert f'filter for syscall "{name}"' in text, name
    for call in ("socket", "socketpair"):
        rule = text.split(f'filter for syscall "{call}"')[1].split("filter for syscall")[0]
        assert f"if ($a0.lo32 == {socket.AF_UNIX})" in rule and "action ERRNO(1)" in rule


def test_concurrent_sandboxes_get_disjoint_slot_user_ids(own_level: Sandbox, l1: Sandbox) -> None:
    """As root: do two sandboxes alive at once (two batches) run their slots as different user
    ids, and does a third claim in the same process get yet another block?"""
    if os.geteuid() != 0:
        pytest.skip("slot user ids are only given as root")
    a = {s.uid for s in own_level._slots}
    b = {s.uid for s in l1._slots}
    assert None not in a | b and not a & b
    first, fd = pool.claim_uids(4)
    try:
        assert first not in a | b and first + 3 not in a | b
        assert all(not (first <= uid < first + 256) for uid in a | b)  # type: ignore[operator]
    finally:
        os.close(fd)


@pytest.mark.parametrize("sandbox_name", ["own_level", "l1"])
def test_torch_optim_cannot_be_reached_by_any_route(
    sandbox_name: str, request: pytest.FixtureRequest
) -> None:
    """At the machine's level and at L1: does every route to torch.optim (attribute, import,
    importlib, sys.modules, submodules, Adafactor, the gc heap, subclasses, its files, its
    code) raise the policy's error in the child?"""
    sb: Sandbox = request.getfixturevalue(sandbox_name)
    got = json.loads(probe(sb, f"ROUTES = {OPTIM_ROUTES!r}\n" + OPTIM_PROBE))
    refused = {
        k: v for k, v in got.items() if v.startswith("TorchOptimNotAvailable") and OPTIM_POLICY in v
    }
    assert set(refused) == set(OPTIM_ROUTES), {k: v for k, v in got.items() if k not in refused}


def test_a_graded_function_using_torch_optim_gets_the_policy_verdict(own_level: Sandbox) -> None:
    """Does a graded call that steps with torch.optim record an error that names the policy,
    while the same job without it still runs?"""
    source = (
        "import torch\n"
        "def ema(avg, x, beta):\n"
        "    p = avg.clone().requires_grad_(True)\n"
        "    opt = torch.optim.SGD([p], lr=1.0)\n"
        "    return p\n"
    )
    res = run(own_level, source)
    assert res.status is RunStatus.OK
    error = res.cases["c1"][0].error
    assert error is not None and OPTIM_POLICY in error
    plain = run(own_level, "def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n")
    assert plain.cases["c1"][0].error is None


def test_a_course_may_allow_torch_optim() -> None:
    """With the policy switched off (allow_torch_optim), does the same function run?"""
    with Sandbox(workers=1, limits=replace(LIMITS, timeout_s=60, allow_torch_optim=True)) as sb:
        got = json.loads(
            probe(sb, f"ROUTES = {dict(list(OPTIM_ROUTES.items())[:3])!r}\n" + OPTIM_PROBE)
        )
    assert got == dict.fromkeys(list(OPTIM_ROUTES)[:3], "reached")


def test_limits_refuse_a_policy_that_is_not_a_boolean() -> None:
    from alr.errors import SandboxError

    with pytest.raises(SandboxError, match="allow_torch_optim"):
        Limits(allow_torch_optim="no")  # type: ignore[arg-type]


def test_a_view_under_tmp_is_shown_again_in_the_childs_new_tmp(l1: Sandbox) -> None:
    """When package folders live under /tmp (a checkout there and its .venv), does the child's
    new /tmp show them again, read-only, and nothing else?"""
    got = json.loads(
        probe(
            l1,
            f"""
            import json, os
            view = {str(VIEW)!r}
            try:
                open(os.path.join(view, 'planted.py'), 'w').close()
                writable = True
            except OSError:
                writable = False
            result = json.dumps({{'marker': open(os.path.join(view, 'marker.py')).read(),
                                  'writable': writable, 'tmp': sorted(os.listdir('/tmp'))}})
            """,
        )
    )
    assert got["marker"] == "VALUE = 42\n" and got["writable"] is False
    assert set(got["tmp"]) == {VIEW.name} | shown_in_tmp()
