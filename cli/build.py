"""`alr validate` and `alr build`: thin click wrappers over course.load and course.notebooks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

_modules_option = click.option(
    "--modules",
    "modules_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of module YAML files (default: the packaged course/modules/).",
)


@click.command("validate")
@_modules_option
def validate(modules_dir: Path | None) -> None:
    """Validate the course and quiz YAML; print every problem with file, key path and reason."""
    from course.load import validate_course  # imports torch (via solutions): only here
    from quizzes.bank import validate_quizzes

    errors = [*validate_course(modules_dir), *validate_quizzes()]
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        click.echo(f"{len(errors)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("course: all modules and quizzes valid.")


@click.command("build")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Root to write into: exercises/ (student notebooks), build/nbgrader/, build/solutions/.",
)
@_modules_option
def build(out: Path, modules_dir: Path | None) -> None:
    """Validate the YAML and generate every notebook (student, nbgrader source, solution)."""
    from course.notebooks import build_course
    from course.secret import SECRET_FILE, ensure_secret
    from quizzes.notebook import skill_check_cells

    written = build_course(out=out, modules_dir=modules_dir, appendix=skill_check_cells)
    for kind, paths in written.items():
        where = os.path.commonpath([str(p.parent) for p in paths]) if paths else str(out)
        click.echo(f"{kind}: {len(paths)} notebook(s) under {where}")
    inputs, created = ensure_secret(out / SECRET_FILE)
    state = "created" if created else "kept"
    click.echo(
        f"course secret: {inputs.source} ({state}; the grader's inputs come from it: keep it, "
        "never hand it out)"
    )
