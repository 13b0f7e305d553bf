"""Build the class report: read a results folder, aggregate, draw, write one HTML file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from alr.errors import AlrError
from alr.fileio import write_atomic
from autograder.class_report import page, plots
from autograder.class_report.load import ClassResults, ReportError, read_class
from autograder.class_report.quizstats import (
    SkillChecks,
    queues_section,
    quiz_reasons,
    read_skill_checks,
    skill_checks_section,
)
from autograder.class_report.stats import attention, result_stats
from course.load import load_course

REPORT_NAME = "report.html"
MISCONCEPTIONS_PER_FUNCTION = 3


@dataclass(frozen=True)
class Report:
    """What `build_report` wrote, and the numbers it shows at the top."""

    path: Path
    students: int
    attention: int
    misconceptions: int
    quiz_questions: int
    blanks: tuple[tuple[str, str], ...] = ()  # (student, module) not submitted
    problems: tuple[str, ...] = ()  # "student: submission: error" of unscoped results


def module_titles() -> dict[str, str]:
    """Module id -> section title from the course files (empty if they cannot be loaded)."""
    try:
        return {m.id: m.title for m in load_course().modules}
    except AlrError:  # the report stays useful without titles
        return {}


def _links(found: ClassResults, out: Path) -> page.Links:
    """(student, module) -> the feedback page beside the result, relative to the report."""
    links: page.Links = {}
    for (student, module), result in found.results.cells.items():
        target = found.results.path(result).with_suffix(".html")
        rel = os.path.relpath(target, out.parent) if target.is_file() else None
        links[(student, module)] = quote(Path(rel).as_posix()) if rel else None
    return links


def _problems(found: ClassResults) -> tuple[str, ...]:
    return tuple(
        f"{u.student}: {u.submission or 'a submission'}: {u.error or ''}"
        for u in found.results.unscoped
    )


def render(results_dir: Path, out_file: Path) -> tuple[str, Report]:
    """The report's HTML for `results_dir`, with feedback links relative to `out_file`."""
    found = read_class(results_dir)
    students = found.students
    stats = result_stats(students)
    checks: SkillChecks = read_skill_checks(results_dir)
    flagged = attention(students, quiz_reasons(checks, [s.student for s in students]))
    body = "".join(
        [
            page.header(stats, len(flagged)),
            page.modules_section(stats, plots.module_histograms(stats.modules), module_titles()),
            page.functions_section(stats, plots.function_outcomes(stats.functions)),
            page.misconceptions_section(
                stats.misconceptions,
                plots.misconception_bars(stats.misconceptions) if stats.misconceptions else "",
                MISCONCEPTIONS_PER_FUNCTION,
            ),
            skill_checks_section(checks),
            queues_section(checks),
            page.attention_section(flagged),
            page.not_graded_section(students),
            page.students_section(stats, _links(found, out_file)),
            page.footer(stats),
        ]
    )
    report = Report(
        path=out_file,
        students=len(students),
        attention=len(flagged),
        misconceptions=len(stats.misconceptions),
        quiz_questions=len(checks.questions),
        blanks=found.results.blanks(),
        problems=_problems(found),
    )
    return page.page(body), report


def build_report(*, results_dir: Path, out: Path | None = None) -> Report:
    """Write `<out>/report.html` (out defaults to results_dir) for the results in results_dir."""
    results_dir = Path(results_dir)
    out_dir = Path(out) if out is not None else results_dir
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"{out_dir}: exists and is not a folder; pass a folder to --out")
    out_file = out_dir / REPORT_NAME
    text, report = render(results_dir, out_file)
    write_atomic(out_file, text)
    return report
