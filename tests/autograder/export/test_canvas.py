"""Canvas gradebook import CSV: golden file, importer column rules, roster matching."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from alr.errors import ExportError
from autograder.export.canvas import export_canvas
from autograder.export.gradesheet import grade_sheet
from autograder.export.quiz_scores import load_quiz_totals
from autograder.export.results import ResultFile

from .conftest import FIXTURES, RESULTS, TITLES, assert_golden

ROSTER = FIXTURES / "canvas-roster.csv"


def _export(results: tuple[ResultFile, ...], tmp_path: Path) -> tuple[str, object]:
    out = tmp_path / "canvas.csv"
    report = export_canvas(
        sheet=grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES),
        roster=ROSTER,
        out=out,
    )
    return out.read_bytes().decode("utf-8"), report


def test_canvas_csv_matches_golden(results: tuple[ResultFile, ...], tmp_path: Path) -> None:
    text, _ = _export(results, tmp_path)
    assert_golden("canvas.csv", text)


def test_canvas_csv_follows_the_importer_rules(
    results: tuple[ResultFile, ...], tmp_path: Path
) -> None:
    """Header, Points Possible row, `Title (id)` columns, every field quoted, scores numeric."""
    text, _ = _export(results, tmp_path)
    lines = text.split("\r\n")
    assert lines[-1] == ""
    for line in lines[:-1]:  # every field quoted: each line starts and ends with a quote
        assert line.startswith('"') and line.endswith('"')
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "3.1 Geometry of RMSProp",
        "4.1 Bias correction",
        "Skill checks (5103)",
    ]
    assert rows[1] == ["Points Possible", "", "", "", "", "6", "6", "8"]
    by_id = {r[1]: r for r in rows[2:]}
    assert set(by_id) == {"101", "bob", "103"}  # matched by ID, ID, SIS User ID
    assert by_id["101"][5:] == ["6", "6", "7"]
    assert by_id["bob"][5:] == ["4", "4.5", "2"]  # skill checks: 2 of 8 (4.1's unanswered)
    assert by_id["103"][5:] == ["5", "", ""]  # carol has no 4.1 result: blank, not 0
    assert by_id["103"][0].startswith("'=HYPERLINK(")  # formula neutralised


def test_unmatched_results_are_listed_not_dropped(
    results: tuple[ResultFile, ...], tmp_path: Path
) -> None:
    _, report = _export(results, tmp_path)
    assert report.unmatched == ("dave",)  # type: ignore[attr-defined]
    assert report.missing == ("Eve, Absent",)  # type: ignore[attr-defined]
    assert report.students == ("alice", "bob", "carol")  # type: ignore[attr-defined]


def test_assignment_ids_come_from_the_roster(
    results: tuple[ResultFile, ...], tmp_path: Path
) -> None:
    """A roster column 'Title (id)' gives our column of that title the Canvas id."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        ROSTER.read_text().replace("Module 3.1 (5101)", "3.1 Geometry of RMSProp (5101)")
    )
    out = tmp_path / "c.csv"
    export_canvas(
        sheet=grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES),
        roster=roster,
        out=out,
    )
    header = next(csv.reader(io.StringIO(out.read_text())))
    assert header[5:] == [
        "3.1 Geometry of RMSProp (5101)",
        "4.1 Bias correction",
        "Skill checks (5103)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Name,Email\nA,a@x\n", "expected a Canvas header starting 'Student,ID"),
        ("Student,ID,Section\nA,1\n", "line 2: 2 fields, the header has 3"),
        ("Student,ID,SIS User ID,Section\nA,1,s1,X\nB,2,s1,X\n", "SIS User ID 's1' belongs to two"),
    ],
)
def test_bad_roster_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(content)
    with pytest.raises(ExportError, match=message):
        export_canvas(sheet=grade_sheet((), titles=TITLES), roster=path, out=tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


def test_two_results_matching_one_student_are_refused(
    results: tuple[ResultFile, ...], tmp_path: Path
) -> None:
    """'alice' (SIS Login ID) and '101' (ID) are the same person: refuse rather than guess."""
    renamed = tuple(results) + (
        ResultFile(results[0].path.with_name("101.json"), "101", 0, 0, results[0].tests),
    )
    with pytest.raises(ExportError, match="both match roster student"):
        export_canvas(
            sheet=grade_sheet(renamed, titles=TITLES), roster=ROSTER, out=tmp_path / "c.csv"
        )
