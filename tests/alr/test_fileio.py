"""Atomic writes: a reader (or a crash) sees the old file or the new one, never a part."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from alr.errors import AlrError
from alr.fileio import UMASK, write_atomic


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "grades.csv"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["grades.csv"]


def test_failed_replace_keeps_the_old_content_and_cleans_up(tmp_path: Path) -> None:
    """When the final rename fails (the target is a non-empty folder), nothing is lost or left."""
    target = tmp_path / "grades.csv"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert (target / "keep.txt").read_text() == "old"
    assert os.listdir(tmp_path) == ["grades.csv"]


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    """Is a target under a file (so its folder cannot exist) an AlrError naming the path?"""
    (tmp_path / "file").write_text("x")
    with pytest.raises(AlrError, match="file/out.csv: cannot write here"):
        write_atomic(tmp_path / "file" / "out.csv", "new")


def test_written_files_get_the_umask_mode_not_a_private_one(tmp_path: Path) -> None:
    """Does a written file get 0o666 less the process umask (read once at import)?"""
    path = write_atomic(tmp_path / "a.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~UMASK
    mask = os.umask(0o022)
    os.umask(mask)
    assert mask == UMASK
