"""Stage 2 (extract): only definitions survive; IPython syntax and project imports are removed."""

from __future__ import annotations

import ast
import re
from dataclasses import replace

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


# ---- bounded work on student bytes ----

GOOD = "def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n"


@pytest.fixture
def transforms(monkeypatch):
    """Record the lines of IPython syntax each conversion is given, and check that the AST lock
    is free while IPython runs."""
    from IPython.core.inputtransformer2 import TransformerManager

    from autograder.stages import extract

    seen: list[int] = []
    original = TransformerManager.transform_cell

    def transform_cell(self, source):
        assert not extract._AST_LOCK.locked(), "IPython ran under the AST lock"
        seen.append(sum(1 for line in source.splitlines() if line.lstrip().startswith("%")))
        return original(self, source)

    monkeypatch.setattr(TransformerManager, "transform_cell", transform_cell)
    return seen


def test_a_cell_of_500_magics_is_skipped_before_ipython_sees_it(transforms):
    """Is a cell of 500 `%ls` lines (IPython itself gives up on it with RuntimeError) skipped
    with a one-line reason without being converted, while the other cells still count?"""
    cells = (Cell(0, "%ls\n" * 500), Cell(1, "%matplotlib inline\n" + GOOD))
    ex = extract_source(cells, NB)
    assert ex.defined == ("ema",) and transforms == [1]
    assert any(n.startswith("cell 1 was skipped: it has 500 lines of IPython") for n in ex.notes)


def test_a_notebook_full_of_magics_converts_only_a_bounded_amount(transforms):
    """For a notebook of many cells of magics (the 1.3 MB notebook that held grading for 20
    minutes), is IPython's work (lines x lines of IPython syntax) bounded per cell and in all,
    the cells beyond it skipped with a reason?"""
    from autograder.stages.extract import MAX_IPYTHON_WORK, MAX_IPYTHON_WORK_TOTAL

    cells = tuple(Cell(i, "%ls\n" * 40 + "x = 1\n" * 400) for i in range(300))
    too_big = Cell(300, "%ls\n" * 40 + "x = 1\n" * 1000)  # 40 x 1041 lines: over one cell's
    ex = extract_source((too_big, *cells, Cell(301, GOOD)), NB)
    assert 40 * 441 <= MAX_IPYTHON_WORK < 40 * 1041
    assert len(transforms) == MAX_IPYTHON_WORK_TOTAL // (40 * 441) and ex.defined == ("ema",)
    assert sum("was skipped" in n for n in ex.notes) == 301 - len(transforms)


def test_whatever_ipython_raises_skips_only_that_cell(monkeypatch):
    """When IPython's conversion raises on a cell, is that cell skipped with the reason?"""
    from IPython.core.inputtransformer2 import TransformerManager

    def boom(self, source):
        raise RuntimeError("Input transformation still changing after 500 iterations")

    monkeypatch.setattr(TransformerManager, "transform_cell", boom)
    ex = extract_source((Cell(0, "!ls\n"), Cell(1, GOOD)), NB)
    assert ex.defined == ("ema",)
    assert "cell 1 was skipped: IPython could not convert it (RuntimeError: Input" in ex.notes[0]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x = " + "+".join(["1"] * 200_000) + "\n", "could not be parsed (RecursionError"),
        ("x = " + "+".join(["1"] * 150) + "\n" + GOOD, "nested"),
        ("x = 1\n" * 25_000 + GOOD, "lines"),
    ],
    ids=["200000-term expression", "150-deep expression", "25000 lines"],
)
def test_a_py_beyond_the_limits_is_the_students_error_in_one_line(source, reason, tmp_path):
    """Is a .py file with a 200,000-term expression, too deep a nesting or too many lines the
    student's error with a one-line reason, from the stage as from the function?"""
    from autograder.stages.extract import extract_functions
    from autograder.stages.load import load_submission
    from tests.autograder.grading_helpers import context, course_plan

    with pytest.raises(SubmissionError, match=re.escape(reason)) as err:
        extract_source((Cell(None, source),), PY)
    assert "\n" not in str(err.value)
    path = tmp_path / "deep.py"
    path.write_text(source)
    ctx = load_submission(replace(context(course_plan(), tmp_path), path=path))
    ctx = extract_functions(ctx)
    assert ctx.error is not None and reason.split(" (")[0] in ctx.error


def test_code_over_the_size_limit_is_refused_before_parsing(monkeypatch):
    """Is code over the size limit refused before any parse or conversion?"""
    import ast as ast_module

    from autograder.stages.extract import MAX_CODE_CHARS

    monkeypatch.setattr(ast_module, "parse", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(SubmissionError, match="characters long"):
        extract_source((Cell(0, "x = 1\n" * (MAX_CODE_CHARS // 6 + 1)),), NB)
