"""Moodle grade import CSV: exact cells and blanks, addresses written as given, roster gaps."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from alr.errors import ExportError
from autograder.export.gradesheet import GradeSheet
from autograder.export.identity import Identity
from autograder.export.moodle import export_moodle

from .conftest import EMAIL_ROSTER, assert_golden

TITLES = ["3.1 Geometry of RMSProp", "4.1 Bias correction", "4.3 AMSGrad", "Skill checks"]


def _export(sheet: GradeSheet, tmp_path: Path, roster: Path | None = EMAIL_ROSTER, **kw):
    out = tmp_path / "moodle.csv"
    report = export_moodle(sheet=sheet, out=out, roster=roster, **kw)
    return out.read_bytes().decode("utf-8"), report


def test_moodle_csv_has_exactly_the_graded_cells(sheet: GradeSheet, tmp_path: Path) -> None:
    """Grades to Moodle's 5 decimals, feedback to 2, blank where nothing was submitted, and
    bob's roster address '-bob@...' exactly as written (a quote would make Moodle refuse it)."""
    text, report = _export(sheet, tmp_path)
    header, *rows = csv.reader(io.StringIO(text))
    assert header == ["email"] + [h for t in TITLES for h in (t, f"{t} feedback")]
    assert [r[0] for r in rows] == ["alice@school.example", "-bob@school.example"]
    grades = {r[0]: r[1::2] for r in rows}
    assert grades == {
        "alice@school.example": ["6", "6", "3.33333", "7"],
        "-bob@school.example": ["4", "4.5", "", "2"],
    }
    alice, bob = rows
    assert alice[6] == (
        "4.3: 3.33/4. amsgrad_step 1.33/2 (looks like amsgrad_max_of_corrected); lamb_step 2/2."
    )
    assert bob[5:7] == ["", ""]  # 4.3 not submitted: empty means "no grade" to Moodle
    assert bob[8] == "Skill checks: 2/8."
    assert report.students == ("alice", "bob")
    assert report.blanks == (("bob", "4.3"),)
    assert_golden("moodle.csv", text)


def test_student_without_an_address_is_a_warning_or_with_strict_an_error(
    sheet: GradeSheet, tmp_path: Path
) -> None:
    _, report = _export(sheet, tmp_path)
    assert report.unmatched == ("carol",)
    (tmp_path / "moodle.csv").unlink()
    with pytest.raises(ExportError, match="no email address .*: carol; nothing was written"):
        _export(sheet, tmp_path, strict=True)
    assert not (tmp_path / "moodle.csv").exists()


def test_addresses_come_from_the_results_first(sheet: GradeSheet, tmp_path: Path) -> None:
    """Without a roster alice is still exported: her results carry her address."""
    _, report = _export(sheet, tmp_path, roster=None)
    assert report.students == ("alice",)
    assert report.unmatched == ("bob", "carol")


def test_roster_disagreeing_with_the_results_is_refused(sheet: GradeSheet, tmp_path: Path):
    roster = tmp_path / "emails.csv"
    roster.write_text("student,email\nalice,other@school.example\n")
    with pytest.raises(ExportError, match="'alice': email 'other@school.example', but their"):
        _export(sheet, tmp_path, roster=roster)


def test_two_students_with_one_address_are_refused(sheet: GradeSheet, tmp_path: Path) -> None:
    identities = {**sheet.identities, "bob": Identity(email="alice@school.example")}
    with pytest.raises(ExportError, match="'alice' and 'bob' have the same email"):
        _export(dataclasses.replace(sheet, identities=identities), tmp_path, roster=None)


def test_free_text_is_guarded_and_identity_is_not(sheet: GradeSheet, tmp_path: Path) -> None:
    """A feedback cell starting with '=' is quoted; the address starting with '-' is not."""
    cell = dataclasses.replace(sheet.rows["bob"]["3.1"], feedback="=1+1")
    rows = {**sheet.rows, "bob": {**sheet.rows["bob"], "3.1": cell}}
    text, _ = _export(dataclasses.replace(sheet, rows=rows), tmp_path)
    bob = list(csv.reader(io.StringIO(text)))[2]
    assert bob[:3] == ["-bob@school.example", "4", "'=1+1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,mail\n", "expected columns 'student' and 'email'"),
        ("student,email\nalice,not-an-address\n", "email: expected an email address"),
        ("student,email\nalice,a@x\nalice,b@x\n", "line 3: student 'alice' is listed twice"),
    ],
)
def test_bad_email_roster_is_refused(sheet: GradeSheet, tmp_path: Path, content, message) -> None:
    roster = tmp_path / "emails.csv"
    roster.write_text(content)
    with pytest.raises(ExportError, match=message):
        export_moodle(sheet=sheet, out=tmp_path / "m.csv", roster=roster)
    assert not (tmp_path / "m.csv").exists()
