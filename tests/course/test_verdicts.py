"""Each student notebook, filled in, says what the learner should see: every claim ✓ with the
reference solutions, and at least one ✗ with a classic mistake of the module.

The notebook's cells run in order in one namespace, as a kernel would run them (test cells and
the skill check are left out: they are graded elsewhere); what they print is what the learner
reads."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from functools import cache
from typing import Any

import pytest
from nbformat import NotebookNode

from alr.contract import MODULE_IDS
from course.load import load_course
from course.notebooks import module_notebooks
from tests.course.mistakes import MISTAKES

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@cache
def _notebooks(module_id: str) -> dict[str, NotebookNode]:
    return module_notebooks(load_course().module(module_id))


def _reference_answers(module_id: str) -> dict[str, str]:
    source = _notebooks(module_id)["source"]
    return {
        c.metadata["nbgrader"]["grade_id"]: "\n".join(
            l for l in c.source.split("\n") if l.strip() not in MARKERS
        )
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


@contextlib.contextmanager
def _agg_backend() -> Any:
    """matplotlib without a display while the cells run in this process, the environment
    restored afterwards (a kernel started later by another test must not inherit it)."""
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        yield
    finally:
        if before is None:
            del os.environ["MPLBACKEND"]
        else:
            os.environ["MPLBACKEND"] = before


def run_student_notebook(module_id: str, answers: dict[str, str], *, plots: bool) -> str:
    """Fill the student notebook's solution cells with `answers` and run its cells up to the
    skill check (test cells skipped); returns everything printed."""
    cells = _notebooks(module_id)["student"].cells
    end = next(i for i, c in enumerate(cells) if c.source.startswith("## AI connection"))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    with _agg_backend(), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in cells[:end]:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("grade"):
                continue
            source = answers.get(meta.get("grade_id", ""), cell.source)
            exec(compile(source, f"<{module_id} cell>", "exec"), namespace)  # noqa: S102
            if meta.get("grade_id") == "lab" and not plots:
                namespace["plot_logs"] = lambda *args, **kwargs: None
            if "plt" in namespace or "matplotlib.pyplot" in __import__("sys").modules:
                import matplotlib.pyplot as plt

                plt.close("all")
    return out.getvalue()


def verdicts(printed: str) -> list[str]:
    """The ✓/✗ lines of the experiments' "what you should see"."""
    return [line.strip()[0] for line in printed.splitlines() if line.startswith(("  ✓ ", "  ✗ "))]


def property_checks(printed: str) -> list[str]:
    return [line[0] for line in printed.splitlines() if line.startswith(("✓ ", "✗ "))]


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_reference_solutions_see_every_claim_hold(module_id: str) -> None:
    """Filled with the reference solutions, does the notebook run top to bottom and print ✓ for
    every claim of every experiment and every property check?"""
    printed = run_student_notebook(module_id, _reference_answers(module_id), plots=True)
    module = load_course().module(module_id)
    expected = sum(len(e.expectations) for e in module.experiments)
    assert verdicts(printed) == ["✓"] * expected, printed[-3000:]
    assert "✗" not in printed
    assert set(property_checks(printed)) <= {"✓"}


@pytest.mark.parametrize("module_id", MODULE_IDS)
def test_a_classic_mistake_is_told_what_it_does_not_reproduce(module_id: str) -> None:
    """Filled with the references except one function written with a classic mistake of the
    module, does the notebook still run and print at least one ✗ with the numbers?"""
    misconception, function, source = MISTAKES[module_id]
    answers = {**_reference_answers(module_id), f"solution_{function}": source}
    printed = run_student_notebook(module_id, answers, plots=False)
    marks = verdicts(printed) + property_checks(printed)
    assert "✗" in marks, f"{module_id}: {misconception} passes every claim"
    assert "measured:" in printed
