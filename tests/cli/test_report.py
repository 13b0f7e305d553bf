"""`alr report`: says where the page is, which cells are blank and which submissions earned no
grade; on a folder without results it says what to run."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main

RESULTS = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "results"


def test_report_lists_blank_cells_and_problems(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(RESULTS), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"report: {tmp_path / 'report.html'} (8 students, ")
    assert lines[1:] == [
        "blank, not submitted (left out, not 0): 18 cell(s): "
        "erin (3.3, 3.4, 3.5, 4.1, 4.2, 4.3, 4.4, 4.5); "
        "frank (3.1, 3.2, 3.3, 3.4, 3.5, 4.1, 4.2, 4.3, 4.4, 4.5)"
    ]
    assert result.stderr.splitlines() == [
        "problem, no grade: frank: frank.py: SyntaxError: invalid syntax (line 12); fix it and"
        " submit again"
    ]
    assert (tmp_path / "report.html").is_file()


def test_empty_folder_says_what_to_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path}: no result files (<student>/<module>.json); run `alr grade "
        f"SUBMISSION... --out {tmp_path}` first"
    ]


def test_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "not a folder; pass the --out folder of `alr grade`" in result.stderr
