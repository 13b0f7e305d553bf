"""The `alr` command line, the top layer: a thin click view of the Python API.

One module per verb (`grade`, `build` with `validate`, `export`, `report`, `quiz` with `queue`,
`demo`); each command is a few lines around one keyword-only API function, importing that API
when it runs so that `alr --help` starts without torch. This group assembles them and turns
`AlrError` into a one-line message with exit code 1 (a traceback with --debug).
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Any

import click

from alr.errors import AlrError

# nbformat imports jsonschema, whose optional `rfc3987_syntax` compiles 38 lark grammars on import
# (about 0.9 s here, a fifth of `alr build`) to check the "iri" string format, which neither the
# notebook schema nor anything else `alr` validates uses. Marking it absent makes jsonschema skip
# that one format checker (its documented behaviour when the package is not installed).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


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


from cli import build, demo, export, grade, quiz, report  # noqa: E402 - after `main`

for _command in (
    grade.grade,
    build.validate,
    build.build,
    export.export,
    report.report,
    quiz.quiz,
    quiz.queue,
    demo.demo,
):
    main.add_command(_command)
