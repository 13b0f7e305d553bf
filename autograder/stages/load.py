"""Stage 1, load: read a submission file into code cells, safely.

A `.py` file is one cell; a notebook (nbformat 4, older versions converted) gives its code cells
in order, and its metadata `{"alr": {"module": "3.1"}}` (when present and valid) limits grading to
that module's functions. Anything that cannot be read (too big, empty, not UTF-8, not JSON, not a
notebook, unknown extension) is a `SubmissionError` with a message that says what to fix; the
stage records it on the context and the report still runs.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import replace
from pathlib import Path

from alr.contract import MODULE_IDS
from alr.errors import SubmissionError
from autograder.stages.context import Cell, Context, Submission, SubmissionKind

MAX_BYTES = 8 * 1024 * 1024  # a notebook with a few plots is well under this


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes, read in chunks (works for huge files too)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 and submit again"
        ) from None


def _notebook(text: str) -> Submission:
    import nbformat

    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"the notebook is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "it may have been cut off or edited by hand: download it again from Jupyter"
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        cells = tuple(
            Cell(i, str(c.get("source", "")))
            for i, c in enumerate(nb.cells)
            if c.get("cell_type") == "code"
        )
        meta = nb.get("metadata", {}).get("alr", {})
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on malformed files
        raise SubmissionError(
            f"the file is not a Jupyter notebook nbformat can read ({type(exc).__name__}: "
            f"{str(exc)[:200]}); save it from Jupyter as .ipynb"
        ) from None
    notes: list[str] = []
    module = meta.get("module") if isinstance(meta, dict) else None
    if isinstance(module, float):  # {"module": 3.1} written as a number
        module = str(module)
    if module is not None and module not in MODULE_IDS:
        notes.append(
            f"notebook metadata names module {str(module)[:20]!r}, which does not "
            "exist; every graded function was graded"
        )
        module = None
    return Submission(SubmissionKind.NOTEBOOK, cells, module, tuple(notes))


def read_submission(path: Path, *, max_bytes: int = MAX_BYTES) -> Submission:
    """Read and parse one submission file, or raise SubmissionError saying what is wrong."""
    suffix = path.suffix.lower()
    if suffix not in (".py", ".ipynb"):
        raise SubmissionError(f"{path.name}: expected a .py or .ipynb file, got {suffix or 'none'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SubmissionError(
                f"the file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit; "
                "clear the notebook's outputs (Edit > Clear Outputs of All Cells) and submit again"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"the file cannot be read ({exc.strerror})") from None
    text = _decode(data)
    if not text.strip():
        raise SubmissionError("the file is empty; submit the file with your functions in it")
    if suffix == ".ipynb":
        return _notebook(text)
    return Submission(SubmissionKind.PYTHON, (Cell(None, text),), None)


def load_submission(ctx: Context) -> Context:
    """Stage: read the file named by the context; a bad file becomes the context's error."""
    try:
        submission = read_submission(ctx.path, max_bytes=ctx.settings.max_bytes)
    except SubmissionError as exc:
        return replace(ctx, error=str(exc))
    return replace(ctx, submission=submission, notes=ctx.notes + submission.notes)
