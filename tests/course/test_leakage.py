"""Nothing given away: a student notebook holds no code of a function graded in its own module
or a later one (nor of a helper that calls one), in any cell: given code, lab, experiments."""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache

import pytest
from nbformat import NotebookNode

import solutions
from alr.contract import FUNCTION_MODULE, MODULE_IDS
from course.dependencies import closure, is_solution_function, later_graded
from course.load import load_course
from course.notebooks import module_notebooks
from course.notebooks.code import can_give


@cache
def _student(module_id: str) -> NotebookNode:
    return module_notebooks(load_course().module(module_id))["student"]


def _body_lines(fn: object) -> list[str]:
    """The lines of a reference function after its docstring, stripped; short generic lines
    (`return out`, `else:`) are left out."""
    source = textwrap.dedent(inspect.getsource(fn))  # type: ignore[arg-type]
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    lines = source.splitlines()[body[0].lineno - 1 :]
    return [line.strip() for line in lines if len(line.strip()) >= 16]


ALL_FUNCTIONS = sorted(
    {f for f in closure(getattr(solutions, n) for n in FUNCTION_MODULE)}, key=lambda f: f.__name__
)


def _withheld(module_id: str) -> list:
    """Reference functions the notebook of `module_id` must not contain."""
    return [f for f in ALL_FUNCTIONS if not can_give(f, module_id)]


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_student_notebook_gives_away_no_later_or_own_code(module_id: str) -> None:
    """Does no cell contain a line of code of a function graded in this module or later (or of
    a helper calling one), and is such a function defined only as this module's stub?"""
    nb = _student(module_id)
    withheld = _withheld(module_id)
    assert {f.__name__ for f in withheld} >= {
        f for f, m in FUNCTION_MODULE.items() if MODULE_IDS.index(m) >= MODULE_IDS.index(module_id)
    }
    lines = {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
    # A line shared with a function the notebook may give (earlier modules' code) is not a leak.
    shared = {line for f in ALL_FUNCTIONS if can_give(f, module_id) for line in _body_lines(f)}
    for fn in withheld:
        leaked = [line for line in _body_lines(fn) if line in lines and line not in shared]
        assert not leaked, f"{module_id}: {fn.__name__} leaks {leaked}"
        defining = [c for c in nb.cells if f"def {fn.__name__}(" in c.source]
        own = FUNCTION_MODULE.get(fn.__name__) == module_id and is_solution_function(fn)
        if own:
            assert len(defining) == 1
            assert defining[0].metadata["nbgrader"]["grade_id"] == f"solution_{fn.__name__}"
            assert defining[0].source.rstrip().endswith("raise NotImplementedError()")
        else:
            assert not defining, f"{module_id}: defines {fn.__name__}"


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_what_is_given_is_from_earlier_modules(module_id: str) -> None:
    """Is every function in the given cell an ungraded helper or graded earlier, calling nothing
    graded later?"""
    given = next(
        c
        for c in _student(module_id).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "given"
    )
    names = [
        n.name
        for n in ast.parse(given.source.split("\n", 1)[1]).body
        if isinstance(n, ast.FunctionDef)
    ]
    for name in names:
        fn = getattr(solutions, name, None) or next(f for f in ALL_FUNCTIONS if f.__name__ == name)
        module = FUNCTION_MODULE.get(name)
        assert module is None or MODULE_IDS.index(module) < MODULE_IDS.index(module_id), name
        assert not later_graded(fn, module_id), name


def test_the_leak_check_catches_a_leak() -> None:
    """Would the check notice the body of a withheld function pasted into a notebook?"""
    fn = solutions.bias_correction
    assert fn in _withheld("3.2")
    pasted = "\n".join(_body_lines(fn))
    assert pasted and all(
        line in {l.strip() for l in pasted.splitlines()} for line in _body_lines(fn)
    )
    given = next(
        c
        for c in _student("3.2").cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "given"
    )
    assert not any(line in given.source for line in _body_lines(fn))
    assert any(line in given.source + "\n" + pasted for line in _body_lines(fn))
