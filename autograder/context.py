"""The per-submission context that flows through the grading stages, and the batch plan.

Every stage takes a `Context` and returns a new one (`dataclasses.replace`). A student's failure
is data on the context (`error`, `checks`), never an exception; a grader bug raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.compare import CaseCheck
from autograder.extract import Extracted
from autograder.harness import CaseInstance
from autograder.load import Submission
from autograder.program import CallOutcome
from autograder.sandbox.protocol import Job, JobResult


@dataclass(frozen=True)
class Plan:
    """Everything shared by the submissions of one batch: the expanded cases of every graded
    function (in contract order), their reference outcomes and each function's points."""

    seed: int
    devices: tuple[str, ...]
    cases: dict[str, tuple[CaseInstance, ...]]
    expected: dict[str, list[CallOutcome]]
    points: dict[str, float]
    #: trusted outcomes of wrong variants, (case_id, variant index) -> outcome, filled lazily by
    #: diagnosis: the same mistakes recur across a batch (dict writes are atomic under the GIL)
    variant_outcomes: dict[tuple[str, int], list[CallOutcome]] = field(
        default_factory=dict, compare=False, repr=False
    )


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
    diagnosis: str | None = None


@dataclass(frozen=True)
class Context:
    path: Path
    student: str
    sha256: str
    settings: Settings
    runner: Callable[[Job], JobResult] | None = field(default=None, compare=False, repr=False)
    submission: Submission | None = None
    extracted: Extracted | None = None
    error: str | None = None  # the submission could not be graded at all (student-facing)
    notes: tuple[str, ...] = ()
    run: JobResult | None = None
    checks: dict[str, CaseCheck] = field(default_factory=dict)
    diagnoses: dict[str, str] = field(default_factory=dict)
    tests: tuple[TestResult, ...] = ()
    result: dict[str, object] | None = None
    started: float = 0.0

    @property
    def functions(self) -> tuple[str, ...]:
        """The graded functions in scope: the notebook's module, else every function."""
        from solutions.contract import MODULE_FUNCTIONS

        module = self.submission.module if self.submission else None
        if module is not None:
            return tuple(f for f in MODULE_FUNCTIONS[module] if f in self.settings.plan.cases)
        return tuple(self.settings.plan.cases)
