"""`alr grade`: a thin click layer over `autograder.grade.grade_batch`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from autograder import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from autograder.grade import GradeOutcome


@click.command("grade")
@click.argument(
    "submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the results.",
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
    help="Wall-clock seconds per submission.",
)
@click.option("--seed", type=int, help="Input seed [the folder's previous seed, else random].")
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
    device: str,
    workers: int | None,
    timeout: float,
    seed: int | None,
    redo: bool,
    min_sandbox: str,
) -> None:
    """Grade .ipynb / .py submissions: DIR/<student>.json, DIR/feedback/, DIR/summary.csv."""
    from autograder.grade import grade_batch  # imports torch: only when grading

    with click.progressbar(length=len(submissions), label="grading", file=sys.stderr) as bar:

        def tick(outcome: GradeOutcome) -> None:
            bar.update(1)

        summary = grade_batch(
            submissions,
            out=out,
            device=device,
            workers=workers,
            timeout=timeout,
            seed=seed,
            redo=redo,
            min_sandbox=min_sandbox,
            progress=tick,
        )
    counts = {
        s: sum(o.status == s for o in summary.outcomes) for s in ("graded", "error", "skipped")
    }
    click.echo(
        f"graded {counts['graded']}, unreadable {counts['error']}, unchanged {counts['skipped']} "
        f"(seed {summary.seed}, devices {','.join(summary.devices)}, sandbox {summary.sandbox}); "
        f"summary: {summary.summary_csv}"
    )
