"""`alr quiz take|sync|score|validate` and `alr queue`: thin click wrappers of quizzes.api."""

from __future__ import annotations

import getpass
import os
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from alr.errors import AlrError
from quizzes import api
from quizzes.bank import load_quizzes, validate_quizzes
from quizzes.model import Question, QuestionKind
from quizzes.scoring import InvalidResponse
from quizzes.store import parse_time

_STORE = click.option(
    "--store",
    type=click.Path(path_type=Path),
    default=Path("alr-answers"),
    show_default=True,
    help="Local answer store (the notebook cell writes to alr-answers/ beside the notebook).",
)


@click.group("quiz")
def quiz() -> None:
    """Skill checks and practice banks: take, sync, score, validate."""


def _ask(question: Question, stem: str, student: str) -> tuple[Any, dict[str, str]]:
    """Ask one question with the options in this student's order; returns the response (option
    ids, or a number) and the letters the student saw, by option id."""
    click.echo(f"\n{stem}")
    shown = question.presentation(student)
    for letter, o in zip(shown.letters, shown.options, strict=True):
        click.echo(f"  {letter}. {o.text}")
    labels = {o.id: letter for letter, o in zip(shown.letters, shown.options, strict=True)}
    if question.kind is QuestionKind.MULTIPLE_ANSWER:
        raw = click.prompt("Your answer (letters, e.g. a,c)", default="", show_default=False)
        letters = sorted({x.strip().lower() for x in raw.replace(" ", ",").split(",") if x.strip()})
        return [shown.option_id(x) or x for x in letters], labels
    if question.kind is QuestionKind.SINGLE_CHOICE:
        letter = click.prompt("Your answer (one letter)").strip().lower()
        return shown.option_id(letter) or letter, labels
    raw = click.prompt("Your answer (a number)")
    try:
        return float(raw), labels
    except ValueError:
        return raw, labels


@quiz.command("take")
@click.argument("module")
@click.option("--bank", is_flag=True, help="Practice-bank questions instead of the skill check.")
@click.option("--count", type=click.IntRange(min=1), help="How many bank questions (default all).")
@click.option("--student", default=None, help="Your id as the course knows you (default: login).")
@click.option("--seed", type=int, default=None, help="Fix the question order and generated values.")
@_STORE
def take(
    module: str, bank: bool, count: int | None, student: str | None, seed: int | None, store: Path
) -> None:
    """Answer MODULE's skill check (or practice bank) here; each answer is saved as you go.

    Your first answer to each question is the one that counts; answering again is practice."""
    student = student or os.environ.get("ALR_STUDENT") or getpass.getuser()
    catalog = load_quizzes()
    rng = random.Random(seed) if seed is not None else None
    sitting = api.questions_to_take(catalog, module, bank=bank, count=count, rng=rng)
    score = total = 0.0
    for i, (question, seed) in enumerate(sitting, 1):
        stem = question.instantiate(seed).stem if seed is not None else question.stem
        while True:
            response, labels = _ask(question, f"Q{i}. {stem}", student)
            try:
                done = api.record_answer(
                    store=store,
                    student=student,
                    question=question,
                    response=response,
                    seed=seed,
                    labels=labels,
                )
                break
            except InvalidResponse:
                click.echo(f"  {response!r} is not an answer to this question; try again")
        result = done.result
        if done.practice:
            click.echo("  (practice: you answered this before, and your first answer counts)")
        else:
            score, total = score + result.score, total + result.max_score
        click.echo(("  correct: " if result.correct else "  not quite: ") + result.feedback)
    click.echo(
        f"\nscore {score:g}/{total:g} on first answers; answers saved in {store}/{student}.jsonl; "
        "send them with `alr quiz sync RESULTS_DIR`"
    )


@quiz.command("sync")
@click.argument("results_dir", required=False, type=click.Path(path_type=Path))
@_STORE
def sync(results_dir: Path | None, store: Path) -> None:
    """Send local answers to RESULTS_DIR/answers/ (default $ALR_RESULTS_DIR); safe to repeat."""
    results_dir = results_dir or (
        Path(os.environ["ALR_RESULTS_DIR"]) if os.environ.get("ALR_RESULTS_DIR") else None
    )
    if results_dir is None:
        raise AlrError(
            "where to? pass the course's results folder: alr quiz sync RESULTS_DIR "
            "(or set ALR_RESULTS_DIR)"
        )
    for rep in api.sync(store=store, results=results_dir):
        click.echo(f"{rep.student}: {rep.added} new, {rep.already} already synced")
        for p in rep.problems:
            click.echo(f"warning: {p}", err=True)


@quiz.command("score")
@click.argument("answers", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Writes OUT/quizzes/<student>.json.",
)
def score(answers: tuple[Path, ...], out: Path) -> None:
    """Score answer files (.jsonl, or folders of them)."""
    written = api.score_answers(answers=list(answers), out=out)
    for p in written.problems:
        click.echo(f"warning: {p}", err=True)
    for path in written.paths:
        click.echo(str(path))


@quiz.command("validate")
def validate() -> None:
    """Check every module's quiz file; print each problem with file, key path and reason."""
    errors = validate_quizzes()
    for e in errors:
        click.echo(str(e), err=True)
    if errors:
        raise AlrError(f"{len(errors)} problem(s) in the quiz files")
    click.echo("all ten quiz files are valid")


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}; e.g. 2026-03-02T10:00:00Z") from None


@click.command("queue")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Writes OUT/queues/ (default RESULTS_DIR)."
)
@click.option(
    "--now", callback=_parse_now, help="Reference time, ISO-8601 UTC (default: latest event)."
)
def queue(results_dir: Path, out: Path | None, now: datetime | None) -> None:
    """Write each student's practice queue from graded results and quiz scores in RESULTS_DIR."""
    written, used = api.write_queues(results=results_dir, out=out, now=now)
    for p in written.problems:
        click.echo(f"warning: {p}", err=True)
    click.echo(
        f"{len(written.paths)} queue(s) as of {used.isoformat()} in "
        f"{(out or results_dir) / 'queues'}"
    )
