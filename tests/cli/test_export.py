"""`alr export ...`: the click layer reports what it wrote, lists unmatched students, and turns
bad input into a one-line error with exit code 1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from autograder.export.gradesheet import module_titles
from cli import main
from tests.autograder.export.conftest import FIXTURES, RESULTS


def test_canvas_command_writes_and_lists_unmatched(tmp_path: Path) -> None:
    out = tmp_path / "canvas.csv"
    result = CliRunner().invoke(
        main,
        [
            "export",
            "canvas",
            str(RESULTS),
            "--roster",
            str(FIXTURES / "canvas-roster.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 3 student(s)" in result.stdout
    assert "NOT written, no roster row: dave" in result.stderr
    assert out.read_bytes().startswith(b'"Student","ID"')


def test_malformed_result_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "eve.json").write_text(json.dumps({"score": 1}))
    result = CliRunner().invoke(main, ["export", "lti", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'eve.json'}: extra_data: expected an object, got NoneType"
    ]


def test_token_without_line_item_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["export", "lti", str(RESULTS), "--out", str(tmp_path), "--token", "t"]
    )
    assert result.exit_code == 1
    assert "--token given without --lineitem" in result.stderr


def test_lti_lists_students_without_an_lti_user_id(tmp_path: Path) -> None:
    users = str(FIXTURES / "lti-users.csv")
    result = CliRunner().invoke(
        main, ["export", "lti", str(RESULTS), "--users", users, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "NOT written, no LTI user id: carol, dave" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.json", "bob.json"]


def test_only_exports_the_chosen_columns_and_notes_blanks(tmp_path: Path) -> None:
    roster = str(FIXTURES / "email-roster.csv")
    out = tmp_path / "m.csv"
    everything = CliRunner().invoke(
        main, ["export", "moodle", str(RESULTS), "--roster", roster, "--out", str(out)]
    )
    assert "blank cell(s)" in everything.stderr  # carol has no 4.1, no skill checks
    result = CliRunner().invoke(
        main,
        ["export", "moodle", str(RESULTS), "--roster", roster, "--only", "4.1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "blank cell" not in result.stderr
    header, *rows = csv.reader(io.StringIO(out.read_text()))
    title = module_titles()["4.1"]
    assert header == ["email", title, f"{title} feedback"]
    assert [r[0] for r in rows] == ["alice@school.example", "'+bob@school.example"]


def test_nbgrader_export_without_a_gradebook_says_how_to_make_one(tmp_path: Path) -> None:
    """No gradebook file: refuse (nbgrader would silently create an empty one)."""
    missing = tmp_path / "gradebook.db"
    for db in (str(missing), f"sqlite:///{missing}"):
        result = CliRunner().invoke(main, ["export", "nbgrader", str(RESULTS), "--db", db])
        assert result.exit_code == 1
        assert "no nbgrader gradebook there; run 'nbgrader generate_assignment'" in result.stderr
    assert not missing.exists()
