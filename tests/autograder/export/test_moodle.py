"""Moodle grade import CSV: golden file, columns, identification by email."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from alr.errors import ExportError
from autograder.export.gradesheet import grade_sheet
from autograder.export.moodle import export_moodle
from autograder.export.quiz_scores import load_quiz_totals
from autograder.export.results import ResultFile

from .conftest import FIXTURES, RESULTS, TITLES, assert_golden

ROSTER = FIXTURES / "email-roster.csv"


def _export(results: tuple[ResultFile, ...], out: Path, roster: Path | None = ROSTER) -> str:
    export_moodle(
        sheet=grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES),
        out=out,
        roster=roster,
    )
    return out.read_bytes().decode("utf-8")


def test_moodle_csv_matches_golden(results: tuple[ResultFile, ...], tmp_path: Path) -> None:
    assert_golden("moodle.csv", _export(results, tmp_path / "m.csv"))


def test_moodle_csv_has_email_then_grade_and_feedback_per_item(
    results: tuple[ResultFile, ...], tmp_path: Path
) -> None:
    rows = list(csv.reader(io.StringIO(_export(results, tmp_path / "m.csv"))))
    assert rows[0] == [
        "email",
        "3.1 Geometry of RMSProp",
        "3.1 Geometry of RMSProp feedback",
        "4.1 Bias correction",
        "4.1 Bias correction feedback",
        "Skill checks",
        "Skill checks feedback",
    ]
    by_email = {r[0]: r for r in rows[1:]}
    assert set(by_email) == {"alice@school.example", "'+bob@school.example", "carol@school.example"}
    bob = by_email["'+bob@school.example"]
    assert bob[1] == "4" and bob[3] == "4.5"
    assert "rmsprop_step 0/2 (looks like decoupled_instead_of_coupled)" in bob[2]
    carol = by_email["carol@school.example"]
    assert carol[3:] == ["", "", "", ""]  # not graded: empty means "no grade" to Moodle
    assert by_email["alice@school.example"][5:] == ["7", "Skill checks: 7/8."]
    for row in rows[1:]:  # a non-numeric grade would abort Moodle's whole import
        for grade in row[1::2]:
            assert grade == "" or float(grade) >= 0


def test_students_without_email_are_listed(results: tuple[ResultFile, ...], tmp_path: Path) -> None:
    report = export_moodle(
        sheet=grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES),
        out=tmp_path / "m.csv",
        roster=ROSTER,
    )
    assert report.unmatched == ("dave",)
    report = export_moodle(
        sheet=grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES),
        out=tmp_path / "m.csv",
    )
    assert report.unmatched == ("alice", "bob", "carol", "dave")  # ids are not emails


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,mail\n", "expected columns 'student' and 'email'"),
        ("student,email\nalice,not-an-address\n", "email: expected an address"),
        ("student,email\nalice,a@x\nalice,b@x\n", "line 3: student 'alice' is listed twice"),
    ],
)
def test_bad_email_roster_is_refused(tmp_path: Path, content: str, message: str) -> None:
    roster = tmp_path / "emails.csv"
    roster.write_text(content)
    with pytest.raises(ExportError, match=message):
        export_moodle(sheet=grade_sheet((), titles=TITLES), out=tmp_path / "m.csv", roster=roster)
