"""`alr build`: reproducible notebooks with correct nbgrader metadata, from the YAML alone."""

from __future__ import annotations

import inspect
from functools import cache
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbgrader.preprocessors import CheckCellMetadata

import solutions
from alr.contract import MODULE_IDS
from course.load import load_course
from course.notebooks import build_course, dumps, module_notebooks
from course.notebooks.code import support_functions
from course.spec import ModuleSpec
from quizzes.notebook import skill_check_cells

REPO = Path(__file__).resolve().parents[2]


@cache
def _notebooks(module_id: str) -> tuple[ModuleSpec, dict[str, NotebookNode]]:
    module = load_course().module(module_id)
    return module, module_notebooks(module, skill_check_cells)


def _cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    found = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(found) == 1, f"{grade_id}: {len(found)} cells"
    return found[0]


def test_committed_exercises_equal_the_build(tmp_path: Path) -> None:
    """Does a fresh build reproduce the committed exercises/ byte for byte (and nothing more)?"""
    written = build_course(out=tmp_path, appendix=skill_check_cells)
    built = {p.name: p.read_bytes() for p in written["student"]}
    committed = {p.name: p.read_bytes() for p in (REPO / "exercises").glob("*.ipynb")}
    assert (
        sorted(built)
        == sorted(committed)
        == [f"module-{m.replace('.', '-')}.ipynb" for m in MODULE_IDS]
    )
    stale = [name for name in built if built[name] != committed[name]]
    assert not stale, f"exercises/ is stale, run `alr build`: {stale}"
    requirements = "exercises/requirements.txt"
    assert (tmp_path / requirements).read_bytes() == (REPO / requirements).read_bytes()
    assert (tmp_path / "build/nbgrader/nbgrader_config.py").is_file()
    assert len(list((tmp_path / "build/nbgrader/source").glob("module-*/module-*.ipynb"))) == 10


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_source_notebook_has_valid_nbgrader_cells(module_id: str) -> None:
    """Does the source carry solution cells, autograded test cells with points and hidden tests,
    locked given cells and unique grade ids, and pass nbgrader's own metadata check?"""
    module, nbs = _notebooks(module_id)
    source = nbs["source"]
    assert source.metadata["alr"] == {"module": module_id}
    ids = [c.metadata["nbgrader"]["grade_id"] for c in source.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    for exercise in module.exercises:
        solution = _cell(source, f"solution_{exercise.function}").metadata["nbgrader"]
        assert solution["solution"] and not solution["grade"]
        test = _cell(source, f"test_{exercise.function}")
        meta = test.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["points"] == exercise.points
        assert "### BEGIN HIDDEN TESTS" in test.source and "### END HIDDEN TESTS" in test.source
        assert "### BEGIN SOLUTION" in _cell(source, f"solution_{exercise.function}").source
    for given in ("given", "lab", "check_helper"):
        assert _cell(source, given).metadata["nbgrader"]["locked"]
    CheckCellMetadata().preprocess(source, {})
    nbformat.validate(source)


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_student_notebook_holds_no_solution(module_id: str) -> None:
    """Are solutions replaced by nbgrader's stub and hidden tests gone from the student version?"""
    module, nbs = _notebooks(module_id)
    student = nbs["student"]
    text = dumps(student)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
        assert marker not in text
    for function in module.functions:
        cell = _cell(student, f"solution_{function}")
        assert cell.source.rstrip().endswith("raise NotImplementedError()")
        assert f"def {function}(" in cell.source
        body = inspect.getsource(getattr(solutions, function)).split('"""')[-1].strip()
        assert body not in text, f"the reference body of {function} leaks"
        assert len(cell.metadata["nbgrader"]["checksum"]) == 32
        assert f"def {function}(" not in _cell(student, "given").source
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    nbformat.validate(student)


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(line in it for line in part)


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_solution_notebook_uses_the_reference_code(module_id: str) -> None:
    """Is each graded function's code in the solution notebook the reference source itself,
    with what it calls from later modules defined inside it (the learner writes that inline)?"""
    module, nbs = _notebooks(module_id)
    code = [c.source for c in nbs["solution"].cells if c.cell_type == "code"]
    text = "\n".join(code)
    for function in module.functions:
        cell = next(c for c in code if c.startswith(f"def {function}("))
        reference = inspect.getsource(getattr(solutions, function)).strip()
        support = support_functions(function, module_id)
        if not support:
            assert cell.strip() == reference
            continue
        lines = cell.splitlines()
        assert _is_subsequence(reference.splitlines(), lines)
        for helper in support:
            nested = [
                "    " + l if l else l for l in inspect.getsource(helper).strip().splitlines()
            ]
            start = lines.index(nested[0])
            assert lines[start : start + len(nested)] == nested, helper.__name__
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert all("nbgrader" not in c.metadata for c in nbs["solution"].cells)


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_reading_comes_first_and_the_given_code_is_collapsed(module_id: str) -> None:
    """Between the reading and the first exercise, are there only collapsed (source_hidden),
    locked code cells, so the first exercise follows the reading directly?"""
    _, nbs = _notebooks(module_id)
    cells = nbs["student"].cells
    formulas = next(i for i, c in enumerate(cells) if c.source.startswith("## Useful formulas"))
    first = next(i for i, c in enumerate(cells) if c.source.startswith("## Exercise 1"))
    between = cells[formulas + 1 : first]
    assert [c.metadata["nbgrader"]["grade_id"] for c in between] == ["given", "lab", "check_helper"]
    for cell in between:
        assert cell.cell_type == "code" and cell.metadata["jupyter"] == {"source_hidden": True}
        assert cell.metadata["nbgrader"]["locked"]


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_worked_answers_are_collapsed_for_students_and_open_in_the_solution(module_id: str) -> None:
    """Does every diagnostic question come with its worked answer: behind "Show answer" in the
    student notebook, open in the solution notebook?"""
    module, nbs = _notebooks(module_id)
    questions = module.reading.diagnostic_questions
    for kind, opening in (
        ("student", "<details><summary>"),
        ("solution", "<details open><summary>"),
    ):
        cells = [c.source for c in nbs[kind].cells if "Show answer" in c.source]
        assert len(cells) == len(questions)
        for source, q in zip(cells, questions, strict=True):
            assert opening in source and q.answer.strip() in source and q.question.strip() in source
