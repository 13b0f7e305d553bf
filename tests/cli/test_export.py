"""`alr export ...`: the click layer says what it wrote, which cells are blank, which submissions
earned no grade and whom the roster lacks (an error with --strict); bad input is a one-line
error with exit code 1."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from nbgrader.api import Gradebook

from alr.contract import MODULE_FUNCTIONS
from autograder.export.gradesheet import module_titles
from autograder.export.nbgrader_db import nbgrader_name
from cli import main
from tests.autograder.export.conftest import (
    CANVAS_ROSTER,
    EMAIL_ROSTER,
    GRADED,
    LTI_USERS,
    class_dir,
)

__all__ = ["class_dir"]  # the class's results folder (a session fixture)

BLANKS = "blank, not submitted (left empty, not 0): "
PROBLEM = "problem, no grade: carol: notes.ipynb: no module: the notebook has no module metadata"


def _alr(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_canvas_lists_blanks_problems_and_students_the_roster_lacks(
    class_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "canvas.csv"
    result = _alr("export", "canvas", class_dir, "--roster", CANVAS_ROSTER, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote {out}: 2 student(s)",
        BLANKS + "1 cell(s): bob (4.3)",
    ]
    assert result.stderr.splitlines() == [
        PROBLEM + " and its name names none; regrade it with --module",
        "warning: 1 graded student(s) NOT exported, no row in the roster: carol (--strict makes"
        " this an error)",
        "in the roster without results: Eve, Absent",
    ]
    assert out.read_bytes().startswith(b'"Student","ID"')


def test_strict_makes_a_roster_gap_an_error_and_writes_nothing(
    class_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "canvas.csv"
    result = _alr(
        "export", "canvas", class_dir, "--roster", CANVAS_ROSTER, "--out", out, "--strict"
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: 1 graded student(s) have no row in the Canvas roster: carol; nothing was written"
        " (add them to the roster, or leave out --strict to export the others)"
    ]
    assert not out.exists()


def test_moodle_writes_addresses_as_given(class_dir: Path, tmp_path: Path) -> None:
    """The roster's '-bob@school.example' reaches the file unchanged; carol has no address."""
    out = tmp_path / "moodle.csv"
    result = _alr("export", "moodle", class_dir, "--roster", EMAIL_ROSTER, "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert [r[0] for r in rows] == ["email", "alice@school.example", "-bob@school.example"]
    assert "NOT exported, no email address: carol" in result.stderr
    strict = _alr("export", "moodle", class_dir, "--roster", EMAIL_ROSTER, "--strict")
    assert strict.exit_code == 1 and "no email address (results or roster): carol" in strict.stderr


def test_only_exports_the_chosen_columns(class_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = _alr(
        "export", "moodle", class_dir, "--roster", EMAIL_ROSTER, "--only", "4.1", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert BLANKS not in result.stdout  # alice and bob both have 4.1
    header, *rows = csv.reader(io.StringIO(out.read_text()))
    title = module_titles()["4.1"]
    assert header == ["email", title, f"{title} feedback"]
    assert [r[1] for r in rows] == ["6", "4.5"]


def test_lti_scores_include_skill_checks(class_dir: Path, tmp_path: Path) -> None:
    result = _alr("export", "lti", class_dir, "--users", LTI_USERS, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote 2 score file(s) to {tmp_path}",
        BLANKS + "1 cell(s): bob (4.3)",
    ]
    assert "NOT exported, no LTI user id: carol" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.json", "bob.json"]
    bob = json.loads((tmp_path / "bob.json").read_text())
    assert (bob["scoreGiven"], bob["scoreMaximum"]) == (10.5, 20.0)  # 3.1 + 4.1 + skill checks


def test_malformed_result_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "3.1.json").write_text(json.dumps({"score": 1}))
    result = _alr("export", "lti", tmp_path, "--out", tmp_path / "lti")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'eve' / '3.1.json'}: extra_data: expected an object, got None;"
        " regrade it or remove the file"
    ]


def test_empty_results_folder_says_to_grade_first(tmp_path: Path) -> None:
    result = _alr("export", "moodle", tmp_path, "--out", tmp_path / "m.csv")
    assert result.exit_code == 1
    assert "no results (<student>/<module>.json)" in result.stderr
    assert "run `alr grade SUBMISSION..." in result.stderr


def test_token_without_line_item_is_refused(class_dir: Path, tmp_path: Path) -> None:
    result = _alr("export", "lti", class_dir, "--out", tmp_path, "--token", "t")
    assert result.exit_code == 1
    assert "--token given without --lineitem" in result.stderr


def _gradebook(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A gradebook with the class's assignments, made through nbgrader's own API (which runs
    `alembic` from PATH: the environment's bin first)."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    url = f"sqlite:///{path}"
    with Gradebook(url, course_id="alr") as gb:
        for module in ("3.1", "4.1", "4.3"):
            name = nbgrader_name(module)
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            for function in MODULE_FUNCTIONS[module]:
                gb.add_grade_cell(f"test_{function}", name, name, max_score=2, cell_type="code")
    return url


@pytest.mark.filterwarnings("error")
def test_nbgrader_export_runs_without_warnings(
    class_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every warning is an error here: the export writes the gradebook without one."""
    url = _gradebook(tmp_path / "gradebook.db", monkeypatch)
    result = _alr("export", "nbgrader", class_dir, "--db", url, "--course", "alr")
    assert result.exit_code == 0, result.output
    cells = sum(len(functions) for functions in GRADED.values()) + 2  # + 2 skill-check totals
    assert result.stdout.splitlines() == [
        f"wrote {cells} cell score(s) of 3 student(s) to {url}",
        BLANKS + "4 cell(s): bob (4.3); carol (4.1, 4.3, skill-checks)",
    ]
    assert result.stderr.startswith(PROBLEM)
    assert "Warning" not in result.output


def test_nbgrader_export_without_a_gradebook_says_how_to_make_one(
    class_dir: Path, tmp_path: Path
) -> None:
    """No gradebook file: refuse (nbgrader would silently create an empty one)."""
    missing = tmp_path / "gradebook.db"
    for db in (str(missing), f"sqlite:///{missing}"):
        result = _alr("export", "nbgrader", class_dir, "--db", db)
        assert result.exit_code == 1
        assert "no nbgrader gradebook there; run 'nbgrader generate_assignment'" in result.stderr
    assert not missing.exists()
