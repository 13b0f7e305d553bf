"""Does the filesystem view hold up wherever the checkout and its environment live?"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autograder.sandbox import layers, worker


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


def test_wipe_keeps_read_only_views_and_empties_the_folders_around_them(tmp_path: Path) -> None:
    """Between children everything goes except the bound environment (and the path to it)."""
    venv = tmp_path / "checkout" / ".venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "torch.py").write_text("")
    (tmp_path / "checkout" / "planted.py").write_text("")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "answers").write_text("")
    (tmp_path / "top.txt").write_text("")
    worker._wipe_dir(str(tmp_path), [str(venv)])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "checkout",
        "checkout/.venv",
        "checkout/.venv/lib",
        "checkout/.venv/lib/torch.py",
    ]
