"""The `alr` command line: a thin click layer over the Python API.

Each package contributes its commands in its own `cli` module; this group only assembles them and
turns `AlrError` into a one-line message with exit code 1.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Any

import click

from course.errors import AlrError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AlrError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(version("adaptive-lr-course"), prog_name="alr")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Adaptive learning-rate optimizers: build, grade, quiz, queue and export."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    """Add every package's commands (imported here so `alr --help` lists them all)."""
    # Each entry: (module, attribute). Packages add their own line.
    from importlib import import_module

    for module, attr in _COMMANDS:
        main.add_command(getattr(import_module(module), attr))


_COMMANDS: list[tuple[str, str]] = [
    ("autograder.cli", "grade"),
    ("course.commands", "validate"),
    ("course.commands", "build"),
    ("autograder.export.cli", "export"),
    ("autograder.class_report", "report"),
    ("quizzes.cli", "quiz"),
    ("quizzes.cli", "queue"),
    ("course.demo", "demo"),
]

_register()
