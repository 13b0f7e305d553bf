"""Safe output: atomic writes and spreadsheet-formula neutralisation.

A cell whose text starts with `=`, `+`, `-`, `@`, tab or carriage return is read as a formula by
Excel, LibreOffice and Google Sheets (CSV injection); prefixing `'` makes it plain text. Only
student-derived text is neutralised: numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from alr.errors import ExportError
from alr.fileio import write_atomic

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """`text` made safe for a spreadsheet cell: `'` in front of a formula-starting character."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def number(value: float) -> str:
    """A score as spreadsheet text: plain decimal, at most 4 places, no exponent (2.0 -> "2")."""
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def render_csv(rows: Iterable[Sequence[str]]) -> str:
    """Rows as CSV text with every field quoted and `\\r\\n` line ends (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write `data` to `path` atomically (alr.fileio.write_atomic); a folder that cannot be
    created becomes an ExportError naming the file, a failed write or replace stays an OSError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return write_atomic(path, data)


def read_student_map(path: Path, column: str) -> dict[str, str]:
    """student id -> `column`, from a UTF-8 CSV with a header holding `student` and `column`."""
    try:
        reader = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")))
        rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{path}: cannot read the roster as UTF-8 CSV: {exc}") from exc
    fields = reader.fieldnames or []
    if "student" not in fields or column not in fields:
        raise ExportError(
            f"{path}: line 1: expected columns 'student' and {column!r}, got {fields}"
        )
    found: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        student, value = (row.get("student") or "").strip(), (row.get(column) or "").strip()
        if not student:
            continue
        if not value:
            raise ExportError(f"{path}: line {line}: {column}: empty for student {student!r}")
        if student in found:
            raise ExportError(f"{path}: line {line}: student {student!r} is listed twice")
        found[student] = value
    return found
