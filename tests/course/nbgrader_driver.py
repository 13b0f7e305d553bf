"""Run real nbgrader on a generated course: generate_assignment, then autograde two submissions.

    python tests/course/nbgrader_driver.py COURSE_ROOT MODULE_ID...

For each module, with the course's own nbgrader_config.py: `generate_assignment` (nbgrader's
converter, through its Python API, the same code the `nbgrader` command runs), then two
submissions built from the release notebook:
`solved` (each solution cell filled with the reference code from the source notebook) and
`untouched` (the release as is); then `autograde` both. Prints one JSON object: per assignment
the max score, each student's score, the release path and every warning nbgrader logged.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _solved(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    answers = {
        c.metadata["nbgrader"]["grade_id"]: "\n".join(
            line for line in c.source.split("\n") if line.strip() not in MARKERS
        )
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return release


class _Warnings(logging.Handler):
    """Every warning nbgrader logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(root: Path, modules: list[str]) -> dict[str, dict[str, object]]:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    api = NbGraderAPI(config=config)
    warnings = _Warnings()
    api.log.addHandler(warnings)
    logging.getLogger().addHandler(warnings)
    out: dict[str, dict[str, object]] = {}
    for module in modules:
        assignment = "module-" + module.replace(".", "-")
        name = f"{assignment}.ipynb"
        result = api.generate_assignment(assignment)
        if not result["success"]:
            raise SystemExit(f"generate_assignment {assignment} failed:\n{result.get('log')}")
        release_path = root / "release" / assignment / name
        source = nbformat.read(root / "source" / assignment / name, as_version=4)
        for student in ("solved", "untouched"):
            nb = nbformat.read(release_path, as_version=4)
            if student == "solved":
                nb = _solved(nb, source)
            target = root / "submitted" / student / assignment / name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
            (target.parent / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
            graded = api.autograde(assignment, student)
            if not graded["success"]:
                raise SystemExit(f"autograde {assignment} {student} failed:\n{graded.get('error')}")
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="adaptive-lr") as gb:
            scores = {s: gb.find_submission(assignment, s).score for s in ("solved", "untouched")}
            max_score = gb.find_assignment(assignment).max_score
        out[assignment] = {
            "max_score": max_score,
            "scores": scores,
            "release": str(release_path),
            "warnings": list(warnings.messages),
        }
        warnings.messages.clear()
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:])))
