"""Safe output: formula neutralisation, number formatting, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.export.files import atomic_write, neutralise, number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1@x.org", "'+1@x.org"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Alice = 1", "Alice = 1"),
        ("", ""),
    ],
)
def test_formula_starting_text_gets_a_quote_prefix(text: str, expected: str) -> None:
    assert neutralise(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0, "2"),
        (41.5, "41.5"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.3333"),
        (0.0, "0"),
        (1e-9, "0"),
        (123456.5, "123456.5"),
    ],
)
def test_scores_are_plain_decimals(value: float, expected: str) -> None:
    assert number(value) == expected


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "grades.csv"
    atomic_write(target, "old")
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["grades.csv"]


def test_failed_replace_keeps_the_old_content_and_cleans_up(tmp_path: Path) -> None:
    """When the final rename fails (the target is a non-empty folder), nothing is lost or left."""
    target = tmp_path / "grades.csv"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(OSError):
        atomic_write(target, "new")
    assert (target / "keep.txt").read_text() == "old"
    assert os.listdir(tmp_path) == ["grades.csv"]
