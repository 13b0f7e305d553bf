"""Stage 1, load: read a submission file into code cells, safely, and decide a notebook's scope.

Only a regular file is read (opened without following links; a link, a pipe or a device is
refused), and never more than the size limit. A `.py` file is one cell; a notebook gives its code
cells in order (with nbgrader's read-only cells marked `locked`), checked against limits before
any work (size, nesting, number of cells). Anything that cannot be read is a `SubmissionError`
whose message says what to fix; the stage records it and the result is still written.

A notebook grades its own module: from its metadata `{"alr": {"module": "3.1"}}`, else from
`--module`, else from the layout's hint (an nbgrader assignment folder, an unambiguous file name
such as module-3-1.ipynb); with none of these it is an error that names no module and scores
nothing. A `.py` file's scope is decided by extract (the modules of the functions it defines).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from alr.contract import MODULE_IDS
from alr.errors import SubmissionError
from autograder.stages.context import Cell, Context, Submission, SubmissionKind

MAX_BYTES = 8 * 1024 * 1024  # a notebook with a few plots is well under this
MAX_CELLS = 5000
SUFFIXES = (".py", ".ipynb")

_MODULE_IN_NAME = re.compile(r"(?<![0-9])([34])[-_. ]([1-5])(?![0-9])")


def module_from_name(name: str) -> str | None:
    """The one module id a file or folder name names (module-3-1, hw_4.2, 3.1), else None."""
    found = {f"{a}.{b}" for a, b in _MODULE_IN_NAME.findall(name)}
    return found.pop() if len(found) == 1 else None


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, opened without following a link, at most `max_bytes`."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", -1) or path.is_symlink():
            raise SubmissionError(
                f"{path.name} is a symbolic link; submit the file itself"
            ) from None
        raise SubmissionError(f"the file cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{path.name} is not a regular file; submit the file itself")
        if info.st_size > max_bytes:
            raise SubmissionError(_too_big(info.st_size, max_bytes))
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > max_bytes:  # it grew while being read
        raise SubmissionError(_too_big(total, max_bytes))
    return b"".join(chunks)


def _too_big(size: int, max_bytes: int) -> str:
    return (
        f"the file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit; clear "
        "the notebook's outputs (Edit > Clear Outputs of All Cells) and submit again"
    )


def file_sha256(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """sha256 of what grading reads of the file (empty for a file that cannot be read)."""
    try:
        return hashlib.sha256(read_regular(path, max_bytes)).hexdigest()
    except SubmissionError:
        return ""


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 and submit again"
        ) from None


def _source(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    raise SubmissionError(f"{where}: the source is not text; save the notebook from Jupyter")


def _upgraded(text: str) -> Any:
    """An nbformat 1-3 notebook converted to version 4 by nbformat."""
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on malformed files
        raise SubmissionError(
            f"the file is an old notebook nbformat cannot convert ({type(exc).__name__}); open "
            "and save it in Jupyter"
        ) from None


def _notebook(text: str) -> Submission:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"the notebook is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "it may have been cut off or edited by hand: download it again from Jupyter"
        ) from None
    except RecursionError:
        raise SubmissionError(
            "the notebook's JSON is nested too deeply to be a notebook; save it from Jupyter"
        ) from None
    if isinstance(nb, dict) and nb.get("nbformat") in (1, 2, 3):
        nb = _upgraded(text)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError(
            "the file is not a Jupyter notebook (no list of cells); save it from Jupyter as .ipynb"
        )
    if len(nb["cells"]) > MAX_CELLS:
        raise SubmissionError(
            f"the notebook has {len(nb['cells'])} cells, over the {MAX_CELLS} limit"
        )
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        locked = isinstance(nbgrader, dict) and nbgrader.get("locked") is True
        cells.append(Cell(i, _source(cell.get("source", ""), f"cell {i + 1}"), locked))
    meta = nb.get("metadata")
    alr = meta.get("alr") if isinstance(meta, dict) else None
    module = alr.get("module") if isinstance(alr, dict) else None
    if isinstance(module, float):  # {"module": 3.1} written as a number
        module = str(module)
    notes: tuple[str, ...] = ()
    if module is not None and module not in MODULE_IDS:
        notes = (
            f"the notebook's metadata names module {str(module)[:20]!r}, which does not exist",
        )
        module = None
    return Submission(SubmissionKind.NOTEBOOK, tuple(cells), module, notes)


def read_submission(path: Path, *, max_bytes: int = MAX_BYTES) -> Submission:
    """Read and parse one submission file, or raise SubmissionError saying what is wrong."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SubmissionError(f"expected a .py or .ipynb file, got {suffix or 'no extension'}")
    text = _decode(read_regular(path, max_bytes))
    if not text.strip():
        raise SubmissionError("the file is empty; submit the file with your functions in it")
    if suffix == ".ipynb":
        return _notebook(text)
    return Submission(SubmissionKind.PYTHON, (Cell(None, text),), None)


def _notebook_scope(ctx: Context, submission: Submission) -> tuple[str, ...] | str:
    """A notebook's module, or the error to record when it has none."""
    module = submission.module or ctx.settings.module or ctx.hint
    if module is not None:
        return (module,)
    return (
        "the notebook does not say which module it is (its metadata has no module, and neither "
        "its name nor its folder names one); grade it with --module 3.1 (its module), or submit "
        "the notebook handed out for the module"
    )


def load_submission(ctx: Context) -> Context:
    """Stage: read the file named by the context; a bad file becomes the context's error."""
    try:
        submission = read_submission(ctx.path, max_bytes=ctx.settings.max_bytes)
    except SubmissionError as exc:
        known = ctx.settings.module or ctx.hint  # the module it was submitted for, if known
        return replace(ctx, error=str(exc), modules=(known,) if known else None)
    ctx = replace(ctx, submission=submission, notes=ctx.notes + submission.notes)
    if submission.kind is SubmissionKind.NOTEBOOK:
        scope = _notebook_scope(ctx, submission)
        if isinstance(scope, str):
            return replace(ctx, error=scope)
        return replace(ctx, modules=scope)
    if ctx.settings.module is not None:
        return replace(ctx, modules=(ctx.settings.module,))
    return ctx
