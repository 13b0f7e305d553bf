"""Moodle grade import CSV: an email column, then a grade and a feedback column per item.

Moodle's CSV import lets the instructor map one column to a user field (here `email` ->
"Email address") and every other column to a grade item or to "Feedback for <item>". An empty
cell means "no grade"; a non-numeric grade aborts the whole import, so grades are plain numbers.
Students are identified by an email address: the student id itself when it is one, otherwise
the `email` column of a roster CSV with columns `student,email`.
"""

from __future__ import annotations

from pathlib import Path

from alr.errors import ExportError
from autograder.export.files import atomic_write, neutralise, number, read_student_map, render_csv
from autograder.export.gradesheet import ExportReport, GradeSheet


def read_email_roster(path: Path) -> dict[str, str]:
    """student id -> email, from a CSV with (at least) the columns `student` and `email`."""
    emails = read_student_map(Path(path), "email")
    for student, email in emails.items():
        if "@" not in email:
            raise ExportError(
                f"{path}: student {student!r}: email: expected an address, got {email!r}"
            )
    return emails


def render_moodle(sheet: GradeSheet, emails: dict[str, str] | None) -> tuple[str, ExportReport]:
    """The import CSV text and its report (students without an email are listed, not written)."""
    header = ["email"]
    for column in sheet.columns:
        header += [column.title, f"{column.title} feedback"]
    rows = [header]
    written: list[str] = []
    unmatched: list[str] = []
    for student in sheet.students:
        email = emails.get(student) if emails is not None else student
        if not email or "@" not in email:
            unmatched.append(student)
            continue
        cells = sheet.rows[student]
        row = [neutralise(email)]
        for column in sheet.columns:
            cell = cells.get(column.key)
            row += ["", ""] if cell is None else [number(cell.score), neutralise(cell.feedback)]
        rows.append(row)
        written.append(student)
    return render_csv(rows), ExportReport(Path(), tuple(written), tuple(unmatched))


def export_moodle(*, sheet: GradeSheet, out: Path, roster: Path | None = None) -> ExportReport:
    """Write the Moodle import CSV for `sheet` to `out` (atomically)."""
    emails = read_email_roster(roster) if roster is not None else None
    text, report = render_moodle(sheet, emails)
    atomic_write(Path(out), text)
    return ExportReport(Path(out), report.students, report.unmatched)
