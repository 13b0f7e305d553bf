"""`alr demo [--out DIR]`: the whole job on bundled sample data, in the commands an instructor runs.

Steps (each prints the `alr` command it runs, so the demo doubles as a script to copy):
1. build the course (student notebooks, nbgrader source, solutions) into DIR/course;
2. write the sample class's submissions into DIR/submissions (see cli.demo_class);
3. grade them into DIR/results (the course secret of DIR/course: the demo's own, bundled, so
   every run gives the same scores; a short time limit);
4. save the class's skill-check answers in a local store, sync and score them;
5. write the practice queues;
6. export grades (Canvas, Moodle, LTI, nbgrader gradebook, Gradescope autograder);
7. write the class report DIR/report.html;
then print where everything is. Running it again on the same DIR reuses unchanged grades.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click

from alr.errors import AlrError
from alr.results import read_results, shown
from cli.demo_class import DATA, SampleStudent, read_class, sample_answers, write_submission
from course.secret import SECRET_FILE

MARKER = ".alr-demo"
TIMEOUT_S = 10.0
QUIZ_MODULES = ("3.1", "3.2", "4.1", "4.3")
ANSWERS_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LTI_TIMESTAMP = "2026-03-09T12:00:00"

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoOutput:
    """Where the demo put everything (all under `out`)."""

    out: Path
    course: Path
    submissions: Path
    results: Path
    answers: Path
    exports: Path
    report: Path


def paths(out: Path) -> DemoOutput:
    return DemoOutput(
        out=out,
        course=out / "course",
        submissions=out / "submissions",
        results=out / "results",
        answers=out / "alr-answers",
        exports=out / "exports",
        report=out / "report.html",
    )


def _show(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def alr(args: Sequence[str | Path], echo: Echo, *, glob: Path | None = None) -> None:
    """Run one `alr` command in this process, echoing it first; a failure stops the demo.

    With `glob`, the echo shows the files of that folder among `args` as `folder/*`.
    """
    from cli import main

    words = [_show(a) if isinstance(a, Path) else a for a in args]
    shown = [
        shlex.quote(_show(a) if isinstance(a, Path) else a)
        for a in args
        if not (isinstance(a, Path) and glob and a.parent == glob)
    ]
    if glob:
        shown.insert(1, shlex.quote(_show(glob)) + "/*")
    echo("  $ alr " + " ".join(shown))
    try:
        with warnings.catch_warnings():  # nbgrader's own SQLAlchemy noise when adding scores
            warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in")
            main.main(list(words), prog_name="alr", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise AlrError(f"the demo stopped: `alr {words[0]}` failed (see above)") from None


def prepare(out: Path) -> DemoOutput:
    """Claim `out` for the demo: a new or empty folder, or one an earlier demo wrote."""
    if out.exists() and not out.is_dir():
        raise AlrError(f"{out}: exists and is not a folder; pass another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise AlrError(
            f"{out}: folder is not empty and was not written by `alr demo`; pass another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by alr demo; safe to delete\n")
    p = paths(out)
    rosters = out / "rosters"
    rosters.mkdir(exist_ok=True)
    for name in ("class.csv", "canvas-roster.csv"):
        shutil.copyfile(DATA / name, rosters / name)
    secret = p.course / SECRET_FILE
    if not secret.exists():  # the build keeps it: the demo's inputs are always the same
        secret.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / "course-secret.txt", secret)
    return p


def write_class(p: DemoOutput, students: Sequence[SampleStudent], echo: Echo) -> list[Path]:
    files = []
    for s in students:
        path = write_submission(s, p.submissions, p.course / "exercises")
        what = s.kind.value + (f" {s.detail}" if s.detail else "")
        echo(f"    {path.name:<14} {what}")
        files.append(path)
    return files


def write_answers(p: DemoOutput, students: Sequence[SampleStudent]) -> int:
    """Save each student's skill-check answers in the local store, as the notebook cell does."""
    from quizzes.bank import load_quizzes
    from quizzes.store import append_answers

    catalog = load_quizzes()
    count = 0
    for s in students:
        records = sample_answers(s, catalog, QUIZ_MODULES, ANSWERS_START)
        if records and not (p.answers / f"{s.student}.jsonl").exists():
            append_answers(p.answers, records)
        count += bool(records)
    return count


def class_table(results: Path, students: Sequence[SampleStudent]) -> list[str]:
    """One line per student: the modules graded, the total, and what the grader found."""
    matrix = read_results(results)
    lines = []
    for s in students:
        graded = matrix.of(s.student)
        errors = [r for r in matrix.unscoped if r.student == s.student]
        if not graded and not errors:
            lines.append(f"    {s.student:<8} (no result)")
            continue
        named = sorted({d for r in graded for d in r.diagnoses})
        failed = [t.output for r in graded for t in r.tests if not t.passed]
        error = next((r.error for r in (*errors, *graded) if r.error), None)
        found = error or ", ".join(named) or (failed or [""])[0]
        score = sum(r.score for r in graded)
        total = f"{shown(score)}/{shown(sum(r.max_score for r in graded))}"
        modules = f"{len(graded)} module(s)" if graded else "no module"
        lines.append(f"    {s.student:<8} {total:>9} {modules:<12} {s.kind.value:<8} {found[:60]}")
    return lines


def run_demo(*, out: Path, workers: int | None = None, echo: Echo = click.echo) -> DemoOutput:
    """Run every step on the sample class into `out`; see the module docstring."""
    started = time.monotonic()
    p = prepare(out)
    students = read_class()

    def step(n: int, title: str) -> None:
        echo(f"\n[{n}/7] {title}  ({time.monotonic() - started:.0f} s)")

    step(1, "build the course")
    alr(["build", "--out", p.course], echo)
    step(2, f"write the sample class: {len(students)} submissions")
    files = write_class(p, students, echo)
    step(3, "grade the submissions in the sandbox")
    secret = p.course / SECRET_FILE
    grade: list[str | Path] = ["grade", *files, "--out", p.results, "--secret", secret]
    grade += ["--timeout", str(TIMEOUT_S)]
    alr(grade + (["--workers", str(workers)] if workers else []), echo, glob=p.submissions)
    for line in class_table(p.results, students):
        echo(line)
    step(4, "skill checks: save answers locally, sync, score")
    n = write_answers(p, students)
    echo(f"    {n} students answered the skill checks of modules {', '.join(QUIZ_MODULES)}")
    alr(["quiz", "sync", p.results, "--store", p.answers], echo)
    alr(["quiz", "score", p.results / "answers", "--out", p.results], echo)
    step(5, "practice queues")
    alr(["queue", p.results], echo)
    step(6, "export grades")
    export_all(p, echo)
    step(7, "class report")
    alr(["report", p.results, "--out", p.out], echo)
    echo(f"\nDone in {time.monotonic() - started:.0f} s.")
    for line in where(p):
        echo(line)
    return p


def export_all(p: DemoOutput, echo: Echo) -> None:
    x, rosters = p.exports, p.out / "rosters"
    x.mkdir(parents=True, exist_ok=True)
    canvas: list[str | Path] = ["export", "canvas", p.results, "--out", x / "canvas-grades.csv"]
    alr([*canvas, "--roster", rosters / "canvas-roster.csv"], echo)
    moodle: list[str | Path] = ["export", "moodle", p.results, "--out", x / "moodle-grades.csv"]
    alr([*moodle, "--roster", rosters / "class.csv"], echo)
    alr(["export", "lti", p.results, "--out", x / "lti-scores", "--timestamp", LTI_TIMESTAMP], echo)
    db = nbgrader_gradebook(p.course / "build" / "nbgrader", echo)
    alr(["export", "nbgrader", p.results, "--db", db, "--course", "adaptive-lr"], echo)
    secret = p.course / SECRET_FILE
    zipped = x / "gradescope-autograder.zip"
    alr(["export", "gradescope", "--out", zipped, "--secret", secret], echo)


def nbgrader_gradebook(course_dir: Path, echo: Echo) -> Path:
    """Release every assignment with nbgrader, which creates the course's gradebook.db."""
    db = course_dir / "gradebook.db"
    echo(f"  $ (cd {shlex.quote(_show(course_dir))} && nbgrader generate_assignment '*')")
    if db.exists():
        echo("    (already released: gradebook.db exists)")
        return db
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--log-level=ERROR"],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not db.exists():
        raise AlrError(
            f"nbgrader generate_assignment failed in {course_dir}:\n{proc.stderr[-2000:]}"
        )
    return db


def where(p: DemoOutput) -> list[str]:
    """The closing map of what was written."""
    r = p.results
    rows = [
        ("class report (open in a browser)", p.report),
        ("student notebooks to hand out", p.course / "exercises"),
        ("nbgrader course source", p.course / "build" / "nbgrader"),
        ("sample submissions", p.submissions),
        ("graded results, per student and module", r / "<student>" / "<module>.json"),
        ("feedback pages, where a case failed", r / "<student>" / "<module>.html"),
        ("grade summary", r / "summary.csv"),
        ("skill-check scores", r / "quizzes"),
        ("practice queues", r / "queues"),
        ("Canvas / Moodle import CSVs", p.exports),
        ("LTI scores", p.exports / "lti-scores"),
        ("nbgrader gradebook", p.course / "build" / "nbgrader" / "gradebook.db"),
        ("Gradescope autograder", p.exports / "gradescope-autograder.zip"),
    ]
    width = max(len(k) for k, _ in rows)
    return ["Where everything is:"] + [f"  {k:<{width}}  {_show(v)}" for k, v in rows]


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("alr-demo"),
    show_default=True,
    help="Folder for everything the demo writes (new, empty, or an earlier demo's).",
)
@click.option("--workers", type=click.IntRange(min=1), help="Parallel sandboxes [CPU count].")
def demo(out: Path, workers: int | None) -> None:
    """Build, grade, quiz, queue, export and report on a bundled sample class."""
    run_demo(out=out, workers=workers or os.cpu_count())
