"""The typed hand-offs between the grading stages: what each stage reads and adds.

Every stage takes a `Context` and returns a new one (`dataclasses.replace`). A student's failure
is data on the context (`error`, `checks`), never an exception; a grader bug raises.

    load      -> Submission (kind, code cells); the scope of a notebook (its module)
    extract   -> Extracted (filtered source, graded functions the student defined); the
                 scope of a .py file (the modules of the functions it defines)
    run       -> JobResult (the sandbox's records)
    compare   -> CaseCheck per case (Failure kinds in the order the checks run)
    diagnose  -> misconception id per failed case
    score     -> TestResult per case
    write     -> the result document
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alr.contract import MODULE_FUNCTIONS
from alr.misconceptions import Misconception
from alr.results import ModuleResult
from autograder.sandbox.protocol import Job, JobResult

if TYPE_CHECKING:  # types only: reading a submission (load, extract) needs no torch
    from autograder.diagnosis.variants import VariantOutcomes
    from autograder.plan import Plan
    from course.cases.expand import CaseInstance


class SubmissionKind(StrEnum):
    PYTHON = "py"
    NOTEBOOK = "ipynb"


@dataclass(frozen=True)
class Cell:
    """A code cell; `index` is its position among all the notebook's cells (0-based), None for
    a .py file. `locked` cells hold code the notebook gives (nbgrader's read-only cells)."""

    index: int | None
    source: str
    locked: bool = False


@dataclass(frozen=True)
class Submission:
    kind: SubmissionKind
    cells: tuple[Cell, ...]
    module: str | None  # the notebook's own module, from its metadata
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extracted:
    """The filtered source sent to the sandbox, the graded functions it defines, where, and
    which other graded functions each one calls."""

    source: str
    defined: tuple[str, ...]
    locations: dict[str, str]
    notes: tuple[str, ...] = ()
    calls: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
    DISPLACEMENT = "displacement"  # float64: the step taken differs from the rule's step
    GATED = "gated"  # an edge or portability case, credited only once the core cases pass


@dataclass(frozen=True)
class CaseCheck:
    """The verdict of one case. For a failed value or displacement check, `errors` is that
    measure's relative error at each step (NaN where unknown) and `tolerance` its bound: what the
    feedback plot shows."""

    case_id: str
    passed: bool
    failure: Failure | None = None
    message: str = ""
    call: int | None = None
    output: str | None = None
    errors: tuple[float, ...] = ()
    tolerance: float | None = None


@dataclass(frozen=True)
class Settings:
    """What every submission of a batch shares. `module` is `--module`: the scope of a
    submission that does not name its own. `inputs` fingerprints the seed of the plan's inputs
    (the course secret), recorded in results so a resume can tell whether they changed."""

    plan: Plan
    grader_version: str
    max_bytes: int
    out: Path
    sandbox_level: str = "L0"
    module: str | None = None
    inputs: str = ""


@dataclass(frozen=True)
class TestResult:
    """One test of the result file (one expanded case)."""

    case: CaseInstance
    score: float
    max_score: float
    passed: bool
    output: str
    diagnosis: Misconception | None = None
    check: CaseCheck | None = None


@dataclass(frozen=True)
class Context:
    """One submission on its way through the stages. `hint` is the module the layout suggests
    (an nbgrader assignment folder, a file name); `identity` what the layout says of the student
    (an LMS user id, an email, a late flag); `modules` the scope, decided by load (a notebook)
    or extract (a .py file): only these modules are graded, and each gets its own result."""

    path: Path
    student: str
    sha256: str
    settings: Settings
    runner: Callable[[Job], JobResult] | None = field(default=None, compare=False, repr=False)
    #: the batch's cache of wrong-variant outcomes (a service, like the runner)
    variants: VariantOutcomes | None = field(default=None, compare=False, repr=False)
    #: the batch's writer of results (None: write them where settings.out says)
    publish: Callable[[ModuleResult], object] | None = field(
        default=None, compare=False, repr=False
    )
    hint: str | None = None
    identity: Mapping[str, Any] = field(default_factory=dict)
    submission: Submission | None = None
    modules: tuple[str, ...] | None = None
    extracted: Extracted | None = None
    error: str | None = None  # the submission could not be graded at all (student-facing)
    notes: tuple[str, ...] = ()
    run: JobResult | None = None
    checks: dict[str, CaseCheck] = field(default_factory=dict)
    diagnoses: dict[str, Misconception] = field(default_factory=dict)
    tests: tuple[TestResult, ...] = ()
    results: tuple[ModuleResult, ...] = ()
    started: float = 0.0

    @property
    def functions(self) -> tuple[str, ...]:
        """The graded functions in scope, in contract order (none before the scope is known)."""
        return tuple(
            f
            for module in self.modules or ()
            for f in MODULE_FUNCTIONS[module]
            if f in self.settings.plan.cases
        )
