"""The demo's sample class: submissions and skill-check answers, built from bundled data.

`cli/demo_data/class.csv` lists the students; each `submission` is one of
- `correct`: the bundled correct full-course submission (`correct.py.txt`);
- `mistake/<id>`: that submission with one function replaced by `mistakes/<id>.py.txt`, a
  known misconception the grader should name;
- `hostile/<name>`: likewise with `hostile/<name>.py.txt` (score forgery, file snooping, an
  endless loop: the sandbox must contain them);
- `broken/<file>`: a file submitted as it is (a syntax error, an empty notebook);
- `notebook/<module>`: the built student notebook of that module with its solution cells filled
  in from the correct submission (a student who hands in a notebook).
Sample files end in `.txt` so they ship as package data and are never imported or linted.
"""

from __future__ import annotations

import ast
import csv
import io
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quizzes.model import QuizCatalog
    from quizzes.store import AnswerRecord

DATA = Path(__file__).parent / "demo_data"


class SubmissionKind(StrEnum):
    CORRECT = "correct"
    MISTAKE = "mistake"
    HOSTILE = "hostile"
    BROKEN = "broken"
    NOTEBOOK = "notebook"


@dataclass(frozen=True)
class SampleStudent:
    """One row of class.csv. `quiz_accuracy` is None for a student who takes no skill check."""

    student: str
    name: str
    email: str
    kind: SubmissionKind
    detail: str  # misconception id, hostile sample, broken file or module id
    quiz_accuracy: float | None


def read_class(path: Path = DATA / "class.csv") -> tuple[SampleStudent, ...]:
    """The sample class, in file order."""
    students = []
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        kind, _, detail = row["submission"].partition("/")
        accuracy = row["quiz_accuracy"].strip()
        students.append(
            SampleStudent(
                row["student"],
                row["name"],
                row["email"],
                SubmissionKind(kind),
                detail,
                float(accuracy) if accuracy else None,
            )
        )
    return tuple(students)


def replace_functions(source: str, snippet: str) -> str:
    """`source` with each top-level function that `snippet` defines replaced by the snippet.

    The whole snippet (its comments, imports and any other statements) takes the place of the
    first replaced function; the other replaced functions are removed.
    """
    names = {n.name for n in ast.parse(snippet).body if isinstance(n, ast.FunctionDef)}
    lines = source.splitlines(keepends=True)
    spans = [
        (n.lineno - 1 - len(n.decorator_list), n.end_lineno or n.lineno)
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef) and n.name in names
    ]
    if len(spans) != len(names):
        raise ValueError(f"the correct submission lacks some of {sorted(names)}")
    for i, (start, end) in enumerate(sorted(spans, reverse=True)):
        lines[start:end] = [snippet.rstrip("\n") + "\n"] if i == len(spans) - 1 else []
    return "".join(lines)


def function_sources(source: str) -> dict[str, str]:
    """Top-level function name -> its source text."""
    lines = source.splitlines(keepends=True)
    return {
        n.name: "".join(lines[n.lineno - 1 : n.end_lineno])
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef)
    }


def with_helpers(name: str, functions: dict[str, str], done: set[str]) -> str:
    """fn's source preceded by the private helpers (`_name`) it needs and `done` lacks."""
    parts: list[str] = []
    for node in ast.walk(ast.parse(functions[name])):
        helper = node.id if isinstance(node, ast.Name) else ""
        if helper.startswith("_") and helper in functions and helper not in done:
            done.add(helper)
            parts.append(with_helpers(helper, functions, done))
    return "\n\n".join([*parts, functions[name]])


def fill_notebook(notebook: Path, source: str, out: Path) -> Path:
    """Write `notebook` with every `solution_<fn>` cell replaced by fn's code from `source`
    (with the private helpers it calls)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    functions = function_sources(source)
    done: set[str] = set()
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        name = grade_id.removeprefix("solution_")
        if grade_id.startswith("solution_") and name in functions:
            cell.source = with_helpers(name, functions, done)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def write_submission(student: SampleStudent, out_dir: Path, exercises_dir: Path) -> Path:
    """Write one student's submission into out_dir (named after the student) and return it."""
    correct = (DATA / "correct.py.txt").read_text(encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    if student.kind is SubmissionKind.NOTEBOOK:
        slug = "module-" + student.detail.replace(".", "-")
        return fill_notebook(
            exercises_dir / f"{slug}.ipynb", correct, out_dir / f"{student.student}.ipynb"
        )
    if student.kind is SubmissionKind.BROKEN:
        src = DATA / "broken" / student.detail
        suffix = ".ipynb" if student.detail.endswith(".ipynb") else ".py"  # *.py.txt: .py
        target = out_dir / f"{student.student}{suffix}"
        target.write_bytes(src.read_bytes())
        return target
    text = correct
    if student.kind in (SubmissionKind.MISTAKE, SubmissionKind.HOSTILE):
        folder = "mistakes" if student.kind is SubmissionKind.MISTAKE else "hostile"
        snippet = DATA / folder / f"{student.detail}.py.txt"
        text = replace_functions(correct, snippet.read_text(encoding="utf-8"))
    target = out_dir / f"{student.student}.py"
    target.write_text(text, encoding="utf-8")
    return target


def sample_answers(
    student: SampleStudent, catalog: QuizCatalog, modules: tuple[str, ...], start: datetime
) -> list[AnswerRecord]:
    """The student's skill-check answers (AnswerRecord) for `modules`, as a notebook saves them.

    Each answer is right with probability `quiz_accuracy`, else a distractor; drawn with
    `random.Random(student id)`, so the same class always answers the same way.
    """
    from quizzes.store import AnswerRecord, format_time

    if student.quiz_accuracy is None:
        return []
    rng = random.Random(student.student)
    records: list[AnswerRecord] = []
    when = start
    for module in modules:
        for q in catalog.module(module).skill_check:
            wrong = [o.id for o in q.options if not o.correct]
            right = rng.random() < student.quiz_accuracy or not wrong
            response = q.correct_ids[0] if right else rng.choice(wrong)
            when += timedelta(minutes=rng.randint(1, 4))
            records.append(
                AnswerRecord(
                    event_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                    student=student.student,
                    module=module,
                    question=q.id,
                    response=response,
                    answered_at=format_time(when),
                    source="notebook",
                )
            )
    return records
