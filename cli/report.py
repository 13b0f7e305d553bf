"""`alr report RESULTS_DIR [--out DIR]`: a thin click view of `build_report`."""

from __future__ import annotations

from pathlib import Path

import click

from cli.export import blank_lines


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for report.html (default: RESULTS_DIR).",
)
def report(results_dir: Path, out: Path | None) -> None:
    """Write a static HTML class report for the graded results in RESULTS_DIR."""
    from autograder.class_report.build import build_report

    written = build_report(results_dir=results_dir, out=out)
    click.echo(
        f"report: {written.path} ({written.students} students, {written.attention} need "
        f"attention, {written.misconceptions} misconceptions named, "
        f"{written.quiz_questions} skill-check questions)"
    )
    if written.blanks:
        click.echo(
            f"blank, not submitted (left out, not 0): {len(written.blanks)} cell(s): "
            + blank_lines(written.blanks)
        )
    for problem in written.problems:
        click.echo(f"problem, no grade: {problem}", err=True)
