"""Typed objects for a course module, as loaded from course/modules/<id>.yaml.

These are the hand-off between the course files and the grader: the loader (course.load) builds
them, validated, and the autograder expands every `CaseSpec` into tests (shape x dtype x device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from alr.contract import Tolerance


class Init(StrEnum):
    """How the parameter tensor(s) of a case start."""

    RANDOM = "random"  # standard normal
    ZEROS = "zeros"  # theta_0 = 0: exercises the zero-norm fallbacks


class GradKind(StrEnum):
    """How the gradients of a case are drawn."""

    RANDOM = "random"  # fresh standard normal per step
    ZEROS = "zeros"  # all-zero gradients
    DECAYING = "decaying"  # standard normal scaled by 0.3**t (makes AMSGrad's max bind)


@dataclass(frozen=True)
class CaseSpec:
    """One grading case of one function; expanded over shapes x dtypes x devices.

    `hparams` are keyword (or, for functions without keyword-only hyperparameters, named
    positional) arguments passed on every call, e.g. {"lr": 0.1, "beta1": 0.8}. `names` gives the
    tensor names for functions that take dicts of named tensors (4.5), one per shape, all shapes
    then forming one model. `tolerance` overrides the per-dtype defaults of optimizers.md §11.
    `probes` lists the misconception ids this case is designed to expose. An `edge` case (zero
    parameters or gradients, a degenerate setting) earns points only when the function's core
    cases pass, so code that does nothing cannot collect them; a case with `init: zeros` or
    `grads: zeros` is an edge case unless it says otherwise.
    """

    name: str
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...] = ("float32", "float64")
    steps: int = 1
    hparams: dict[str, float | int | bool | str | tuple[str, ...]] = field(default_factory=dict)
    init: Init = Init.RANDOM
    grads: GradKind = GradKind.RANDOM
    names: tuple[str, ...] = ()
    tolerance: dict[str, Tolerance] = field(default_factory=dict)  # dtype -> tolerance
    probes: tuple[str, ...] = ()
    edge: bool | None = None  # None: an edge case exactly when it starts from zeros

    @property
    def is_edge(self) -> bool:
        if self.edge is not None:
            return self.edge
        return self.init is Init.ZEROS or self.grads is GradKind.ZEROS


@dataclass(frozen=True)
class ExerciseSpec:
    """A graded function of a module: its points (split evenly over its expanded tests)."""

    function: str
    points: float
    cases: tuple[CaseSpec, ...]


# ---- the rest of a module: reading, notebook tasks, experiments (course.load builds these) ----


class ProblemKind(StrEnum):
    """The objective an experiment trains on (the lesson's three kinds of example)."""

    QUADRATIC = "quadratic"  # synthetic ill-conditioned quadratic, minimum known in closed form
    LOGISTIC = "logistic"  # binary logistic regression on a synthetic separable-ish data set
    SOFTMAX = "softmax"  # multinomial logistic regression (softmax) on synthetic clusters
    TRANSFORMER = "transformer"  # a one-block transformer on a synthetic sequence task


class Metric(StrEnum):
    """A quantity an experiment logs per step (and may plot)."""

    LOSS = "loss"
    GRAD_NORM = "grad_norm"  # ||g|| over all tensors
    UPDATE_NORM = "update_norm"  # ||theta_t - theta_{t-1}|| over all tensors
    UPDATE_RATIO = "update_ratio"  # max over tensors of ||delta theta_l|| / ||theta_l||
    TRUST_RATIO = "trust_ratio"  # min over tensors of ||theta_l|| / ||delta theta_l / lr||
    SECOND_MOMENT = "second_moment"  # mean of the second-moment state (v, square_avg, factors)
    PARAM_NORM = "param_norm"  # ||theta|| over all tensors
    VAL_LOSS = "val_loss"  # loss on held-out data (problems that have it: the transformer)


@dataclass(frozen=True)
class Run:
    """One training run of an experiment: a step rule (a graded function) and its hparams."""

    label: str
    rule: str
    hparams: dict[str, float | int | bool | str | tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """An example of the section, run in the notebook with the student's own functions.

    `runs` are trained for `steps` steps on the same problem (same seed) and the `plot` metrics
    are drawn side by side; `code` is extra Python run after training (names available: `logs`,
    the problem `problem`, every function of the notebook).
    """

    id: str
    title: str
    problem: ProblemKind
    text: str
    runs: tuple[Run, ...]
    steps: int
    plot: tuple[Metric, ...]
    code: str = ""


@dataclass(frozen=True)
class Task:
    """How the notebook presents a graded function: instructions and a small visible example."""

    function: str
    text: str
    example: CaseSpec


@dataclass(frozen=True)
class Reading:
    """The section's parts, as the lesson has them (markdown with $math$)."""

    definition: str
    non_examples: str
    formulas: str
    proof_sketch: str
    implementation: str
    diagnostic_questions: tuple[str, ...]
    ai_connection: str


@dataclass(frozen=True)
class ModuleSpec:
    """One section of the lesson: reading, graded functions, experiments, skill check."""

    id: str
    title: str
    part: str
    object: str
    reading: Reading
    exercises: tuple[ExerciseSpec, ...]
    tasks: tuple[Task, ...]
    experiments: tuple[Experiment, ...]
    skill_check: str
    path: str = ""

    @property
    def slug(self) -> str:
        """File-name form of the id: "3.1" -> "module-3-1"."""
        return "module-" + self.id.replace(".", "-")

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(e.function for e in self.exercises)

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)


@dataclass(frozen=True)
class Course:
    """Every module, ordered by id, and the course's settings (course.yaml): whether graded
    functions may use torch.optim."""

    modules: tuple[ModuleSpec, ...]
    allow_torch_optim: bool = False

    def module(self, module_id: str) -> ModuleSpec:
        for m in self.modules:
            if m.id == module_id:
                return m
        raise KeyError(f"no module {module_id!r}; known: {[m.id for m in self.modules]}")

    def exercise(self, function: str) -> ExerciseSpec:
        for m in self.modules:
            for e in m.exercises:
                if e.function == function:
                    return e
        raise KeyError(f"no graded function {function!r} in the course")
