"""Reading result files: valid ones become typed records, malformed ones a clear ExportError."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from alr.errors import ExportError
from autograder.export.results import load_result, load_results, module_grades

from .conftest import RESULTS


def test_module_grades_sum_the_tests_of_each_module() -> None:
    grades = module_grades(load_results([RESULTS]))
    assert set(grades) == {"alice", "bob", "carol", "dave"}
    assert (grades["bob"]["3.1"].score, grades["bob"]["3.1"].max_score) == (4.0, 6.0)
    assert (grades["bob"]["4.1"].score, grades["bob"]["4.1"].max_score) == (4.5, 6.0)
    assert set(grades["carol"]) == {"3.1"}  # 4.1 not graded: absent, not zero


def _mutate(tmp_path: Path, change: Any) -> Path:
    data = json.loads((RESULTS / "bob.json").read_text())
    change(data)
    path = tmp_path / "bob.json"
    path.write_text(json.dumps(data))
    return path


def _set(*keys: Any, value: Any) -> Any:
    def change(data: Any) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("score", value="ten"), "score: expected a number, got 'ten'"),
        (_set("tests", 0, "score", value=True), "tests[0].score: expected a number, got True"),
        (_set("tests", 1, "max_score", value=-1), "tests[1].max_score: expected a finite number"),
        (_set("tests", 0, "status", value="ok"), "tests[0].status: expected 'passed' or 'failed'"),
        (_set("tests", 2, "extra_data", "module", value="9.9"), "tests[2].extra_data.module"),
        (
            _set("tests", 2, "extra_data", "function", value="adam_step"),
            "'adam_step' is not a graded function of module 3.1",
        ),
        (_set("tests", value={}), "tests: expected a list, got dict"),
        (_set("extra_data", "student", value="alice"), "does not match the file name 'bob.json'"),
        (_set("tests", 0, value=[1]), "tests[0]: expected an object, got list"),
    ],
)
def test_malformed_result_is_refused_with_where_and_what(
    tmp_path: Path, change: Any, message: str
) -> None:
    path = _mutate(tmp_path, change)
    with pytest.raises(ExportError) as err:
        load_result(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_text('{"score": 1,')
    with pytest.raises(ExportError, match=r"eve\.json: not valid JSON"):
        load_result(path)


def test_empty_folder_says_to_grade_first(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no result files"):
        load_results([tmp_path])


def test_same_module_graded_twice_is_refused(tmp_path: Path) -> None:
    """Two folders grading bob's 3.1: the exporter will not pick one silently."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(RESULTS / "bob.json", tmp_path / name / "bob.json")
    results = load_results([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ExportError, match=r"module 3\.1 of student 'bob' is also graded in"):
        module_grades(results)
