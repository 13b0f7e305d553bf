"""Moodle grade import CSV: an email column, then a grade and a feedback column per item.

Moodle's CSV import lets the instructor map one column to a user field (here `email` ->
"Email address") and every other column to a grade item or to "Feedback for <item>". An empty
cell means "no grade"; a non-numeric grade, or an address that matches nobody, aborts the whole
import. So grades are plain numbers to 5 decimals (what Moodle stores), and addresses are
written exactly as given (`-dash@school.example` stays as it is) and validated instead.

A student's address is, in this order: the `email` of their results (`extra_data.email`, from
an LMS's submission metadata), the `email` column of a roster CSV with columns
`student,email`, or the student id itself when it is an address.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from alr.errors import ExportError
from alr.fileio import write_atomic
from autograder.export.files import neutralise, number, read_student_map, render_csv
from autograder.export.gradesheet import ExportReport, GradeSheet, require_roster
from autograder.export.identity import IdKind, check, is_valid

#: Moodle stores grades as DECIMAL(10,5): more places would be rounded by Moodle anyway.
GRADE_PLACES = 5


def read_email_roster(path: Path) -> dict[str, str]:
    """student id -> email, from a CSV with (at least) the columns `student` and `email`."""
    emails = read_student_map(Path(path), "email")
    for student, email in emails.items():
        check(IdKind.EMAIL, email, f"{path}: student {student!r}: email")
    return emails


def student_emails(
    sheet: GradeSheet, roster: dict[str, str] | None, where: Path | None = None
) -> tuple[dict[str, str], tuple[str, ...]]:
    """(student -> address, students without one). Results and roster must agree."""
    emails: dict[str, str] = {}
    unmatched: list[str] = []
    owner: dict[str, str] = {}
    for student in sheet.students:
        from_results = sheet.identity(student).email
        from_roster = (roster or {}).get(student, "")
        if from_results and from_roster and from_results != from_roster:
            raise ExportError(
                f"{where or 'roster'}: student {student!r}: email {from_roster!r}, but their "
                f"results say "
                f"{from_results!r}; fix the roster"
            )
        email = from_results or from_roster
        if not email and is_valid(IdKind.EMAIL, student):
            email = student
        if not email:
            unmatched.append(student)
            continue
        if email in owner:
            raise ExportError(
                f"students {owner[email]!r} and {student!r} have the same email {email!r}; "
                "Moodle would give both grades to one person, fix the roster"
            )
        owner[email] = student
        emails[student] = email
    return emails, tuple(unmatched)


def render_moodle(
    sheet: GradeSheet,
    roster: dict[str, str] | None,
    *,
    strict: bool = False,
    where: Path | None = None,
) -> tuple[str, ExportReport]:
    """The import CSV text and its report (students without an address are listed, not
    written; with `strict` they are an ExportError)."""
    emails, unmatched = student_emails(sheet, roster, where)
    require_roster(unmatched, "email address (results or roster)", strict=strict)
    header = ["email"]
    for column in sheet.columns:
        header += [column.title, f"{column.title} feedback"]
    rows = [header]
    written = [s for s in sheet.students if s in emails]
    for student in written:
        row = [emails[student]]
        for column in sheet.columns:
            cell = sheet.cell(student, column.key)
            row += (
                ["", ""]
                if cell is None
                else [number(cell.score, GRADE_PLACES), neutralise(cell.feedback)]
            )
        rows.append(row)
    missing = tuple(sorted(set(roster or {}) - set(sheet.students)))
    report = ExportReport(
        path=Path(),
        students=tuple(written),
        unmatched=unmatched,
        missing=missing,
        blanks=sheet.blanks(written),
        problems=sheet.problems,
    )
    return render_csv(rows), report


def export_moodle(
    *, sheet: GradeSheet, out: Path, roster: Path | None = None, strict: bool = False
) -> ExportReport:
    """Write the Moodle import CSV for `sheet` to `out` (atomically)."""
    emails = read_email_roster(roster) if roster is not None else None
    text, report = render_moodle(sheet, emails, strict=strict, where=roster)
    write_atomic(Path(out), text)
    return replace(report, path=Path(out))
