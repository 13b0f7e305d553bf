"""Reading graded result files (`DIR/<student>.json`) into typed records, strictly.

A result file is a Gradescope `results.json` with the project's fields in `extra_data`: top-level
`score`, `max_score`, `extra_data.student`, and `tests[]`, each with `name`, `score`, `max_score`,
`status` ("passed" exactly when score == max_score) and `extra_data{module, function, diagnosis}`.

A module's grade is the sum over the tests of that module:

    score(module) = sum(test.score), max(module) = sum(test.max_score)   over tests with
    extra_data.module == module.

A result file only grades the modules its tests name; other modules are "not graded", not zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alr.contract import FUNCTION_MODULE, MODULE_IDS
from alr.errors import ExportError

MAX_RESULT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class TestRecord:
    """One graded test of a result file."""

    name: str
    score: float
    max_score: float
    passed: bool
    module: str
    function: str
    diagnosis: str | None
    output: str


@dataclass(frozen=True)
class ResultFile:
    """One student's graded submission."""

    path: Path
    student: str
    score: float
    max_score: float
    tests: tuple[TestRecord, ...]

    def modules(self) -> tuple[str, ...]:
        """The modules this result grades, in course order."""
        present = {t.module for t in self.tests}
        return tuple(m for m in MODULE_IDS if m in present)


def _fail(path: Path, where: str, problem: str) -> ExportError:
    return ExportError(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


def check_number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, where, f"expected a number, got {value!r:.60}")
    if not math.isfinite(value) or value < 0:
        raise _fail(path, where, f"expected a finite number >= 0, got {value!r}")
    return float(value)


def _text(path: Path, where: str, value: Any, *, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise _fail(path, where, f"expected a string, got {type(value).__name__}")
    return value


def _object(path: Path, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, where, f"expected an object, got {type(value).__name__}")
    return value


def _test(path: Path, index: int, raw: Any) -> TestRecord:
    where = f"tests[{index}]"
    obj = _object(path, where, raw)
    extra = _object(path, f"{where}.extra_data", obj.get("extra_data"))
    score = check_number(path, f"{where}.score", obj.get("score"))
    max_score = check_number(path, f"{where}.max_score", obj.get("max_score"))
    status = obj.get("status")
    if status not in ("passed", "failed"):
        raise _fail(path, f"{where}.status", f"expected 'passed' or 'failed', got {status!r:.40}")
    module = extra.get("module")
    if module not in MODULE_IDS:
        raise _fail(
            path,
            f"{where}.extra_data.module",
            f"expected one of {', '.join(MODULE_IDS)}, got {module!r:.40}",
        )
    function = _text(path, f"{where}.extra_data.function", extra.get("function"))
    if FUNCTION_MODULE.get(function) != module:
        raise _fail(
            path,
            f"{where}.extra_data.function",
            f"{function!r:.60} is not a graded function of module {module}",
        )
    diagnosis = _text(path, f"{where}.extra_data.diagnosis", extra.get("diagnosis"), optional=True)
    return TestRecord(
        name=_text(path, f"{where}.name", obj.get("name")),
        score=score,
        max_score=max_score,
        passed=status == "passed",
        module=module,
        function=function,
        diagnosis=diagnosis or None,
        output=_text(path, f"{where}.output", obj.get("output"), optional=True),
    )


def parse_result(path: Path, data: Any) -> ResultFile:
    """Validate a decoded result document; `path` names it in errors and gives the student id."""
    obj = _object(path, "", data)
    extra = _object(path, "extra_data", obj.get("extra_data"))
    student = _text(path, "extra_data.student", extra.get("student"))
    if student != path.stem:
        raise _fail(
            path,
            "extra_data.student",
            f"{student!r:.60} does not match the file name"
            f" {path.name!r}; result files are named <student>.json, rename or regrade",
        )
    tests = obj.get("tests")
    if not isinstance(tests, list):
        raise _fail(path, "tests", f"expected a list, got {type(tests).__name__}")
    return ResultFile(
        path=path,
        student=student,
        score=check_number(path, "score", obj.get("score")),
        max_score=check_number(path, "max_score", obj.get("max_score")),
        tests=tuple(_test(path, i, t) for i, t in enumerate(tests)),
    )


def load_result(path: Path) -> ResultFile:
    """Read and validate one result file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            raise _fail(path, "", f"larger than {MAX_RESULT_BYTES} bytes; not a result file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, "", f"cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, "", f"not valid JSON ({exc}); regrade or remove the file") from exc
    return parse_result(path, data)


def result_paths(inputs: Sequence[Path]) -> list[Path]:
    """The result files named by `inputs`: files as given, folders' top-level `*.json` files."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            paths.extend(sorted(p for p in item.glob("*.json") if not p.name.startswith(".")))
        elif item.is_file():
            paths.append(item)
        else:
            raise ExportError(f"{item}: no such results file or folder; run 'alr grade' first")
    if not paths:
        shown = ", ".join(str(p) for p in inputs)
        raise ExportError(f"{shown}: no result files (*.json) found; run 'alr grade ... --out DIR'")
    return paths


def load_results(inputs: Sequence[Path]) -> tuple[ResultFile, ...]:
    """Every result file under `inputs`, validated; one student may appear in several folders."""
    return tuple(load_result(p) for p in result_paths(inputs))


def total(values: Iterable[float]) -> float:
    """A sum of test scores, to 4 decimal places.

    Result files round each test's score to 6 places, so a module of up to ~100 tests sums to
    within 5e-5 of its true total (2.0 may arrive as 1.999998); 4 places give back the total.
    """
    return round(math.fsum(values), 4) + 0.0


@dataclass(frozen=True)
class ModuleGrade:
    """A student's grade for one module, with the tests it came from."""

    module: str
    score: float
    max_score: float
    tests: tuple[TestRecord, ...]
    source: Path


def module_grades(results: Iterable[ResultFile]) -> dict[str, dict[str, ModuleGrade]]:
    """student -> module -> grade, merged across result files.

    The same (student, module) graded in two files is refused: which one counts is the
    instructor's decision, not the exporter's.
    """
    grades: dict[str, dict[str, ModuleGrade]] = {}
    for result in results:
        per_student = grades.setdefault(result.student, {})
        for module in result.modules():
            tests = tuple(t for t in result.tests if t.module == module)
            if module in per_student:
                other = per_student[module].source
                raise ExportError(
                    f"{result.path}: module {module} of student {result.student!r} is also graded"
                    f" in {other}; export one of them (pass files instead of folders)"
                )
            per_student[module] = ModuleGrade(
                module=module,
                score=total(t.score for t in tests),
                max_score=total(t.max_score for t in tests),
                tests=tests,
                source=result.path,
            )
    return grades
