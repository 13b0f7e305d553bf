"""Canvas gradebook import CSV, students matched against a Canvas roster (a gradebook export).

Canvas's importer reads: a header whose first cell contains "Student" and second "ID", then
"SIS User ID", "SIS Login ID" and "Section" (the last student-info column), then one column per
assignment titled "<Title> (<numeric id>)" (without an id it matches the title, or creates a new
assignment); an optional second row whose first cell is "Points Possible". Canvas matches rows
to people by ID, then SIS User ID, then SIS Login ID, so those cells are written exactly as the
roster has them (and validated: ID is Canvas's numeric user id); only Student and Section, free
text, are guarded against spreadsheet formulas.

A result is matched to a roster row by its Canvas user id (`extra_data.user_id`, from Canvas's
submission download) when it has one, else by the student id against ID, SIS User ID, SIS Login
ID. Scores keep full precision (Canvas stores them as given), points possible 4 decimals; a
blank cell is no grade.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from alr.errors import ExportError
from alr.fileio import write_atomic
from autograder.export.files import neutralise, number, render_csv
from autograder.export.gradesheet import Column, ExportReport, GradeSheet, require_roster
from autograder.export.identity import IdKind, check

INFO_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MATCH_ORDER = ("ID", "SIS User ID", "SIS Login ID")
#: The kind of each identity column; the others (Student, Section) are free text.
IDENTITY_COLUMNS = {
    "ID": IdKind.CANVAS_ID,
    "SIS User ID": IdKind.SIS_ID,
    "SIS Login ID": IdKind.SIS_ID,
}
#: "Points Possible" sets each assignment's points in Canvas: the column maximum to 4 decimals
#: (finer digits would only be the float noise of summing per-test shares).
POINTS_PLACES = 4
_TITLED_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.DOTALL)
_SKIP_ROWS = ("Points Possible", "Muted", "Manual Posting")


@dataclass(frozen=True)
class RosterStudent:
    fields: Mapping[str, str]  # the INFO_COLUMNS present in the roster

    def get(self, column: str) -> str:
        return self.fields.get(column, "")


@dataclass(frozen=True)
class CanvasRoster:
    path: Path
    students: tuple[RosterStudent, ...]
    assignment_ids: Mapping[str, str]  # assignment title -> Canvas assignment id


def _row(path: Path, line: int, header: Sequence[str], row: Sequence[str]) -> RosterStudent:
    if len(row) < len(header):
        raise ExportError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
    fields = {}
    for name in INFO_COLUMNS:
        if name not in header:
            continue
        value = row[header.index(name)]
        kind = IDENTITY_COLUMNS.get(name)
        if kind is None:
            fields[name] = value.strip()
        elif value != "" or name == "ID":
            fields[name] = check(kind, value, f"{path}: line {line}: {name}")
    return RosterStudent(fields)


def read_roster(path: Path) -> CanvasRoster:
    """Parse a Canvas gradebook export (or any CSV with its student columns)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot read the roster as UTF-8 CSV: {exc}") from exc
    rows = [
        (n, r) for n, r in enumerate(csv.reader(io.StringIO(text)), 1) if any(map(str.strip, r))
    ]
    if (
        not rows
        or len(rows[0][1]) < 2
        or "Student" not in rows[0][1][0]
        or "ID" not in rows[0][1][1]
    ):
        raise ExportError(
            f"{path}: line 1: expected a Canvas header starting 'Student,ID,...';"
            " export the roster from the Canvas gradebook (Export > Export Entire Gradebook)"
        )
    header = [h.strip() for h in rows[0][1]]
    header[0], header[1] = "Student", "ID"
    students = tuple(
        _row(path, line, header, row)
        for line, row in rows[1:]
        if not any(mark in row[0] for mark in _SKIP_ROWS)
    )
    ids = {}
    for title in header[2:]:
        match = _TITLED_ID.match(title)
        if match:
            ids[match.group(1)] = match.group(2)
    return CanvasRoster(path, students, ids)


def _lookup(roster: CanvasRoster) -> dict[str, dict[str, RosterStudent]]:
    lookup: dict[str, dict[str, RosterStudent]] = {c: {} for c in MATCH_ORDER}
    for entry in roster.students:
        for column in MATCH_ORDER:
            value = entry.get(column)
            if not value:
                continue
            other = lookup[column].get(value)
            if other is not None and other is not entry:
                raise ExportError(
                    f"{roster.path}: {column} {value!r} belongs to two students"
                    f" ({other.get('Student')!r}, {entry.get('Student')!r}); fix the roster"
                )
            lookup[column][value] = entry
    return lookup


def match_students(
    roster: CanvasRoster, sheet: GradeSheet
) -> tuple[dict[str, RosterStudent], tuple[str, ...]]:
    """Map the sheet's students to roster rows: by Canvas user id (a result's user_id) first,
    then the student id as ID, SIS User ID, SIS Login ID. Returns (matched, unmatched)."""
    lookup = _lookup(roster)
    matched: dict[str, RosterStudent] = {}
    unmatched: list[str] = []
    for student in sheet.students:
        user_id = sheet.identity(student).user_id
        found = lookup["ID"].get(user_id) if user_id else None
        if found is None:
            found = next((lookup[c][student] for c in MATCH_ORDER if student in lookup[c]), None)
        if found is None:
            unmatched.append(student)
            continue
        twin = next((s for s, e in matched.items() if e is found), None)
        if twin is not None:
            raise ExportError(
                f"{roster.path}: results {twin!r} and {student!r} both match roster student"
                f" {found.get('Student')!r}; one of them has the wrong id, regrade it as the other"
            )
        matched[student] = found
    return matched, tuple(unmatched)


def _column_header(column: Column, ids: Mapping[str, str]) -> str:
    canvas_id = ids.get(column.title)
    return f"{column.title} ({canvas_id})" if canvas_id else column.title


def render_canvas(
    sheet: GradeSheet, roster: CanvasRoster, *, strict: bool = False
) -> tuple[str, ExportReport]:
    """The import CSV text and its report (the report's path is the roster's until written)."""
    matched, unmatched = match_students(roster, sheet)
    require_roster(unmatched, "row in the Canvas roster", strict=strict)
    by_entry = {id(entry): student for student, entry in matched.items()}
    rows: list[list[str]] = [
        [*INFO_COLUMNS, *(_column_header(c, roster.assignment_ids) for c in sheet.columns)],
        [
            "Points Possible",
            "",
            "",
            "",
            "",
            *(number(c.max_score, POINTS_PLACES) for c in sheet.columns),
        ],
    ]
    written: list[str] = []
    missing: list[str] = []
    for entry in roster.students:
        student = by_entry.get(id(entry))
        if student is None:
            missing.append(entry.get("Student"))
            continue
        info = [
            entry.get(c) if c in IDENTITY_COLUMNS else neutralise(entry.get(c))
            for c in INFO_COLUMNS
        ]
        cells = [sheet.cell(student, c.key) for c in sheet.columns]
        rows.append(info + ["" if cell is None else number(cell.score) for cell in cells])
        written.append(student)
    report = ExportReport(
        path=roster.path,
        students=tuple(written),
        unmatched=unmatched,
        missing=tuple(missing),
        blanks=sheet.blanks(written),
        problems=sheet.problems,
    )
    return render_csv(rows), report


def export_canvas(
    *, sheet: GradeSheet, roster: Path, out: Path, strict: bool = False
) -> ExportReport:
    """Write the Canvas import CSV for `sheet` to `out` (atomically).

    Graded students missing from the roster are listed in the report and not written; with
    `strict` they are an ExportError and nothing is written.
    """
    text, report = render_canvas(sheet, read_roster(roster), strict=strict)
    write_atomic(Path(out), text)
    return replace(report, path=Path(out))
