"""nbgrader's autograding, without its false alarm for hidden tests.

`nbgrader generate_assignment` saves each locked cell's checksum before it clears the hidden
tests, so `nbgrader autograde` finds every test cell with hidden tests "changed" and warns (then
restores the source anyway): jupyter/nbgrader#1961. `RestoreHiddenTests` restores such a cell
quietly when the only difference is the cleared hidden-test region; any other change to a locked
cell is still reported by nbgrader's own check. The course's `nbgrader_config.py` uses it in
place of `OverwriteCells`.
"""

from __future__ import annotations

import copy
from typing import Any

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


class RestoreHiddenTests(OverwriteCells):
    """OverwriteCells that gives a released test cell its hidden tests back before checking."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], cell_index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell) and cell.cell_type == "code":
            try:
                source = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                )
            except MissingEntry:
                source = None
            if source is not None and source.source != cell.source:
                released = copy.deepcopy(cell)
                released.source = source.source
                ClearHiddenTests()._remove_hidden_test_region(released)
                if released.source == cell.source:
                    cell.source = source.source
        return super().preprocess_cell(cell, resources, cell_index)
