"""Does the filesystem view hold up wherever the checkout and its environment live?"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from autograder.sandbox import isolate, layers


def test_tmp_tmpfs_is_mounted_before_binds_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A .venv under /tmp stays visible: the /tmp tmpfs comes first, its binds after it."""
    monkeypatch.setattr(layers, "python_dirs", lambda: ["/tmp/checkout/.venv"])
    args = layers.view_args(boot_dir=None, tmpfs_mb=16, cuda=False, setuid=False)
    tmpfs = [i for i, a in enumerate(args) if a == "--tmpfs" and args[i + 1] == "/tmp"]
    binds = [i for i, a in enumerate(args) if a == "--ro-bind" and args[i + 2].startswith("/tmp/")]
    assert len(tmpfs) == 1 and binds
    assert tmpfs[0] < min(binds)
    assert ["--dir", "/tmp"] not in [args[i : i + 2] for i in range(len(args) - 1)]


def test_python_dirs_show_package_folders_from_sys_path_but_not_the_script_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site-packages added by a .pth is shown; sys.path[0] (a working directory) never is."""
    workdir = tmp_path / "autograder-root"
    extra = tmp_path / "base" / "lib" / "site-packages"
    workdir.mkdir()
    extra.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(workdir), *sys.path, str(extra)])
    shown = layers.python_dirs()
    assert str(extra) in shown
    assert not any(Path(d) == workdir or workdir.is_relative_to(d) for d in shown)


def _as_slot_user(tmp_path: Path, fn: Callable[[], None]) -> None:
    """Run fn as an unprivileged user owning tmp_path (root ignores modes: a mode-000 folder
    only stops its owner), or as ourselves when not root."""
    if os.geteuid() != 0:
        fn()
        return
    uid = 1_799_999_999
    for p in [tmp_path, *tmp_path.rglob("*")]:
        os.lchown(p, uid, uid)
    for parent in tmp_path.parents:  # pytest's folders are 0700: let the user reach its own
        if parent.stat().st_mode & 0o005 != 0o005:
            pytest.skip(f"{parent} cannot be traversed by another user")
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            fn()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def test_wipe_keeps_read_only_views_and_empties_the_folders_around_them() -> None:
    """Where no fresh namespaces can be made, does everything go between children (a mode-000
    folder and what it holds included) except the bound environment and the path to it?"""
    tmp_path = Path(tempfile.mkdtemp(prefix="alr-wipe-", dir="/tmp"))
    tmp_path.chmod(0o755)
    try:
        _wipe_as_slot_user(tmp_path)
    finally:
        for d in [tmp_path, *tmp_path.rglob("*")]:
            if d.is_dir():
                d.chmod(0o755)
        shutil.rmtree(tmp_path)


def _wipe_as_slot_user(tmp_path: Path) -> None:
    venv = tmp_path / "checkout" / ".venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "torch.py").write_text("")
    (tmp_path / "checkout" / "planted.py").write_text("")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "answers").write_text("")
    (tmp_path / "top.txt").write_text("")
    locked = tmp_path / "locked" / "inner"
    locked.mkdir(parents=True)
    (locked / "answers").write_text("")
    (tmp_path / "locked").chmod(0)  # cannot be listed until it is opened up again
    _as_slot_user(tmp_path, lambda: isolate.wipe_dir(str(tmp_path), [str(venv)]))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "checkout",
        "checkout/.venv",
        "checkout/.venv/lib",
        "checkout/.venv/lib/torch.py",
    ]
