"""run_autograder's helpers: the student id from Gradescope's metadata, the submitted file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alr.errors import AlrError
from autograder.export.gradescope_run import find_submission, identity
from autograder.submissions import safe_id


@pytest.mark.parametrize(
    ("metadata", "expected", "fields"),
    [
        (
            {"users": [{"email": "ada@uni.example", "id": 7}]},
            "ada@uni.example",
            {"email": "ada@uni.example", "user_id": "7"},
        ),
        ({"users": [{"email": None, "id": 7}]}, "7", {"user_id": "7"}),
        ({"users": [{"email": "../../etc/passwd"}]}, safe_id("../../etc/passwd"), None),
        ({"users": [{"email": "=cmd|' /C calc'!A0"}]}, safe_id("=cmd|' /C calc'!A0"), None),
        ({"users": []}, "submission", {}),
        ("not an object", "submission", {}),
        (None, "submission", {}),  # no metadata file at all
    ],
)
def test_the_student_is_a_safe_id_and_the_identity_is_kept(
    tmp_path: Path, metadata: Any, expected: str, fields: Any
) -> None:
    """Is the student id safe for a folder name, and are the email and user id kept as given
    (they are what an LMS matches on)?"""
    if metadata is not None:
        (tmp_path / "submission_metadata.json").write_text(json.dumps(metadata))
    student, found = identity(tmp_path)
    assert student == expected and "/" not in student and not student.startswith((".", "-"))
    if fields is not None:
        assert found == fields


def _files(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")


def test_the_one_notebook_is_found_in_subfolders_checkpoints_ignored(tmp_path: Path) -> None:
    _files(
        tmp_path, "repo/module-3-1.ipynb", "repo/.ipynb_checkpoints/module-3-1.ipynb", "helpers.py"
    )
    assert find_submission(tmp_path) == tmp_path / "repo" / "module-3-1.ipynb"


def test_a_py_file_is_graded_when_there_is_no_notebook(tmp_path: Path) -> None:
    _files(tmp_path, "answers.py")
    assert find_submission(tmp_path) == tmp_path / "answers.py"


def test_two_notebooks_are_refused_by_name(tmp_path: Path) -> None:
    _files(tmp_path, "a.ipynb", "b.ipynb")
    with pytest.raises(AlrError, match="submit exactly one .ipynb file; found 2: a.ipynb, b.ipynb"):
        find_submission(tmp_path)


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.ipynb"
    secret.write_text("{}")
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "module-3-1.ipynb").symlink_to(secret)
    with pytest.raises(AlrError, match="no notebook"):
        find_submission(tmp_path / "submission")
