"""`alr export TARGET ...`: a thin click layer over the export functions of this package.

Every grade export prints what it wrote, the cells it left blank (modules not submitted), the
submissions that earned no grade (problems), and the graded students it could not place (a
warning; an error with --strict).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alr.errors import ExportError

if TYPE_CHECKING:
    from autograder.export.gradesheet import ExportReport, GradeSheet

_RESULTS = click.argument(
    "results",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
_ONLY = click.option(
    "--only",
    multiple=True,
    help="Only this column: a module id or 'skill-checks' (repeatable).",
)
_STRICT = click.option(
    "--strict",
    is_flag=True,
    help="Graded students missing from the roster are an error (nothing is written).",
)


@click.group()
def export() -> None:
    """Export grades and quizzes to Gradescope, Canvas, Moodle, LTI, nbgrader, QTI, Moodle XML."""


def _sheet(results: Sequence[Path], only: Sequence[str]) -> GradeSheet:
    from autograder.export.gradesheet import read_sheet

    return read_sheet(results, only=only or None)


def blank_lines(blanks: Sequence[tuple[str, str]]) -> str:
    """ "bob (4.3); carol (4.1, skill-checks)": the blank cells grouped by student."""
    by_student: dict[str, list[str]] = {}
    for student, key in blanks:
        by_student.setdefault(student, []).append(key)
    return "; ".join(f"{s} ({', '.join(keys)})" for s, keys in by_student.items())


def echo_report(report: ExportReport, what: str) -> None:
    """What an export wrote, left blank, could not grade and could not place."""
    if report.blanks:
        click.echo(
            f"blank, not submitted (left empty, not 0): {len(report.blanks)} cell(s): "
            + blank_lines(report.blanks)
        )
    for problem in report.problems:
        click.echo(f"problem, no grade: {problem}", err=True)
    if report.unmatched:
        click.echo(
            f"warning: {len(report.unmatched)} graded student(s) NOT exported, no {what}: "
            f"{', '.join(report.unmatched)} (--strict makes this an error)",
            err=True,
        )
    if report.missing:
        click.echo(f"in the roster without results: {'; '.join(report.missing)}", err=True)


@export.command("canvas")
@_RESULTS
@_ONLY
@_STRICT
@click.option(
    "--roster",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Canvas gradebook export (CSV) listing the students.",
)
@click.option(
    "--out", default=Path("canvas-grades.csv"), type=click.Path(path_type=Path), show_default=True
)
def canvas(
    results: tuple[Path, ...], only: tuple[str, ...], strict: bool, roster: Path, out: Path
) -> None:
    """Canvas gradebook import CSV from RESULTS (results folders of `alr grade`)."""
    from autograder.export.canvas import export_canvas

    report = export_canvas(sheet=_sheet(results, only), roster=roster, out=out, strict=strict)
    click.echo(f"wrote {report.path}: {len(report.students)} student(s)")
    echo_report(report, "row in the roster")


@export.command("moodle")
@_RESULTS
@_ONLY
@_STRICT
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns student,email (default: the results' emails, or ids that are emails).",
)
@click.option(
    "--out", default=Path("moodle-grades.csv"), type=click.Path(path_type=Path), show_default=True
)
def moodle(
    results: tuple[Path, ...],
    only: tuple[str, ...],
    strict: bool,
    roster: Path | None,
    out: Path,
) -> None:
    """Moodle grade import CSV (map 'email' to the user's email address when importing)."""
    from autograder.export.moodle import export_moodle

    report = export_moodle(sheet=_sheet(results, only), out=out, roster=roster, strict=strict)
    click.echo(f"wrote {report.path}: {len(report.students)} student(s)")
    echo_report(report, "email address")


@export.command("lti")
@_RESULTS
@_ONLY
@_STRICT
@click.option("--module", help="Score one module only (e.g. 3.1; the same as --only 3.1).")
@click.option(
    "--users",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns student,lti_user_id (default: the student id).",
)
@click.option(
    "--out", default=Path("lti-scores"), type=click.Path(path_type=Path), show_default=True
)
@click.option("--lineitem", help="Also POST each score to this AGS line item URL.")
@click.option("--token", envvar="ALR_LTI_TOKEN", help="Bearer token (or set ALR_LTI_TOKEN).")
@click.option(
    "--timestamp",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S"]),
    help="UTC time of the scores (default: now).",
)
def lti(
    results: tuple[Path, ...],
    only: tuple[str, ...],
    strict: bool,
    module: str | None,
    users: Path | None,
    out: Path,
    lineitem: str | None,
    token: str | None,
    timestamp: datetime | None,
) -> None:
    """LTI 1.3 AGS score JSON per student, written to OUT and optionally posted."""
    from autograder.export.files import read_student_map
    from autograder.export.lti import post_scores, render_scores, write_scores

    source = click.get_current_context().get_parameter_source("token")
    if token and not lineitem and source is click.core.ParameterSource.COMMANDLINE:
        raise ExportError("--token given without --lineitem: say where to post the scores")
    moment = timestamp.replace(tzinfo=UTC) if timestamp else datetime.now(UTC)
    user_ids = read_student_map(users, "lti_user_id") if users else None
    sheet = _sheet(results, (*only, module) if module else only)
    scores, report = render_scores(
        sheet, timestamp=moment, user_ids=user_ids, strict=strict, where=users
    )
    paths = write_scores(scores, out)
    click.echo(f"wrote {len(paths)} score file(s) to {out}")
    echo_report(report, "LTI user id")
    if lineitem:
        posted = post_scores(scores, lineitem=lineitem, token=token or "")
        click.echo(f"posted {posted} score(s) to {lineitem}")


@export.command("nbgrader")
@_RESULTS
@click.option("--db", required=True, help="Gradebook URL (sqlite:///gradebook.db) or path.")
@click.option(
    "--course", "course_id", default="default_course", show_default=True, help="nbgrader course id."
)
def nbgrader(results: tuple[Path, ...], db: str, course_id: str) -> None:
    """Write grades into an nbgrader gradebook (then use nbgrader export / formgrader)."""
    from alr.results import read_results
    from autograder.export.nbgrader_db import export_nbgrader
    from autograder.export.quiz_scores import load_quiz_totals

    written, report = export_nbgrader(
        results=read_results(results), quizzes=load_quiz_totals(results), db=db, course_id=course_id
    )
    click.echo(f"wrote {len(written)} cell score(s) of {len(report.students)} student(s) to {db}")
    echo_report(report, "")


@export.command("gradescope")
@click.option(
    "--out", default=Path("autograder.zip"), type=click.Path(path_type=Path), show_default=True
)
@click.option(
    "--secret",
    default=Path("build") / "course-secret.txt",
    type=click.Path(dir_okay=False, path_type=Path),
    show_default=True,
    help="The course secret (made by alr build): Gradescope's scores then equal a local batch's.",
)
@click.option("--module", help="The assignment's module, for submissions that name none.")
def gradescope(out: Path, secret: Path, module: str | None) -> None:
    """Gradescope autograder zip (setup.sh, run_autograder, a wheel of this course, the secret)."""
    from autograder.export.gradescope import export_gradescope

    written = export_gradescope(out=out, secret=secret, module=module)
    click.echo(f"wrote {written}; upload it as the assignment's autograder (it holds the secret)")


def _quiz_export(default: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options of the question exports (QTI and Moodle XML), declared once."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--out", default=Path(default), type=click.Path(path_type=Path), show_default=True
        )(command)
        command = click.option(
            "--seed", default=0, show_default=True, help="Instance of generated questions."
        )(command)
        return click.option(
            "--module", "modules", multiple=True, help="Only these modules (repeatable)."
        )(command)

    return decorate


@export.command("qti")
@_quiz_export("quizzes-qti.zip")
def qti(modules: tuple[str, ...], seed: int, out: Path) -> None:
    """Skill checks and practice banks as a Canvas QTI 1.2 zip."""
    from autograder.export.qti import export_qti

    click.echo(f"wrote {export_qti(out=out, modules=modules, seed=seed)}")


@export.command("moodle-xml")
@_quiz_export("quizzes-moodle.xml")
def moodle_xml(modules: tuple[str, ...], seed: int, out: Path) -> None:
    """Skill checks and practice banks as Moodle XML (question bank import)."""
    from autograder.export.moodle_xml import export_moodle_xml

    click.echo(f"wrote {export_moodle_xml(out=out, modules=modules, seed=seed)}")
