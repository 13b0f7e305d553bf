"""Stage 1 (load): which files are read, and the messages for the ones that cannot be."""

from __future__ import annotations

import pytest

from alr.errors import SubmissionError
from autograder.stages.load import (
    Cell,
    SubmissionKind,
    file_sha256,
    load_submission,
    read_submission,
)
from tests.autograder.grading_helpers import SUBMISSIONS, context, course_plan

BROKEN = SUBMISSIONS / "broken"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty.py", "the file is empty"),
        ("non_utf8.py", "not UTF-8 text (byte 0xfc at offset 4)"),
        ("bad_json.ipynb", "not valid JSON (line 1, column 101"),
        ("not_a_notebook.ipynb", "not a Jupyter notebook"),
    ],
)
def test_unreadable_files_raise_a_message_that_says_what_to_fix(name, expected):
    """Does each broken file give a SubmissionError naming the problem?"""
    with pytest.raises(SubmissionError, match=None) as info:
        read_submission(BROKEN / name)
    assert expected in str(info.value)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    """Is a file over the size cap refused with its size and a fix, without reading it?"""
    huge = tmp_path / "huge.ipynb"
    with huge.open("wb") as fh:
        fh.truncate(9 * 2**20)  # sparse: no 9 MiB of disk needed
    with pytest.raises(SubmissionError, match=r"9\.0 MiB, over the 8 MiB limit.*Clear Outputs"):
        read_submission(huge)


def test_other_extensions_are_refused(tmp_path):
    """Is a .txt submission refused, naming the accepted extensions?"""
    path = tmp_path / "alice.txt"
    path.write_text("def ema(): pass")
    with pytest.raises(SubmissionError, match=r"expected a \.py or \.ipynb file, got \.txt"):
        read_submission(path)


def test_a_py_file_is_one_cell_without_module():
    """Is a .py file read as one cell that grades every function?"""
    sub = read_submission(SUBMISSIONS / "correct.py")
    assert sub.kind is SubmissionKind.PYTHON and sub.module is None
    assert len(sub.cells) == 1 and sub.cells[0].index is None
    assert "def adam_step" in sub.cells[0].source


def test_a_module_notebook_gives_its_code_cells_and_module():
    """Does a v4 notebook give its code cells in order with their positions, and its module?"""
    sub = read_submission(SUBMISSIONS / "notebooks" / "module-3-1.ipynb")
    assert sub.kind is SubmissionKind.NOTEBOOK and sub.module == "3.1"
    assert [c.index for c in sub.cells] == [1, 2, 3, 4, 5, 6, 7, 8]  # cell 0 is markdown
    assert sub.cells[1] == Cell(2, "def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x")


def test_an_nbformat3_notebook_is_converted():
    """Is an nbformat 3 notebook (worksheets, `input`) converted to v4 code cells?"""
    sub = read_submission(SUBMISSIONS / "notebooks" / "nbformat3.ipynb")
    assert sub.module is None
    assert len(sub.cells) == 3 and sub.cells[0].source.startswith("import torch\n\ndef ema(")


def test_an_unknown_module_in_metadata_grades_everything_with_a_note(tmp_path):
    """Is metadata naming a module that does not exist ignored, with a note?"""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / "bob.ipynb"
    nb = new_notebook(cells=[new_code_cell("x = 1")], metadata={"alr": {"module": "9.9"}})
    nbformat.write(nb, path)
    sub = read_submission(path)
    assert sub.module is None and "'9.9', which does not exist" in sub.notes[0]


def test_a_module_written_as_a_number_is_understood(tmp_path):
    """Is metadata {"module": 3.1} (a JSON number) read as module "3.1"?"""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / "carol.ipynb"
    nbformat.write(
        new_notebook(cells=[new_code_cell("x = 1")], metadata={"alr": {"module": 3.1}}), path
    )
    assert read_submission(path).module == "3.1"


def test_load_stage_records_the_error_instead_of_raising(tmp_path):
    """Does the stage put a bad file's message on the context and keep going?"""
    ctx = context(course_plan(), tmp_path)
    ctx = load_submission(ctx.__class__(**{**ctx.__dict__, "path": BROKEN / "empty.py"}))
    assert ctx.error is not None and "empty" in ctx.error and ctx.submission is None


def test_sha256_is_of_the_bytes(tmp_path):
    """Is the recorded sha256 the file's own (known value)?"""
    path = tmp_path / "a.py"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
