"""Safe output: atomic writes, CSV text, numbers as the LMSes read them, guarded free text.

A cell whose text starts with `=`, `+`, `-`, `@`, tab or carriage return is read as a formula by
Excel, LibreOffice and Google Sheets (CSV injection); prefixing `'` makes it plain text. Only
free text (names, sections, feedback) is guarded: identity cells (emails, user and SIS ids,
logins) are written exactly as the LMS has them, or the LMS would match nobody (an address
`-dash@school.example` written as `'-dash@...` makes Moodle refuse the whole import); they are
validated instead (`autograder.export.identity`). Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from alr.errors import ExportError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Free text made safe for a spreadsheet cell: `'` in front of a formula-starting character.

    Never for identity cells (see the module docstring)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def number(value: float, places: int | None = None) -> str:
    """A score as CSV text: plain decimal, never an exponent, no trailing zeros (2.0 -> "2").

    With `places=None` the float's full precision (its shortest round-trip digits: 1/3 ->
    "0.3333333333333333"); otherwise rounded to `places` decimals, for an LMS that stores no
    more (Moodle keeps 5).
    """
    exact = Decimal(repr(float(value))) if places is None else round(Decimal(repr(value)), places)
    text = format(exact, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def render_csv(rows: Iterable[Sequence[str]]) -> str:
    """Rows as CSV text with every field quoted and `\\r\\n` line ends (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def read_csv(path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a UTF-8 CSV file (`what` names it in errors)."""
    try:
        reader = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")))
        rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{path}: cannot read the {what} as UTF-8 CSV: {exc}") from exc
    return list(reader.fieldnames or []), rows


def read_student_map(path: Path, column: str) -> dict[str, str]:
    """student id -> `column`, from a UTF-8 CSV with a header holding `student` and `column`.

    Values are kept exactly as written (identity values are validated by the caller, never
    rewritten); other columns are ignored.
    """
    fields, rows = read_csv(path, "roster")
    if "student" not in fields or column not in fields:
        raise ExportError(
            f"{path}: line 1: expected columns 'student' and {column!r}, got {fields}; "
            f"write a header row 'student,{column}'"
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
