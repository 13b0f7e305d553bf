"""Reading a results folder for the class report, strictly.

A results folder is what `alr grade --out DIR` (and the quiz and queue commands) write:

    DIR/<student>.json            one graded submission (Gradescope results.json + extra_data)
    DIR/feedback/<student>.html   the student's feedback page (linked from the report if present)
    DIR/quizzes/<student>.json    skill-check scores (optional)
    DIR/queues/<student>.json     practice queues (optional)

Only the fields the report shows are required; a file that lacks one, or holds the wrong type,
stops the report with a `ReportError` naming the file, the field and what was expected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alr.errors import AlrError

MAX_FILE_BYTES = 32 * 1024 * 1024


class ReportError(AlrError):
    """The results folder cannot be read into a class report (the message says where and why)."""


@dataclass(frozen=True)
class TestOutcome:
    """One graded test of one submission."""

    name: str
    module: str
    function: str
    score: float
    max_score: float
    diagnosis: str | None
    output: str

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


@dataclass(frozen=True)
class StudentResult:
    """One student's graded submission, with the grading run's audit fields."""

    student: str
    path: Path
    score: float
    max_score: float
    output: str
    grader_version: str
    sandbox: str
    devices: tuple[str, ...]
    tests: tuple[TestOutcome, ...]

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def fail(path: Path, where: str, problem: str) -> ReportError:
    """A ReportError in the project's `file: key path: problem` form."""
    return ReportError(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


def read_json(path: Path) -> Any:
    """Parse one JSON file, refusing huge or malformed files with a clear message."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(path, "", f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise fail(path, "", f"not UTF-8 text ({exc.reason}); is this a result file?") from None
    except json.JSONDecodeError as exc:
        raise fail(path, f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None
    except OSError as exc:
        raise fail(path, "", f"cannot be read: {exc.strerror}") from None


def get_object(path: Path, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise fail(path, where, f"expected an object, got {type(value).__name__}")
    return value


def get_list(path: Path, where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise fail(path, where, f"expected a list, got {type(value).__name__}")
    return value


def get_number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise fail(path, where, f"expected a finite number, got {value!r:.60}")
    return float(value)


def get_text(path: Path, where: str, value: Any, *, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise fail(path, where, f"expected a string, got {type(value).__name__}")
    return value


def _test(path: Path, where: str, raw: Any) -> TestOutcome:
    test = get_object(path, where, raw)
    extra = get_object(path, f"{where}.extra_data", test.get("extra_data"))
    diagnosis = extra.get("diagnosis")
    return TestOutcome(
        name=get_text(path, f"{where}.name", test.get("name"), default=""),
        module=get_text(path, f"{where}.extra_data.module", extra.get("module")),
        function=get_text(path, f"{where}.extra_data.function", extra.get("function")),
        score=get_number(path, f"{where}.score", test.get("score")),
        max_score=get_number(path, f"{where}.max_score", test.get("max_score")),
        diagnosis=None
        if diagnosis is None
        else get_text(path, f"{where}.extra_data.diagnosis", diagnosis),
        output=get_text(path, f"{where}.output", test.get("output"), default=""),
    )


def read_result(path: Path) -> StudentResult:
    """One result file (`DIR/<student>.json`) into a StudentResult."""
    data = get_object(path, "", read_json(path))
    extra = get_object(path, "extra_data", data.get("extra_data", {}))
    tests = tuple(
        _test(path, f"tests[{i}]", t)
        for i, t in enumerate(get_list(path, "tests", data.get("tests")))
    )
    devices = get_list(path, "extra_data.devices", extra.get("devices", []))
    max_score = data.get("max_score")
    return StudentResult(
        student=get_text(path, "extra_data.student", extra.get("student", path.stem)),
        path=path,
        score=get_number(path, "score", data.get("score")),
        max_score=sum(t.max_score for t in tests)
        if max_score is None
        else get_number(path, "max_score", max_score),
        output=get_text(path, "output", data.get("output"), default=""),
        grader_version=get_text(
            path, "extra_data.grader_version", extra.get("grader_version"), default="unknown"
        ),
        sandbox=get_text(path, "extra_data.sandbox", extra.get("sandbox"), default="unknown"),
        devices=tuple(get_text(path, f"extra_data.devices[{i}]", d) for i, d in enumerate(devices)),
        tests=tests,
    )


def read_results(results_dir: Path) -> tuple[StudentResult, ...]:
    """Every `*.json` directly in `results_dir` (not hidden ones), sorted by student id."""
    if not results_dir.is_dir():
        raise ReportError(
            f"{results_dir}: not a folder; pass the --out folder of `alr grade` (it holds "
            "one <student>.json per submission)"
        )
    files = sorted(p for p in results_dir.glob("*.json") if not p.name.startswith("."))
    results = [read_result(p) for p in files]
    if not results:
        raise ReportError(
            f"{results_dir}: no result files (<student>.json); run `alr grade SUBMISSION... "
            f"--out {results_dir}` first"
        )
    seen: dict[str, Path] = {}
    for r in results:
        if r.student in seen:
            raise fail(
                r.path,
                "extra_data.student",
                f"student {r.student!r} also graded in {seen[r.student].name}; keep one "
                "result file per student",
            )
        seen[r.student] = r.path
    return tuple(sorted(results, key=lambda r: r.student))
