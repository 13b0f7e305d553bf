"""`alr export TARGET ...`: a thin click layer over the export functions of this package."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alr.errors import ExportError

if TYPE_CHECKING:
    from autograder.export.gradesheet import ExportReport, GradeSheet

_RESULTS = click.argument(
    "results", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)


@click.group()
def export() -> None:
    """Export grades and quizzes to Gradescope, Canvas, Moodle, LTI, nbgrader, QTI, Moodle XML."""


_ONLY = click.option(
    "--only",
    multiple=True,
    help="Only this column: a module id or 'skill-checks' (repeatable).",
)


def _sheet(results: tuple[Path, ...], only: tuple[str, ...]) -> GradeSheet:
    from autograder.export.gradesheet import blank_cells, grade_sheet
    from autograder.export.quiz_scores import load_quiz_totals
    from autograder.export.results import load_results

    sheet = grade_sheet(load_results(results), load_quiz_totals(results), only=only or None)
    blanks = blank_cells(sheet)
    if blanks:
        click.echo(
            f"note: {blanks} blank cell(s) for items a student was not graded on; an LMS may"
            " read a blank as 'no grade' and clear one entered by hand (use --only to export"
            " the graded columns alone)",
            err=True,
        )
    return sheet


def _echo_report(report: ExportReport, what: str) -> None:
    click.echo(f"wrote {report.path}: {len(report.students)} student(s)")
    if report.unmatched:
        click.echo(f"NOT written, no {what}: {', '.join(report.unmatched)}", err=True)
    if report.missing:
        click.echo(f"in the roster without results: {'; '.join(report.missing)}", err=True)


@export.command("canvas")
@_RESULTS
@_ONLY
@click.option(
    "--roster",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Canvas gradebook export (CSV) listing the students.",
)
@click.option(
    "--out", default=Path("canvas-grades.csv"), type=click.Path(path_type=Path), show_default=True
)
def canvas(results: tuple[Path, ...], only: tuple[str, ...], roster: Path, out: Path) -> None:
    """Canvas gradebook import CSV from RESULTS (result files or folders)."""
    from autograder.export.canvas import export_canvas

    _echo_report(export_canvas(sheet=_sheet(results, only), roster=roster, out=out), "roster row")


@export.command("moodle")
@_RESULTS
@_ONLY
@click.option(
    "--roster",
    type=click.Path(exists=True, path_type=Path),
    help="CSV with columns student,email (default: student ids are emails).",
)
@click.option(
    "--out", default=Path("moodle-grades.csv"), type=click.Path(path_type=Path), show_default=True
)
def moodle(
    results: tuple[Path, ...], only: tuple[str, ...], roster: Path | None, out: Path
) -> None:
    """Moodle grade import CSV (map 'email' to the user's email address when importing)."""
    from autograder.export.moodle import export_moodle

    _echo_report(
        export_moodle(sheet=_sheet(results, only), out=out, roster=roster), "email address"
    )


@export.command("lti")
@_RESULTS
@click.option("--module", help="Score one module only (e.g. 3.1).")
@click.option(
    "--users",
    type=click.Path(exists=True, path_type=Path),
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
    module: str | None,
    users: Path | None,
    out: Path,
    lineitem: str | None,
    token: str | None,
    timestamp: datetime | None,
) -> None:
    """LTI 1.3 AGS score JSON per student, written to OUT and optionally posted."""
    from autograder.export.files import read_student_map
    from autograder.export.lti import (
        post_scores,
        render_scores,
        unmapped_students,
        write_scores,
    )
    from autograder.export.results import load_results

    source = click.get_current_context().get_parameter_source("token")
    if token and not lineitem and source is click.core.ParameterSource.COMMANDLINE:
        raise ExportError("--token given without --lineitem: say where to post the scores")
    moment = timestamp.replace(tzinfo=UTC) if timestamp else datetime.now(UTC)
    user_ids = read_student_map(users, "lti_user_id") if users else None
    graded = load_results(results)
    scores = render_scores(graded, timestamp=moment, module=module, user_ids=user_ids)
    paths = write_scores(scores, out)
    click.echo(f"wrote {len(paths)} score file(s) to {out}")
    unmapped = unmapped_students(graded, user_ids) if user_ids is not None else ()
    if unmapped:
        click.echo(f"NOT written, no LTI user id: {', '.join(unmapped)}", err=True)
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
    from autograder.export.nbgrader_db import export_nbgrader
    from autograder.export.results import load_results

    written = export_nbgrader(results=load_results(results), db=db, course_id=course_id)
    students = len({s.student for s in written})
    click.echo(f"wrote {len(written)} cell score(s) of {students} student(s) to {db}")


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


@export.command("qti")
@click.option("--module", "modules", multiple=True, help="Only these modules (repeatable).")
@click.option("--seed", default=0, show_default=True, help="Instance of generated questions.")
@click.option(
    "--out", default=Path("quizzes-qti.zip"), type=click.Path(path_type=Path), show_default=True
)
def qti(modules: tuple[str, ...], seed: int, out: Path) -> None:
    """Skill checks and practice banks as a Canvas QTI 1.2 zip."""
    from autograder.export.qti import export_qti

    click.echo(f"wrote {export_qti(out=out, modules=modules, seed=seed)}")


@export.command("moodle-xml")
@click.option("--module", "modules", multiple=True, help="Only these modules (repeatable).")
@click.option("--seed", default=0, show_default=True, help="Instance of generated questions.")
@click.option(
    "--out", default=Path("quizzes-moodle.xml"), type=click.Path(path_type=Path), show_default=True
)
def moodle_xml(modules: tuple[str, ...], seed: int, out: Path) -> None:
    """Skill checks and practice banks as Moodle XML (question bank import)."""
    from autograder.export.moodle_xml import export_moodle_xml

    click.echo(f"wrote {export_moodle_xml(out=out, modules=modules, seed=seed)}")
