"""Stage 2 (extract): only definitions survive; IPython syntax and project imports are removed."""

from __future__ import annotations

import ast

import pytest

from alr.errors import SubmissionError
from autograder.stages.extract import extract_source
from autograder.stages.load import Cell, SubmissionKind, read_submission
from tests.autograder.grading_helpers import SUBMISSIONS

PY, NB = SubmissionKind.PYTHON, SubmissionKind.NOTEBOOK


def _top_level(source: str) -> list[str]:
    """Kept statements, unwrapped from their `try/except Exception: pass`."""
    out = []
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Try) and ast.unparse(node.handlers[0].type) == "Exception"
        out.append(type(node.body[0]).__name__)
    return out


def test_only_definitions_constants_and_imports_are_kept():
    """Are loops, calls, prints and __main__ blocks dropped, and defs/imports/constants kept?"""
    src = (
        "import math\nfrom torch import nn\nLR = 1e-3\nSHAPE = (3, 4)\nalias = math.sqrt\n"
        "f = lambda x: x\nprint('hi')\nfor i in range(10):\n    pass\nx = train()\n"
        "class A:\n    pass\ndef ema(avg, x, beta):\n    return avg\n"
        "if __name__ == '__main__':\n    ema(1, 2, 3)\n"
        "try:\n    import scipy\nexcept ImportError:\n    scipy = None\n"
    )
    ex = extract_source((Cell(None, src),), PY)
    assert _top_level(ex.source) == [
        "Import", "ImportFrom", "Assign", "Assign", "Assign", "Assign", "ClassDef",
        "FunctionDef", "Try",
    ]  # fmt: skip
    assert "print" not in ex.source and "train" not in ex.source
    assert ex.defined == ("ema",) and ex.locations == {"ema": "line 13"}
    assert "4 top-level statement(s)" in ex.notes[0]


def test_notebook_magics_shell_escapes_and_input_never_survive():
    """In the module notebook, are %magics, !pip, input(), loops and plots all removed, a
    broken cell skipped with a note, and the project import removed with a note?"""
    sub = read_submission(SUBMISSIONS / "notebooks" / "module-3-1.ipynb")
    ex = extract_source(sub.cells, NB)
    for banned in ("get_ipython", "pip", "input(", "range(", "plt.", "solutions", "run_cell"):
        assert banned not in ex.source
    assert ex.defined == ("ema", "coupled_l2_grad", "rmsprop_step", "adam_step")
    assert ex.locations["ema"] == "cell 3" and ex.locations["rmsprop_step"] == "cell 7"
    assert "LR = 0.01" in ex.source and "EPS = 1e-08" in ex.source
    notes = " ".join(ex.notes)
    assert "`import solutions` (cell 2) was removed" in notes
    assert "cell 8 was skipped: SyntaxError" in notes


def test_a_statement_that_fails_at_load_breaks_only_what_uses_it():
    """Is every kept statement wrapped in try/except Exception, so a missing package or a
    constant built from a dropped variable does not stop the whole submission from loading?"""
    src = (
        "import seaborn as sns\nbase = make_lr()\nLR = base * 2\ndef ema(a, x, b):\n    return a\n"
    )
    ex = extract_source((Cell(None, src),), PY)
    assert _top_level(ex.source) == ["Import", "Assign", "FunctionDef"]  # each in its own try
    assert ex.defined == ("ema",) and "make_lr" not in ex.source


def test_future_imports_move_to_the_top():
    """Does a __future__ import in a later cell still compile (moved first, once)?"""
    future = "from __future__ import annotations"
    cells = (
        Cell(0, "x = 1"),
        Cell(1, future + "\ndef ema(a, x, b):\n    return a"),
        Cell(2, future),
    )
    ex = extract_source(cells, NB)
    compile(ex.source, "s", "exec")
    assert ex.source.count("__future__") == 1 and ex.source.startswith("from __future__")


@pytest.mark.parametrize(
    "imp",
    [
        "import solutions",
        "from solutions.adam import adam_step",
        "import course.cases.program as p",
        "from course import spec",
        "import quizzes",
    ],
)
def test_project_imports_are_removed(imp):
    """Are imports of the course's own packages (reference solutions included) removed?"""
    ex = extract_source((Cell(None, imp + "\nimport torch\n"),), PY)
    assert "import torch" in ex.source and imp not in ex.source
    assert "was removed" in ex.notes[0]


def test_a_py_file_that_does_not_parse_is_the_students_error():
    """Does a .py syntax error raise SubmissionError with the line?"""
    sub = read_submission(SUBMISSIONS / "broken" / "syntax_error.py")
    with pytest.raises(SubmissionError, match=r"does not parse \(SyntaxError: .* at line 4\)"):
        extract_source(sub.cells, PY)


def test_an_nbformat3_notebook_keeps_its_functions():
    """Are the functions of a converted v3 notebook extracted (and %timeit dropped)?"""
    sub = read_submission(SUBMISSIONS / "notebooks" / "nbformat3.ipynb")
    ex = extract_source(sub.cells, NB)
    assert ex.defined == ("ema", "adam_first_moment") and "timeit" not in ex.source
