"""Student and solution versions of a source notebook.

The student version goes through nbgrader's own preprocessors, in the order
`nbgrader generate_assignment` runs them (without the gradebook step): lock cells, clear
solution regions to nbgrader's stub, clear outputs, check metadata, compute checksums, clear
hidden tests, compute checksums again. The solution version keeps the reference code and the
hidden tests, shows the worked answers of the diagnostic questions open, and drops the nbgrader
markers and metadata.
"""

from __future__ import annotations

import copy

from nbformat import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

_MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
)


def student_notebook(source: NotebookNode) -> NotebookNode:
    """What students receive: nbgrader's release version of the source notebook."""
    nb = copy.deepcopy(source)
    resources: dict = {}
    steps = (
        LockCells(),
        ClearSolutions(),
        ClearOutput(),
        CheckCellMetadata(),
        ComputeChecksums(),
        ClearHiddenTests(),
        ClearMarkScheme(),
        ComputeChecksums(),
        CheckCellMetadata(),
    )
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    return nb


def solution_notebook(source: NotebookNode) -> NotebookNode:
    """The reference solution: source code kept, worked answers open, nbgrader markers and
    metadata removed."""
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("answer_"):
            cell.source = cell.source.replace("<details>", "<details open>", 1)
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            lines = cell.source.split("\n")
            cell.source = "\n".join(l for l in lines if l.strip() not in _MARKERS)
    return nb
