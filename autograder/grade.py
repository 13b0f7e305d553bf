"""Grade a batch of submissions: the Python API behind `alr grade`.

    grade_batch(paths, out=DIR) -> BatchSummary

Each submission is collected with its student (`autograder.submissions`: the layout's rule),
graded in the sandbox against the plan built from the course secret (`course.secret`: the same
code gets the same score on every run), and written as one result per student and module,
`DIR/<student>/<module>.json` (see `alr.results`), as soon as it is graded. `DIR/summary.csv` has
one row per result of the batch. A submission whose results record the same file, grader
version, inputs and devices is not graded again unless `redo=True`, so re-running an interrupted
batch continues it. Of two submissions of the same student and module in one batch, the newer
(a later resubmission, a newer file) is the one written.

One submission never stops the class: whatever goes wrong while grading it, a student's problem
or a grader bug, becomes that student's error result, and the batch goes on and writes its
summary.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from alr.contract import MODULE_IDS
from alr.errors import AlrError
from alr.fileio import write_atomic
from alr.results import ModuleResult, ResultError, read_result
from autograder import DEFAULT_TIMEOUT
from autograder.stages.context import Context, Settings
from autograder.stages.load import MAX_BYTES, file_sha256
from autograder.stages.write_result import module_results, publish
from autograder.submissions import Collected, Entry, collect
from course.secret import Inputs, grading_inputs
from course.spec import Course, ExerciseSpec

if TYPE_CHECKING:
    from autograder.diagnosis.variants import VariantOutcomes
    from autograder.plan import Plan

# This module imports no torch: `grade_batch` starts the sandbox's workers (each imports torch)
# first, and imports what needs torch (the plan, the references, the comparing stages) while
# they start. A single submission graded from a fresh process waits for about one import.

SUMMARY = "summary.csv"
SUMMARY_FIELDS = (
    "student",
    "module",
    "score",
    "max_score",
    "status",
    "tests_passed",
    "tests",
    "diagnoses",
    "submission",
    "error",
)


class Status(StrEnum):
    GRADED = "graded"
    ERROR = "error"  # the submission could not be graded (its result says why)
    UNCHANGED = "unchanged"  # graded before from the same file, version, inputs and devices
    SUPERSEDED = "superseded"  # a newer submission of the same student and module won


@dataclass(frozen=True)
class GradeOutcome:
    """What happened to one submission, and its results."""

    entry: Entry
    status: Status
    results: tuple[ModuleResult, ...]

    @property
    def student(self) -> str:
        return self.entry.student


@dataclass(frozen=True)
class BatchSummary:
    out: Path
    rule: str
    inputs: str
    devices: tuple[str, ...]
    sandbox: str
    outcomes: tuple[GradeOutcome, ...]
    skipped: tuple[Path, ...]  # files that are not submissions
    summary_csv: Path
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(o.status is status for o in self.outcomes)

    @property
    def matrix(self) -> dict[str, dict[str, ModuleResult]]:
        """student -> module -> result, of this batch's results."""
        cells: dict[str, dict[str, ModuleResult]] = {}
        for o in self.outcomes:
            for r in o.results:
                if r.module is not None and o.status is not Status.SUPERSEDED:
                    cells.setdefault(r.student, {})[r.module] = r
        return cells

    @property
    def blanks(self) -> int:
        """(student, module) cells without a result, among the modules anybody submitted."""
        cells = self.matrix
        modules = {m for per in cells.values() for m in per}
        students = {o.student for o in self.outcomes}
        return sum(m not in cells.get(s, {}) for s in students for m in modules)


def grader_version() -> str:
    return version("adaptive-lr-course")


def _gpu_possible() -> bool:
    """Whether torch may see a GPU, told without importing it (a second of a cold start):
    False for a CPU-only build (no CUDA or ROCm libraries) or, on Linux, where no GPU device
    file exists (NVIDIA's, ROCm's /dev/kfd, WSL's /dev/dxg); True when it cannot be told."""
    spec = importlib.util.find_spec("torch")
    roots = list(spec.submodule_search_locations or []) if spec else []
    lib = Path(roots[0]) / "lib" if roots else None
    if lib is None or not lib.is_dir():
        return True
    if not (any(lib.glob("lib*_cuda*.so*")) or any(lib.glob("lib*_hip*.so*"))):
        return False
    dev = Path("/dev")
    if not sys.platform.startswith("linux") or not dev.is_dir():
        return True
    return any(dev.glob("nvidia[0-9]*")) or any((dev / n).exists() for n in ("kfd", "dxg"))


def resolve_devices(device: str) -> tuple[str, ...]:
    """auto: CPU, plus CUDA when present; cpu; cuda (an error when absent)."""
    if device == "cpu":
        return ("cpu",)
    if device in ("auto", "cuda") and not _gpu_possible():
        has_cuda = False
    else:
        import torch

        has_cuda = torch.cuda.is_available()
    if device == "cuda":
        if not has_cuda:
            raise AlrError("--device cuda: no CUDA device is available; use --device auto or cpu")
        return ("cpu", "cuda")
    if device == "auto":
        return ("cpu", "cuda") if has_cuda else ("cpu",)
    raise AlrError(f"--device: expected auto, cpu or cuda, got {device!r}")


def _previous(
    out: Path, entry: Entry, sha: str, key: tuple[str, str, tuple[str, ...]]
) -> tuple[ModuleResult, ...]:
    """The results of an earlier grading of the same file with the same version, inputs and
    devices (then it need not be graded again)."""
    folder = out / entry.student
    if not sha or not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            result = read_result(path)
        except ResultError:
            continue
        same = (result.grader_version, result.inputs, result.devices) == key
        if same and result.sha256 == sha and result.submission == entry.path.name:
            found.append(result)
    return tuple(found)


class _Writer:
    """Writes results as they come, keeping for each (student, module) cell the newest of the
    batch's submissions of it."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._ranks: dict[tuple[str, str | None, str], tuple[int, float, str]] = {}

    def publisher(self, entry: Entry) -> Callable[[ModuleResult], object]:
        def publish_one(result: ModuleResult) -> object:
            cell = (result.student, result.module, "" if result.module else result.submission)
            with self._lock:
                if cell in self._ranks and self._ranks[cell] > entry.rank:
                    return None
                self._ranks[cell] = entry.rank
                return publish(self.out, result)

        return publish_one

    def won(self, entry: Entry, result: ModuleResult) -> bool:
        cell = (result.student, result.module, "" if result.module else result.submission)
        with self._lock:
            return self._ranks.get(cell) == entry.rank


def _course() -> Course:
    from course.load import load_course

    return load_course()


def _failed(ctx: Context, exc: BaseException) -> Context:
    """A grader bug while grading one submission: that student's error result, the rest go on."""
    traceback.print_exception(exc)
    message = (
        f"the grader failed on this submission ({type(exc).__name__}: {str(exc)[:200]}); it is a "
        "grader bug, not your mistake: tell your instructor"
    )
    return replace(ctx, error=message, tests=(), modules=ctx.modules if ctx.tests else None)


@dataclass(frozen=True)
class _Grader:
    """What grading needs beyond the sandbox: the plan, the stages (all of them; the first ones
    and the rest), the batch's variant cache."""

    plan: Plan
    pipeline: Callable[[Context], Context]
    prepare: Callable[[Context], Context]
    finish: Callable[[Context], Context]
    variants: VariantOutcomes


def _grader(
    exercises: Iterable[ExerciseSpec] | None, seed: int, devices: tuple[str, ...]
) -> _Grader:
    """Import the torch side of grading and check the plan, while the sandbox's workers start."""
    from autograder.diagnosis.variants import VariantOutcomes
    from autograder.plan import build_plan
    from autograder.stages.pipeline import AFTER_PREPARE, grade_submission, prepare_submission

    specs = exercises
    if specs is None:
        specs = [e for m in _course().modules for e in m.exercises]
    plan = build_plan(specs, seed=seed, devices=devices)

    def finish(ctx: Context) -> Context:
        return grade_submission(ctx, AFTER_PREPARE)

    return _Grader(plan, grade_submission, prepare_submission, finish, VariantOutcomes())


def _grade_one(ctx: Context, pipeline: Callable[[Context], Context]) -> tuple[Context, Status]:
    try:
        done = pipeline(ctx)
    except Exception as exc:  # noqa: BLE001 - isolation: one submission never stops the batch
        done = _failed(ctx, exc)
        done = replace(done, results=module_results(done))
        for result in done.results:
            if done.publish is not None:
                done.publish(result)
    return done, Status.ERROR if done.error else Status.GRADED


def grade_batch(
    paths: Iterable[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    device: str = "auto",
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int | None = None,
    secret: Path | None = None,
    module: str | None = None,
    student_from: str | None = None,
    redo: bool = False,
    min_sandbox: str = "L0",
    exercises: Iterable[ExerciseSpec] | None = None,
    max_bytes: int = MAX_BYTES,
    collected: Collected | None = None,
    inputs: Inputs | None = None,
    progress: Callable[[GradeOutcome], None] | None = None,
) -> BatchSummary:
    """Grade every submission; see the module docstring. `exercises` defaults to the course's."""
    from autograder.sandbox import Limits, Sandbox
    from course.settings import load_settings

    if module is not None and module not in MODULE_IDS:
        raise AlrError(f"--module: expected one of {', '.join(MODULE_IDS)}, got {module!r}")
    collected = collected or collect([Path(p) for p in paths], student_from)
    inputs = inputs or grading_inputs(seed=seed, secret=secret)[0]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    devices = resolve_devices(device)
    key = (grader_version(), inputs.fingerprint, devices)
    outcomes: dict[int, GradeOutcome] = {}
    todo: list[tuple[int, Entry, str]] = []
    for i, entry in enumerate(collected.entries):
        sha = file_sha256(entry.path, max_bytes)
        previous = () if redo else _previous(out_dir, entry, sha, key)
        if previous:
            outcomes[i] = GradeOutcome(entry, Status.UNCHANGED, previous)
            if progress:
                progress(outcomes[i])
        else:
            todo.append((i, entry, sha))
    level, interrupted = "L0", False
    writer = _Writer(out_dir)
    if todo:
        n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        allow_optim = bool(load_settings()["allow_torch_optim"])
        with Sandbox(
            workers=n_workers,
            limits=Limits(timeout_s=timeout, allow_torch_optim=allow_optim),
            min_level=min_sandbox,
            cuda="cuda" in devices,
            wait=False,  # the workers start while this process imports torch and plans
        ) as sandbox:
            grade = _grader(exercises, inputs.seed, devices)  # config errors first
            level = sandbox.level
            settings = Settings(
                grade.plan, grader_version(), max_bytes, out_dir, level, module, inputs.fingerprint
            )

            def context(entry: Entry, sha: str) -> Context:
                return Context(
                    entry.path,
                    entry.student,
                    sha,
                    settings,
                    runner=sandbox.run,
                    variants=grade.variants,
                    publish=writer.publisher(entry),
                    hint=entry.hint,
                    identity=entry.identity,
                )

            # while the workers start: read the first submissions and compute their references
            # (no sandbox is used before it is ready; a failure here is met again below)
            prepared: dict[int, Context] = {}
            for i, entry, sha in todo[:n_workers]:
                try:
                    prepared[i] = grade.prepare(context(entry, sha))
                except Exception:  # noqa: BLE001 - graded again from the start below
                    pass
            sandbox.wait_ready()

            def one(item: tuple[int, Entry, str]) -> tuple[int, GradeOutcome]:
                i, entry, sha = item
                ctx = prepared.pop(i, None)
                if ctx is not None:
                    done, status = _grade_one(ctx, grade.finish)
                else:
                    done, status = _grade_one(context(entry, sha), grade.pipeline)
                return i, GradeOutcome(entry, status, done.results)

            # one thread more than workers: a slot is not left idle while a thread writes results
            pool = ThreadPoolExecutor(max_workers=min(n_workers + 1, len(todo)))
            futures = [pool.submit(one, item) for item in todo]
            try:
                for future in futures:
                    i, outcome = future.result()
                    outcomes[i] = outcome
                    if progress:
                        progress(outcome)
            except KeyboardInterrupt:
                interrupted = True
                for future in futures:
                    future.cancel()
            finally:
                pool.shutdown(wait=not interrupted, cancel_futures=True)
    final = []
    for i in sorted(outcomes):
        o = outcomes[i]
        if o.status in (Status.GRADED, Status.ERROR) and o.results:
            if not all(writer.won(o.entry, r) for r in o.results):
                o = replace(o, status=Status.SUPERSEDED)
        final.append(o)
    summary = out_dir / SUMMARY
    write_summary(summary, final)
    return BatchSummary(
        out_dir,
        collected.rule,
        inputs.source,
        devices,
        level,
        tuple(final),
        collected.skipped,
        summary,
        interrupted,
    )


# ---- the summary CSV ----


_FORMULA = ("=", "+", "-", "@")


def _text(value: object) -> str:
    """A free-text CSV cell that no spreadsheet runs as a formula, even when the file is opened
    with ';' or a TAB as the separator (every part that would start a cell is guarded)."""
    text = str(value)
    for c in "\t\r\n":
        text = text.replace(c, " ")
    return ";".join("'" + part if part.startswith(_FORMULA) else part for part in text.split(";"))


def summary_rows(outcomes: Iterable[GradeOutcome]) -> list[dict[str, str]]:
    rows = []
    for o in outcomes:
        for r in o.results:
            rows.append(
                {
                    "student": _text(r.student),
                    "module": r.module or "",
                    "score": repr(r.score),
                    "max_score": repr(r.max_score),
                    "status": str(o.status),
                    "tests_passed": str(sum(t.passed for t in r.tests)),
                    "tests": str(len(r.tests)),
                    "diagnoses": ";".join(r.diagnoses),
                    "submission": _text(r.submission),
                    "error": _text(r.error or ""),
                }
            )
    return rows


def write_summary(path: Path, outcomes: Iterable[GradeOutcome]) -> None:
    """The batch summary CSV, one row per result, every cell quoted."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n", quoting=csv.QUOTE_ALL
    )
    writer.writeheader()
    writer.writerows(summary_rows(outcomes))
    write_atomic(path, buf.getvalue())
