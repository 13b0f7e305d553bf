"""`alr grade`: a thin click layer over `autograder.grade.grade_batch`."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from autograder import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from autograder.grade import BatchSummary, GradeOutcome


@click.command("grade")
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results: OUT/<student>/<module>.json and summary.csv.",
)
@click.option(
    "--module",
    help="The module of submissions that do not name their own (a notebook without metadata, "
    "a .py file), e.g. 3.1.",
)
@click.option(
    "--student-from",
    "student_from",
    help="Where the student comes from: nbgrader, canvas, moodle, filename, or a regular "
    "expression with (?P<student>...) [detected].",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="auto: CPU, and CUDA too when present.",
)
@click.option("--workers", type=click.IntRange(min=1), help="Parallel sandboxes [CPU count].")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Wall-clock seconds per submission, across all its functions.",
)
@click.option(
    "--secret",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The course secret the inputs come from "
    "[$ALR_COURSE_SECRET, else build/course-secret.txt].",
)
@click.option("--seed", type=int, help="Take the inputs from this seed instead of the secret.")
@click.option("--redo", is_flag=True, help="Grade again submissions already graded unchanged.")
@click.option(
    "--min-sandbox",
    default="L0",
    show_default=True,
    help="Refuse to grade below this isolation level (L0, L1, L2, L2+seccomp).",
)
def grade(
    submissions: tuple[Path, ...],
    out: Path,
    module: str | None,
    student_from: str | None,
    device: str,
    workers: int | None,
    timeout: float,
    secret: Path | None,
    seed: int | None,
    redo: bool,
    min_sandbox: str,
) -> None:
    """Grade .ipynb / .py submissions (files or folders): one result per student and module."""
    from autograder.grade import grade_batch  # imports torch: only when grading
    from autograder.submissions import collect
    from course.secret import grading_inputs

    collected = collect(submissions, student_from)
    click.echo(f"students from {collected.rule}: {len(collected.entries)} submission(s)")
    if collected.skipped:
        names = ", ".join(str(p) for p in collected.skipped[:8])
        more = f" and {len(collected.skipped) - 8} more" if len(collected.skipped) > 8 else ""
        click.echo(
            f"skipped {len(collected.skipped)} file(s) that are not submissions: {names}{more}"
        )
    inputs, created = grading_inputs(seed=seed, secret=secret)
    if created:
        click.echo(
            f"created the course secret {inputs.source}: keep it, the inputs (and so the scores) "
            "come from it"
        )
    with click.progressbar(
        length=len(collected.entries), label="grading", file=sys.stderr, show_pos=True
    ) as bar:

        def tick(outcome: GradeOutcome) -> None:
            bar.update(1)

        summary = grade_batch(
            submissions,
            out=out,
            device=device,
            workers=workers,
            timeout=timeout,
            module=module,
            redo=redo,
            min_sandbox=min_sandbox,
            collected=collected,
            inputs=inputs,
            progress=tick,
        )
    _report(summary)
    # Everything is written. The interpreter's last collections need not walk every object of
    # torch's (about a fifth of a second, a fifth of one `import torch`): freeze them.
    gc.freeze()
    if summary.interrupted:
        saved = sum(len(o.results) for o in summary.outcomes)
        click.echo(
            f"interrupted: {saved} result(s) are saved in {summary.out}; run the same command "
            "again to continue",
            err=True,
        )
        sys.exit(130)


def _report(summary: BatchSummary) -> None:
    """The students x modules table, then the counts."""
    from alr.results import shown
    from autograder.grade import Status

    cells = summary.matrix
    modules = sorted({m for per in cells.values() for m in per})
    errors = {o.student: o for o in summary.outcomes if o.status is Status.ERROR}
    if cells or errors:
        width = max([len("student"), *(len(s) for s in {o.student for o in summary.outcomes})])
        click.echo("  ".join(["student".ljust(width), *(m.rjust(8) for m in modules)]))
        for student in sorted({o.student for o in summary.outcomes}):
            row = [student.ljust(width)]
            for m in modules:
                r = cells.get(student, {}).get(m)
                row.append(
                    ("-" if r is None else f"{shown(r.score)}/{shown(r.max_score)}").rjust(8)
                )
            line = "  ".join(row)
            if student in errors and not cells.get(student):
                line += "  (could not be graded: see its result)"
            click.echo(line)
    click.echo(
        f"graded {summary.count(Status.GRADED)}, unreadable {summary.count(Status.ERROR)}, "
        f"unchanged {summary.count(Status.UNCHANGED)}, "
        f"superseded {summary.count(Status.SUPERSEDED)}, "
        f"skipped files {len(summary.skipped)}, blank cells {summary.blanks} "
        f"(inputs from {summary.inputs}, devices {','.join(summary.devices)}, sandbox "
        f"{summary.sandbox}); summary: {summary.summary_csv}"
    )
