"""The class report: one static HTML page an instructor opens in a browser.

`build_report(results_dir=DIR)` reads the graded results of a class (`DIR/<student>.json`, and
`DIR/quizzes/`, `DIR/queues/` when present) and writes `DIR/report.html`: score distributions per
module and function, the most frequent misconceptions per function with counts and an example
hint, skill-check answers per question (which distractors students pick), the students who need
attention, and the grader version and sandbox level used. Plots are inline SVG; the page has no
scripts and loads nothing from the network. `alr report RESULTS_DIR [--out DIR]` is its command.
"""

from typing import Any

from autograder.class_report.cli import report
from autograder.class_report.load import ReportError

__all__ = ["REPORT_NAME", "Report", "ReportError", "build_report", "report"]


def __getattr__(name: str) -> Any:
    """Import the builder (and matplotlib) only when used, so `alr --help` stays fast."""
    if name in ("REPORT_NAME", "Report", "build_report"):
        from autograder.class_report import build

        return getattr(build, name)
    raise AttributeError(name)
