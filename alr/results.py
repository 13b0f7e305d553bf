"""The result model: one graded cell of the student x module matrix, read and written here only.

A result is a valid Gradescope `results.json` with the project's fields in `extra_data`:

    {"score", "max_score", "execution_time", "output",
     "extra_data": {"student", "module" (null for a submission no module could be given),
                    "submission" (file name), "submission_sha256", "grader_version",
                    "inputs" (fingerprint of the course secret or seed), "devices", "sandbox",
                    "graded_at" (ISO-8601 UTC), "locations" (function -> "cell 12")
                    [, "user_id", "email", "late", "name", "error"]},
     "tests": [{"name", "score", "max_score", "status" ("passed" exactly when score ==
                max_score), "output", "tags": [module, function[, diagnosis]],
                "extra_data": {"module", "function", "case", "device", "dtype", "diagnosis",
                               "failure", "errors", "tolerance"}}]}

Scores keep full precision; people see them rounded to 2 decimals (`shown`). A results folder
holds the matrix:

    DIR/<student>/<module>.json      one cell (and its feedback page, <module>.html, beside it)
    DIR/<student>/unscoped-<n>.json  a submission no module could be given: an error, no points
    DIR/summary.csv, DIR/.batch.json the batch's summary and record
    DIR/quizzes/, queues/, answers/  skill-check scores, practice queues, synced answers

A module a student did not submit has no file: it is blank, never 0. Every read is checked
(`ResultError`: `file: key.path: expected …, got …`), with one size limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alr.contract import FUNCTION_MODULE, MODULE_IDS
from alr.errors import AlrError
from alr.fileio import write_atomic

MAX_RESULT_BYTES = 32 * 1024 * 1024
#: Folder names of a results folder that are not students (student ids never take them).
RESERVED = frozenset({"quizzes", "queues", "answers", "exports", "feedback", "summary.csv"})
UNSCOPED = "unscoped"


class ResultError(AlrError):
    """A result file is unreadable or malformed (the message names file, key path and fix)."""


def readable(name: str) -> str:
    """A file name as text any file can hold: bytes that are not UTF-8 (kept by the OS as
    surrogates) become U+FFFD, control characters a space."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)


def shown(value: float) -> str:
    """A score as people see it: at most 2 decimals, no trailing zeros (41.5, 3.33, 2)."""
    return f"{round(value + 0.0, 2):g}" if abs(value) < 1e15 else f"{value:g}"


@dataclass(frozen=True)
class TestRecord:
    """One graded case. `failure` names the check that failed (value, displacement, shape, ...);
    `errors` is the failed measure's relative error per step and `tolerance` its bound (plots)."""

    __test__ = False  # a record, not a test class (pytest collects names starting with Test)

    name: str
    score: float
    max_score: float
    output: str
    module: str
    function: str
    case: str = ""
    device: str = "cpu"
    dtype: str = ""
    diagnosis: str | None = None
    failure: str | None = None
    errors: tuple[float, ...] = ()
    tolerance: float | None = None

    @property
    def passed(self) -> bool:
        return self.score == self.max_score

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.passed else "failed",
            "output": self.output,
            "tags": [self.module, self.function] + ([self.diagnosis] if self.diagnosis else []),
            "extra_data": {
                "module": self.module,
                "function": self.function,
                "case": self.case,
                "device": self.device,
                "dtype": self.dtype,
                "diagnosis": self.diagnosis,
                "failure": self.failure,
                "errors": [e if math.isfinite(e) else None for e in self.errors],
                "tolerance": self.tolerance,
            },
        }


@dataclass(frozen=True)
class ModuleResult:
    """One student's graded submission of one module (or, with `module` None, a submission that
    could not be given a module: it scores nothing and its `error` says what to do)."""

    student: str
    module: str | None
    tests: tuple[TestRecord, ...]
    output: str = ""
    submission: str = ""
    sha256: str = ""
    grader_version: str = ""
    inputs: str = ""
    devices: tuple[str, ...] = ("cpu",)
    sandbox: str = ""
    graded_at: str = ""
    execution_time: float = 0.0
    error: str | None = None
    identity: Mapping[str, Any] = field(default_factory=dict)  # user_id, email, late, name
    locations: Mapping[str, str] = field(default_factory=dict)  # function -> "cell 12"

    @property
    def score(self) -> float:
        return math.fsum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return math.fsum(t.max_score for t in self.tests)

    @property
    def diagnoses(self) -> tuple[str, ...]:
        return tuple(sorted({t.diagnosis for t in self.tests if t.diagnosis}))

    def functions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.function for t in self.tests))

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "student": self.student,
            "module": self.module,
            "submission": self.submission,
            "submission_sha256": self.sha256,
            "grader_version": self.grader_version,
            "inputs": self.inputs,
            "devices": list(self.devices),
            "sandbox": self.sandbox,
            "graded_at": self.graded_at,
            "locations": dict(self.locations),
            **dict(self.identity),
        }
        if self.error is not None:
            extra["error"] = self.error
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": self.execution_time,
            "output": self.output,
            "extra_data": extra,
            "tests": [t.to_dict() for t in self.tests],
        }


# ---- reading, strictly ----

_IDENTITY = ("user_id", "email", "late", "name")


class _Doc:
    """Typed access to one decoded result document, raising ResultError in one style."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ResultError:
        place = f"{self.path}: {where}: " if where else f"{self.path}: "
        return ResultError(place + problem + "; regrade it or remove the file")

    def obj(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_kind(value)}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.fail(where, f"expected a finite number >= 0, got {value!r}")
        return float(value)

    def text(self, value: Any, where: str, *, optional: bool = False) -> str:
        if value is None and optional:
            return ""
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value[:40])
    return f"a {type(value).__name__}"


def _test(d: _Doc, raw: Any, where: str) -> TestRecord:
    obj = d.obj(raw, where)
    extra = d.obj(obj.get("extra_data"), f"{where}.extra_data")
    module, function = extra.get("module"), extra.get("function")
    if module not in MODULE_IDS:
        raise d.fail(f"{where}.extra_data.module", f"expected a module id, got {_kind(module)}")
    function = d.text(function, f"{where}.extra_data.function")
    if FUNCTION_MODULE.get(function) != module:
        raise d.fail(
            f"{where}.extra_data.function",
            f"expected a graded function of module {module}, got {_kind(function)}",
        )
    score = d.number(obj.get("score"), f"{where}.score")
    max_score = d.number(obj.get("max_score"), f"{where}.max_score")
    status = obj.get("status")
    if status != ("passed" if score == max_score else "failed"):
        raise d.fail(
            f"{where}.status", f"expected the status of score {score}, got {_kind(status)}"
        )
    errors = extra.get("errors") or []
    if not isinstance(errors, list) or len(errors) > 10_000:
        raise d.fail(
            f"{where}.extra_data.errors", f"expected a list of numbers, got {_kind(errors)}"
        )
    tolerance = extra.get("tolerance")
    return TestRecord(
        name=d.text(obj.get("name"), f"{where}.name"),
        score=score,
        max_score=max_score,
        output=d.text(obj.get("output"), f"{where}.output", optional=True),
        module=module,
        function=function,
        case=d.text(extra.get("case"), f"{where}.extra_data.case", optional=True),
        device=d.text(extra.get("device"), f"{where}.extra_data.device", optional=True),
        dtype=d.text(extra.get("dtype"), f"{where}.extra_data.dtype", optional=True),
        diagnosis=d.text(extra.get("diagnosis"), f"{where}.extra_data.diagnosis", optional=True)
        or None,
        failure=d.text(extra.get("failure"), f"{where}.extra_data.failure", optional=True) or None,
        errors=tuple(
            float(e) if isinstance(e, int | float) and not isinstance(e, bool) else math.nan
            for e in errors
        ),
        tolerance=None
        if tolerance is None
        else d.number(tolerance, f"{where}.extra_data.tolerance"),
    )


def _optional(d: _Doc, extra: Mapping[str, Any], key: str) -> str:
    return d.text(extra.get(key), f"extra_data.{key}", optional=True)


def parse_result(path: Path, data: Any) -> ModuleResult:
    """Validate a decoded result document; `path` names it in errors."""
    d = _Doc(path)
    obj = d.obj(data, "")
    extra = d.obj(obj.get("extra_data"), "extra_data")
    module = extra.get("module")
    if module is not None and module not in MODULE_IDS:
        raise d.fail("extra_data.module", f"expected a module id or null, got {_kind(module)}")
    raw_tests = obj.get("tests")
    if not isinstance(raw_tests, list):
        raise d.fail("tests", f"expected a list, got {_kind(raw_tests)}")
    tests = tuple(_test(d, t, f"tests[{i}]") for i, t in enumerate(raw_tests))
    stray = sorted({t.module for t in tests} - {module})
    if stray:
        raise d.fail("tests", f"tests of module(s) {stray} in a result of module {module!r}")
    devices = extra.get("devices", ["cpu"])
    if not isinstance(devices, list) or not all(isinstance(x, str) for x in devices):
        raise d.fail("extra_data.devices", f"expected a list of device names, got {_kind(devices)}")
    error = extra.get("error")
    return ModuleResult(
        student=d.text(extra.get("student"), "extra_data.student"),
        module=module,
        tests=tests,
        output=d.text(obj.get("output"), "output", optional=True),
        submission=_optional(d, extra, "submission"),
        sha256=d.text(
            extra.get("submission_sha256"), "extra_data.submission_sha256", optional=True
        ),
        grader_version=d.text(
            extra.get("grader_version"), "extra_data.grader_version", optional=True
        ),
        inputs=d.text(extra.get("inputs"), "extra_data.inputs", optional=True),
        devices=tuple(devices),
        sandbox=_optional(d, extra, "sandbox"),
        graded_at=_optional(d, extra, "graded_at"),
        execution_time=d.number(obj.get("execution_time", 0.0), "execution_time"),
        error=None if error is None else d.text(error, "extra_data.error"),
        identity={k: extra[k] for k in _IDENTITY if k in extra},
        locations=_locations(d, extra.get("locations", {})),
    )


def _locations(d: _Doc, value: Any) -> dict[str, str]:
    obj = d.obj(value, "extra_data.locations")
    return {
        d.text(k, "extra_data.locations"): d.text(v, f"extra_data.locations.{k}")
        for k, v in obj.items()
    }


def read_json(path: Path, *, max_bytes: int = MAX_RESULT_BYTES) -> Any:
    """One JSON file, refusing huge, non-UTF-8 or malformed files with a clear message."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ResultError(f"{path}: {size} bytes, over the {max_bytes}-byte limit")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ResultError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ResultError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ResultError(f"{path}: nested too deeply to be a result file") from None


def read_result(path: Path) -> ModuleResult:
    """Read and validate one result file."""
    return parse_result(Path(path), read_json(path))


# ---- writing ----


def result_path(root: Path, student: str, module: str | None, submission: str = "") -> Path:
    """Where a result lives: DIR/<student>/<module>.json, or unscoped-<submission>.json."""
    if module is None:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in submission)[:80]
        return Path(root) / student / f"{UNSCOPED}-{stem.lstrip('.') or 'submission'}.json"
    return Path(root) / student / f"{module}.json"


def write_result(root: Path, result: ModuleResult) -> Path:
    """Write one result atomically to its place under `root`; returns the path."""
    path = result_path(root, result.student, result.module, result.submission)
    write_atomic(path, json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n")
    return path


# ---- the matrix ----


@dataclass(frozen=True)
class Results:
    """Every result of a results folder: the student x module matrix and the unscoped errors."""

    root: Path
    cells: Mapping[tuple[str, str], ModuleResult]
    unscoped: tuple[ModuleResult, ...] = ()
    files: Mapping[int, Path] = field(default_factory=dict)  # id(result) -> its file

    def path(self, result: ModuleResult) -> Path:
        """The file a result was read from (also when several folders were merged)."""
        found = self.files.get(id(result))
        if found is not None:
            return found
        return result_path(self.root, result.student, result.module, result.submission)

    @property
    def students(self) -> tuple[str, ...]:
        names = {s for s, _ in self.cells} | {r.student for r in self.unscoped}
        return tuple(sorted(names))

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules anybody was graded in, in course order."""
        present = {m for _, m in self.cells}
        return tuple(m for m in MODULE_IDS if m in present)

    def get(self, student: str, module: str) -> ModuleResult | None:
        return self.cells.get((student, module))

    def of(self, student: str) -> tuple[ModuleResult, ...]:
        return tuple(self.cells[(student, m)] for m in self.modules if (student, m) in self.cells)

    def blanks(self) -> tuple[tuple[str, str], ...]:
        """(student, module) cells with no result among the modules graded for anybody."""
        return tuple(
            (s, m) for s in self.students for m in self.modules if (s, m) not in self.cells
        )

    def __iter__(self) -> Iterator[ModuleResult]:
        yield from (self.cells[k] for k in sorted(self.cells, key=_cell_order))
        yield from self.unscoped


def _cell_order(key: tuple[str, str]) -> tuple[str, int]:
    return key[0], MODULE_IDS.index(key[1])


def result_files(root: Path) -> Iterator[Path]:
    """The result files of a results folder (DIR/<student>/*.json), in a stable order."""
    for folder in sorted(Path(root).iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in RESERVED:
            yield from sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))


def read_results(root: Path | Iterable[Path]) -> Results:
    """The matrix of one results folder (or several, merged; the same cell twice is an error)."""
    roots = [Path(root)] if isinstance(root, str | Path) else [Path(r) for r in root]
    cells: dict[tuple[str, str], ModuleResult] = {}
    where: dict[tuple[str, str], Path] = {}
    unscoped: list[ModuleResult] = []
    files: dict[int, Path] = {}
    for folder in roots:
        if not folder.is_dir():
            raise ResultError(
                f"{folder}: no such results folder; pass the --out folder of `alr grade`"
            )
        for path in result_files(folder):
            result = read_result(path)
            files[id(result)] = path
            if result.student != path.parent.name:
                raise ResultError(
                    f"{path}: extra_data.student: {result.student!r} is not the folder's student "
                    f"{path.parent.name!r}; regrade it or move the file"
                )
            if result.module is None:
                unscoped.append(result)
                continue
            if path.stem != result.module:
                raise ResultError(
                    f"{path}: extra_data.module: {result.module!r} does not match the file "
                    f"name; results are named <module>.json"
                )
            key = (result.student, result.module)
            if key in cells:
                raise ResultError(
                    f"{path}: module {result.module} of student {result.student!r} is also "
                    f"graded in {where[key]}; keep one of them"
                )
            cells[key], where[key] = result, path
    return Results(roots[0] if len(roots) == 1 else Path(), cells, tuple(unscoped), files)
