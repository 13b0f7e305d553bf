"""Shared fixtures of the export tests: the fixture result files, rosters and golden files.

Set ALR_UPDATE_GOLDEN=1 to rewrite golden files from the current output (then review the diff).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from autograder.export.gradesheet import GradeSheet, grade_sheet
from autograder.export.quiz_scores import load_quiz_totals
from autograder.export.results import ResultFile, load_results

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "export"
RESULTS = FIXTURES / "results"
GOLDEN = FIXTURES / "golden"
TITLES = {"3.1": "3.1 Geometry of RMSProp", "4.1": "4.1 Bias correction"}


def assert_golden(name: str, text: str) -> None:
    """`text` equals the golden file `name` byte for byte."""
    path = GOLDEN / name
    if os.environ.get("ALR_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.read_bytes().decode("utf-8") == text


@pytest.fixture
def results() -> tuple[ResultFile, ...]:
    return load_results([RESULTS])


@pytest.fixture
def sheet(results: tuple[ResultFile, ...]) -> GradeSheet:
    """The fixture results and skill-check scores as one grade table."""
    return grade_sheet(results, load_quiz_totals([RESULTS]), titles=TITLES)


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture results folder."""
    return Path(shutil.copytree(RESULTS, tmp_path / "results"))
