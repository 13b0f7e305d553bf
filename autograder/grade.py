"""Grade a batch of submissions: the Python API behind `alr grade`.

    grade_batch(paths, out=DIR) -> BatchSummary

writes DIR/<student>.json (one result file per submission), DIR/feedback/<student>.html and
DIR/summary.csv, and keeps the batch seed in DIR/.batch.json so that re-running the same DIR
reuses it. A submission whose result file records the same sha256, grader version and seed is
skipped unless `redo=True`. A bad submission becomes that student's error result; a grader bug
raises (results finished before it stay on disk).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from alr.errors import AlrError
from autograder import DEFAULT_TIMEOUT
from autograder.diagnosis.variants import VariantOutcomes
from autograder.plan import build_plan
from autograder.sandbox.protocol import Job, JobResult
from autograder.stages.context import Context, Settings
from autograder.stages.load import MAX_BYTES, file_sha256
from autograder.stages.pipeline import grade_submission
from autograder.stages.write_result import summary_row, write_atomic, write_summary
from course.spec import ExerciseSpec

BATCH_FILE = ".batch.json"


@dataclass(frozen=True)
class GradeOutcome:
    student: str
    path: Path
    status: str  # "graded" | "error" | "skipped"
    score: float
    max_score: float
    result: Path


@dataclass(frozen=True)
class BatchSummary:
    out: Path
    seed: int
    devices: tuple[str, ...]
    sandbox: str
    outcomes: tuple[GradeOutcome, ...]
    summary_csv: Path


def grader_version() -> str:
    return version("adaptive-lr-course")


def resolve_devices(device: str) -> tuple[str, ...]:
    """auto: CPU, plus CUDA when present; cpu; cuda (an error when absent)."""
    import torch

    if device == "cpu":
        return ("cpu",)
    has_cuda = torch.cuda.is_available()
    if device == "cuda":
        if not has_cuda:
            raise AlrError("--device cuda: no CUDA device is available; use --device auto or cpu")
        return ("cpu", "cuda")
    if device == "auto":
        return ("cpu", "cuda") if has_cuda else ("cpu",)
    raise AlrError(f"--device: expected auto, cpu or cuda, got {device!r}")


def batch_seed(out: Path, seed: int | None) -> int:
    """The given seed, else the one recorded in DIR/.batch.json, else a fresh random one."""
    path = out / BATCH_FILE
    if seed is None and path.exists():
        try:
            seed = int(json.loads(path.read_text())["seed"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AlrError(
                f"{path}: unreadable batch record ({exc}); delete it to start afresh"
            ) from None
    if seed is None:
        seed = secrets.randbits(32)
    write_atomic(path, json.dumps({"seed": seed}) + "\n")
    return seed


def _students(paths: Sequence[Path]) -> dict[str, Path]:
    seen: dict[str, Path] = {}
    for p in paths:
        if p.stem in seen:
            raise AlrError(
                f"two submissions for student {p.stem!r}: {seen[p.stem]} and {p}; "
                "grade them in separate batches or rename one"
            )
        seen[p.stem] = p
    return seen


def _previous(result: Path, sha: str, seed: int, devices: tuple[str, ...]) -> dict | None:
    """The existing result when it was graded from the same file, grader version and seed, on
    the same devices (a CPU-only result is regraded once a GPU is there)."""
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
        extra = data["extra_data"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ran = extra.get("devices")
    same = (extra.get("submission_sha256"), extra.get("grader_version"), extra.get("seed"))
    if not isinstance(ran, list) or tuple(ran) != devices:
        return None
    return data if same == (sha, grader_version(), seed) else None


def _course_exercises() -> list[ExerciseSpec]:
    from course.load import load_course

    return [ex for module in load_course().modules for ex in module.exercises]


def _skip_unchanged(
    students: dict[str, Path],
    shas: dict[str, str],
    out_dir: Path,
    seed: int,
    devices: tuple[str, ...],
) -> dict[str, tuple[GradeOutcome, dict[str, str]]]:
    """Submissions whose result records the same sha256, grader version, seed and devices."""
    skipped = {}
    for s, p in students.items():
        previous = _previous(out_dir / f"{s}.json", shas[s], seed, devices)
        if previous is not None:
            outcome = GradeOutcome(
                s, p, "skipped", previous["score"], previous["max_score"], out_dir / f"{s}.json"
            )
            skipped[s] = (outcome, summary_row(previous, "skipped"))
    return skipped


def _grade_one(
    path: Path,
    student: str,
    sha: str,
    settings: Settings,
    runner: Callable[[Job], JobResult],
    variants: VariantOutcomes,
) -> tuple[GradeOutcome, dict[str, str]]:
    ctx = grade_submission(Context(path, student, sha, settings, runner=runner, variants=variants))
    if ctx.result is None:
        raise RuntimeError(f"grading {path} produced no result")
    status = "error" if ctx.error else "graded"
    score, max_score = ctx.result["score"], ctx.result["max_score"]
    assert isinstance(score, float | int) and isinstance(max_score, float | int)
    outcome = GradeOutcome(
        student, path, status, float(score), float(max_score), settings.out / f"{student}.json"
    )
    return outcome, summary_row(ctx.result, status)


def grade_batch(
    paths: Iterable[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    device: str = "auto",
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int | None = None,
    redo: bool = False,
    min_sandbox: str = "L0",
    exercises: Iterable[ExerciseSpec] | None = None,
    max_bytes: int = MAX_BYTES,
    progress: Callable[[GradeOutcome], None] | None = None,
) -> BatchSummary:
    """Grade every submission; see the module docstring. `exercises` defaults to the course's."""
    from autograder.sandbox import Limits, Sandbox

    students = _students([Path(p) for p in paths])
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = batch_seed(out_dir, seed)
    devices = resolve_devices(device)
    shas = {s: file_sha256(p) if p.is_file() else "" for s, p in students.items()}
    done = {} if redo else _skip_unchanged(students, shas, out_dir, seed, devices)
    for outcome, _ in done.values():
        if progress:
            progress(outcome)
    todo = [s for s in students if s not in done]
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    level = "L0"
    if todo:
        specs = _course_exercises() if exercises is None else exercises
        plan = build_plan(specs, seed=seed, devices=devices)  # config errors before any start
        limits = Limits(timeout_s=timeout)
        with Sandbox(
            workers=n_workers, limits=limits, min_level=min_sandbox, cuda="cuda" in devices
        ) as sandbox:
            level = sandbox.level
            settings = Settings(plan, grader_version(), max_bytes, out_dir, level)
            variants = VariantOutcomes()

            def one(s: str) -> tuple[GradeOutcome, dict[str, str]]:
                graded = _grade_one(students[s], s, shas[s], settings, sandbox.run, variants)
                if progress:
                    progress(graded[0])
                return graded

            with ThreadPoolExecutor(max_workers=n_workers) as pool:
                for graded in pool.map(one, todo):
                    done[graded[0].student] = graded
    summary = out_dir / "summary.csv"
    write_summary(summary, (done[s][1] for s in students))
    outcomes = tuple(done[s][0] for s in students)
    return BatchSummary(out_dir, seed, devices, level, outcomes, summary)
