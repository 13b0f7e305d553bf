"""Canvas gradebook import CSV, students matched against a Canvas roster (a gradebook export).

Canvas's importer reads: a header whose first cell contains "Student" and second "ID", then
"SIS User ID", "SIS Login ID" and "Section" (the last student-info column), then one column per
assignment titled "<Title> (<numeric id>)" (without an id it matches the title, or creates a new
assignment); an optional second row whose first cell is "Points Possible". Canvas matches
students by ID, then SIS User ID, then SIS Login ID; this export matches our student ids the
same way and lists every result it cannot match instead of dropping it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from alr.errors import ExportError
from autograder.export.files import atomic_write, neutralise, number, render_csv
from autograder.export.gradesheet import Column, ExportReport, GradeSheet

INFO_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MATCH_ORDER = ("ID", "SIS User ID", "SIS Login ID")
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


def read_roster(path: Path) -> CanvasRoster:
    """Parse a Canvas gradebook export (or any CSV with its student columns)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot read the roster as UTF-8 CSV: {exc}") from exc
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows or len(rows[0]) < 2 or "Student" not in rows[0][0] or "ID" not in rows[0][1]:
        raise ExportError(
            f"{path}: line 1: expected a Canvas header starting 'Student,ID,...';"
            " export the roster from the Canvas gradebook (Export > Export Entire Gradebook)"
        )
    header = [h.strip() for h in rows[0]]
    index = {name: header.index(name) for name in INFO_COLUMNS[1:] if name in header}
    index["Student"] = 0
    index["ID"] = 1
    students = []
    for line, row in enumerate(rows[1:], start=2):
        if any(mark in row[0] for mark in _SKIP_ROWS):
            continue
        if len(row) < len(header):
            raise ExportError(
                f"{path}: line {line}: {len(row)} fields, the header has {len(header)}"
            )
        students.append(RosterStudent({k: row[i].strip() for k, i in index.items()}))
    ids = {}
    for title in header[2:]:
        match = _TITLED_ID.match(title)
        if match:
            ids[match.group(1)] = match.group(2)
    return CanvasRoster(path, tuple(students), ids)


def match_students(
    roster: CanvasRoster, students: Sequence[str]
) -> tuple[dict[str, RosterStudent], tuple[str, ...]]:
    """Map result student ids to roster rows (ID, then SIS User ID, then SIS Login ID)."""
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
    matched: dict[str, RosterStudent] = {}
    unmatched: list[str] = []
    for student in students:
        found = next((lookup[c][student] for c in MATCH_ORDER if student in lookup[c]), None)
        if found is None:
            unmatched.append(student)
            continue
        entry = found
        twin = next((s for s, e in matched.items() if e is entry), None)
        if twin is not None:
            raise ExportError(
                f"{roster.path}: results {twin!r} and {student!r} both match roster student"
                f" {entry.get('Student')!r}; rename one result file to the right id"
            )
        matched[student] = entry
    return matched, tuple(unmatched)


def _column_header(column: Column, ids: Mapping[str, str]) -> str:
    canvas_id = ids.get(column.title)
    return f"{column.title} ({canvas_id})" if canvas_id else column.title


def render_canvas(sheet: GradeSheet, roster: CanvasRoster) -> tuple[str, ExportReport]:
    """The import CSV text and its report (the report's path is the roster's until written)."""
    matched, unmatched = match_students(roster, sheet.students)
    by_entry = {id(entry): student for student, entry in matched.items()}
    rows: list[list[str]] = [
        [*INFO_COLUMNS, *(_column_header(c, roster.assignment_ids) for c in sheet.columns)],
        ["Points Possible", "", "", "", "", *(number(c.max_score) for c in sheet.columns)],
    ]
    written: list[str] = []
    missing: list[str] = []
    for entry in roster.students:
        student = by_entry.get(id(entry))
        if student is None:
            missing.append(entry.get("Student"))
            continue
        cells = sheet.rows[student]
        info = [neutralise(entry.get(c)) for c in INFO_COLUMNS]
        grades = [number(cells[c.key].score) if c.key in cells else "" for c in sheet.columns]
        rows.append(info + grades)
        written.append(student)
    report = ExportReport(roster.path, tuple(written), unmatched, tuple(missing))
    return render_csv(rows), report


def export_canvas(*, sheet: GradeSheet, roster: Path, out: Path) -> ExportReport:
    """Write the Canvas import CSV for `sheet` to `out` (atomically)."""
    text, report = render_canvas(sheet, read_roster(roster))
    atomic_write(Path(out), text)
    return ExportReport(Path(out), report.students, report.unmatched, report.missing)
