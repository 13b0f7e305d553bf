"""The typed hand-offs between the grading stages: what each stage reads and adds.

Every stage takes a `Context` and returns a new one (`dataclasses.replace`). A student's failure
is data on the context (`error`, `checks`), never an exception; a grader bug raises.

    load      -> Submission (kind, code cells, module)
    extract   -> Extracted (filtered source, defined graded functions)
    run       -> JobResult (the sandbox's records)
    compare   -> CaseCheck per case (Failure kinds in the order the checks run)
    diagnose  -> misconception id per failed case
    score     -> TestResult per case
    write     -> the result document
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from alr.contract import MODULE_FUNCTIONS
from alr.misconceptions import Misconception
from autograder.diagnosis.variants import VariantOutcomes
from autograder.plan import Plan
from autograder.sandbox.protocol import Job, JobResult
from course.cases.expand import CaseInstance


class SubmissionKind(StrEnum):
    PYTHON = "py"
    NOTEBOOK = "ipynb"


@dataclass(frozen=True)
class Cell:
    """A code cell; `index` is its position among all the notebook's cells (0-based), None for
    a .py file."""

    index: int | None
    source: str


@dataclass(frozen=True)
class Submission:
    kind: SubmissionKind
    cells: tuple[Cell, ...]
    module: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extracted:
    """The filtered source sent to the sandbox, the graded functions it defines and where."""

    source: str
    defined: tuple[str, ...]
    locations: dict[str, str]
    notes: tuple[str, ...] = ()


class Failure(StrEnum):
    """Why a case failed, in the order the checks run."""

    NOT_RUN = "not_run"  # the submission did not load or the sandbox run failed
    MISSING = "missing"  # the function is not defined
    ERROR = "error"  # the call raised or returned the wrong structure
    SKIPPED = "skipped"  # an earlier call of the trajectory failed
    MUTATED = "mutated"
    ALIASED = "aliased"
    KIND = "kind"  # a tensor expected and something else returned, or a key is missing
    SHAPE = "shape"
    DTYPE = "dtype"
    DEVICE = "device"
    NONFINITE = "nonfinite"
    VALUE = "value"


@dataclass(frozen=True)
class CaseCheck:
    """The verdict of one case. `errors` (failed cases only) is the relative error of the first
    output (theta where there is one) at each step, for feedback plots; NaN where unknown."""

    case_id: str
    passed: bool
    failure: Failure | None = None
    message: str = ""
    call: int | None = None
    output: str | None = None
    errors: tuple[float, ...] = ()


@dataclass(frozen=True)
class Settings:
    plan: Plan
    grader_version: str
    max_bytes: int
    out: Path
    sandbox_level: str = "L0"


@dataclass(frozen=True)
class TestResult:
    """One test of the result file (one expanded case)."""

    case: CaseInstance
    score: float
    max_score: float
    passed: bool
    output: str
    diagnosis: Misconception | None = None


@dataclass(frozen=True)
class Context:
    path: Path
    student: str
    sha256: str
    settings: Settings
    runner: Callable[[Job], JobResult] | None = field(default=None, compare=False, repr=False)
    #: the batch's cache of wrong-variant outcomes (a service, like the runner)
    variants: VariantOutcomes | None = field(default=None, compare=False, repr=False)
    submission: Submission | None = None
    extracted: Extracted | None = None
    error: str | None = None  # the submission could not be graded at all (student-facing)
    notes: tuple[str, ...] = ()
    run: JobResult | None = None
    checks: dict[str, CaseCheck] = field(default_factory=dict)
    diagnoses: dict[str, Misconception] = field(default_factory=dict)
    tests: tuple[TestResult, ...] = ()
    result: dict[str, object] | None = None
    started: float = 0.0

    @property
    def functions(self) -> tuple[str, ...]:
        """The graded functions in scope: the notebook's module, else every function."""
        module = self.submission.module if self.submission else None
        if module is not None:
            return tuple(f for f in MODULE_FUNCTIONS[module] if f in self.settings.plan.cases)
        return tuple(self.settings.plan.cases)
