"""Executing the generated notebooks with real kernels (nbclient).

Every solution notebook runs top to bottom without error (its visible and hidden tests pass, its
experiments train, plot and print ✓ for every claim); every student notebook runs until the first
graded function's test cell and stops there with NotImplementedError. Notebooks run two at a
time, each in its own kernel.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

from course.load import load_course
from course.notebooks import module_notebooks
from quizzes.notebook import skill_check_cells

PARALLEL = max(1, min(2, os.cpu_count() or 1))


async def _execute(nb: NotebookNode, cwd: Path, limit: asyncio.Semaphore) -> BaseException | None:
    async with limit:
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        )
        try:
            await client.async_execute()
        except CellExecutionError as exc:
            return exc
    return None


def _run_all(nbs: dict[str, NotebookNode], cwd: Path) -> dict[str, BaseException | None]:
    async def main() -> dict[str, BaseException | None]:
        limit = asyncio.Semaphore(PARALLEL)
        outcomes = await asyncio.gather(*(_execute(nb, cwd, limit) for nb in nbs.values()))
        return dict(zip(nbs, outcomes, strict=True))

    return asyncio.run(main())


@pytest.fixture(scope="module")
def notebooks() -> dict[str, dict[str, NotebookNode]]:
    return {m.id: module_notebooks(m, skill_check_cells) for m in load_course().modules}


@pytest.mark.slow
def test_every_solution_notebook_runs_top_to_bottom(
    notebooks: dict[str, dict[str, NotebookNode]], tmp_path: Path
) -> None:
    """Does each solution notebook execute without error, its tests printing their success?"""
    solved = {m: nbformat.from_dict(nbs["solution"]) for m, nbs in notebooks.items()}
    failures = {m: str(e)[-800:] for m, e in _run_all(solved, tmp_path).items() if e is not None}
    assert not failures, failures
    for module_id, nb in solved.items():
        printed = "".join(
            o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
        )
        module = load_course().module(module_id)
        for function in module.functions:
            assert f"{function}: all tests passed" in printed
        images = [
            o
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if "image/png" in o.get("data", {})
        ]
        trained = [e for e in module.experiments if e.probe is None]
        assert len(images) == len(trained), f"{module_id}: expected one plot per training run set"
        claims = sum(len(e.expectations) for e in module.experiments)
        assert printed.count("\n  ✓ ") == claims and "✗" not in printed, module_id


@pytest.mark.slow
def test_every_student_notebook_stops_at_the_first_stub(
    notebooks: dict[str, dict[str, NotebookNode]], tmp_path: Path
) -> None:
    """Does each student notebook run its given cells, then fail in the first test cell with
    NotImplementedError (and not earlier, and not with another error)?"""
    students = {m: nbformat.from_dict(nbs["student"]) for m, nbs in notebooks.items()}
    outcomes = _run_all(students, tmp_path)
    for module_id, error in outcomes.items():
        assert isinstance(error, CellExecutionError), f"{module_id}: ran without stopping"
        assert error.ename == "NotImplementedError", (module_id, error.ename, error.evalue)
        nb = students[module_id]
        first = load_course().module(module_id).functions[0]
        failed = [
            c
            for c in nb.cells
            if c.cell_type == "code"
            and any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ]
        assert [c.metadata["nbgrader"]["grade_id"] for c in failed] == [f"test_{first}"]
