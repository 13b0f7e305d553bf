"""Atomic file writes, shared by every part that writes results, answers, exports or notebooks.

A reader (or a crash) sees the old file or the new one, never a part: the data goes to a temp
file in the same folder, is flushed to disk, and replaces the target with `os.replace` (atomic
within one file system).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from alr.errors import AlrError


def _process_umask() -> int:
    """The umask, read once: from /proc where Linux has it, else by setting and restoring it at
    import (before any thread of the package runs), never while other threads create files."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The mode bits a plain open() leaves off; written files get 0o666 less these.
UMASK = _process_umask()


def write_atomic(path: Path, data: str | bytes, *, durable: bool = True) -> Path:
    """Replace `path` with `data` (text is written as UTF-8, newlines untranslated).

    `durable` fsyncs the temp file before the replace (results, answers, gradebooks); files that
    are rebuilt from their inputs may skip it. The file gets the mode a plain open() would give
    (0o666 less the umask), not mkstemp's private 0o600.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AlrError(
            f"{path}: cannot write here ({exc.strerror or exc}); choose another folder"
        ) from exc
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
