"""Typed objects for a course module, as loaded from course/modules/<id>.yaml.

These are the hand-off between the course files and the grader: the loader (course.load) builds
them, validated, and the autograder expands every `CaseSpec` into tests (shape x dtype x device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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
    """The objective an experiment trains on (course.lab builds each one)."""

    QUADRATIC = "quadratic"  # separable ill-conditioned quadratic, minimum known, minibatch noise
    VALLEY = "valley"  # a two-parameter valley, drawn as contours with the paths
    COUNTEREXAMPLE = "counterexample"  # Reddi et al. (2018)'s online convex problem on [-1, 1]
    LAYERS = "layers"  # least squares through two layers of very different scale
    LOGISTIC = "logistic"  # binary logistic regression on synthetic data
    SOFTMAX = "softmax"  # multinomial logistic regression (softmax) on synthetic clusters
    TRANSFORMER = "transformer"  # a one-block transformer on a synthetic sequence task


class Metric(StrEnum):
    """A quantity the lab logs per step of a run (course.lab documents each)."""

    LOSS = "loss"
    VAL_LOSS = "val_loss"
    GRAD_NORM = "grad_norm"
    PARAM_NORM = "param_norm"
    UPDATE_NORM = "update_norm"
    UPDATE_RMS = "update_rms"
    UPDATE_MAX = "update_max"
    UPDATE_MIN = "update_min"
    UPDATE_RATIO = "update_ratio"  # median over tensors of ||delta theta_l|| / ||theta_l||
    UPDATE_RATIO_LO = "update_ratio_lo"
    UPDATE_RATIO_HI = "update_ratio_hi"
    RATIO_SPREAD = "ratio_spread"  # max / min over tensors of the update ratio
    V_HAT = "v_hat"  # mean of the bias-corrected second-moment estimate the step divides by
    X = "x"  # mean of all coordinates (the iterate of a one-parameter problem)


#: Metrics also logged per tensor, as "<metric>[<tensor name>]".
PER_TENSOR = (Metric.PARAM_NORM, Metric.UPDATE_RATIO)


class Panel(StrEnum):
    """A panel of an experiment's figure: a metric over the steps, or the contour paths."""

    LOSS = "loss"
    VAL_LOSS = "val_loss"
    GRAD_NORM = "grad_norm"
    PARAM_NORM = "param_norm"
    UPDATE_NORM = "update_norm"
    UPDATE_RMS = "update_rms"
    UPDATE_MAX = "update_max"
    UPDATE_RATIO = "update_ratio"  # median line with the min..max band over tensors
    RATIO_SPREAD = "ratio_spread"
    V_HAT = "v_hat"
    X = "x"
    TRAJECTORY = "trajectory"  # two-parameter problems: paths over the loss contours


class TorchOptimizer(StrEnum):
    """torch.optim optimizers an experiment may train with (those with a reference twin)."""

    ADAM = "Adam"
    ADAMW = "AdamW"
    RMSPROP = "RMSprop"
    ADAFACTOR = "Adafactor"


class LrDecay(StrEnum):
    SQRT = "sqrt"  # lr / sqrt(t)


class Probe(StrEnum):
    """A measurement made with a module's functions instead of training (course.lab_probes)."""

    KEY_INEQUALITY = "key_inequality"
    FACTORED_ESTIMATE = "factored_estimate"
    RANK_ONE = "rank_one"
    DECAY_SCHEDULE = "decay_schedule"
    EPSILON = "epsilon"
    AMSGRAD_RATE = "amsgrad_rate"
    DIAGNOSTICS = "diagnostics"
    LAYERWISE = "layerwise"


class Relation(StrEnum):
    BELOW = "below"  # measured < target
    ABOVE = "above"  # measured > target
    NEAR = "near"  # |measured - target| <= rtol * |target|


class Stat(StrEnum):
    """Which value of a logged series a quantity takes (besides a step number)."""

    FIRST = "first"
    LAST = "last"
    MIN = "min"
    MAX = "max"
    MEAN = "mean"
    TAIL = "tail"  # the mean over the last fifth of the steps


@dataclass(frozen=True)
class Quantity:
    """`metric` of run `run` (of one `tensor` when given) at a step `at` or a statistic over the
    steps, times `times`. For a probe, `run` is the probe's name and `metric` one of its values."""

    run: str
    metric: str
    at: int | Stat = Stat.LAST
    times: float = 1.0
    tensor: str = ""


@dataclass(frozen=True)
class Expectation:
    """A sentence of an experiment's text, made checkable: `measure` `relation` `target`."""

    says: str
    measure: Quantity
    relation: Relation
    target: Quantity | float
    rtol: float = 0.0


@dataclass(frozen=True)
class Run:
    """One training run: a step rule (a graded function, or a lab helper such as `sgd_step`) or
    a torch.optim optimizer (`torch`), with its hyperparameters."""

    label: str
    rule: str = ""
    torch: TorchOptimizer | None = None
    hparams: dict[str, Any] = field(default_factory=dict)
    batch_size: int | None = None  # overrides the experiment's


@dataclass(frozen=True)
class Experiment:
    """An example of the section, run in the notebook with the learner's own functions.

    Either `runs` trained for `steps` steps on `problem` (same seed; minibatches of
    `batch_size` unless a run sets its own; lr / sqrt(t) with `lr_decay`), their `plot` panels
    drawn side by side, or a `probe`. `text` says what is run; `expectations` say what it
    shows, each checked in the notebook ("what you should see") and by the build on the
    reference solutions.
    """

    id: str
    title: str
    text: str
    expectations: tuple[Expectation, ...]
    problem: ProblemKind | None = None
    runs: tuple[Run, ...] = ()
    steps: int = 0
    plot: tuple[Panel, ...] = ()
    batch_size: int | None = None
    lr_decay: LrDecay | None = None
    probe: Probe | None = None


@dataclass(frozen=True)
class Task:
    """How the notebook presents a graded function: instructions and a small visible example."""

    function: str
    text: str
    example: CaseSpec


@dataclass(frozen=True)
class Question:
    """A diagnostic question of the section with its worked answer (markdown)."""

    question: str
    answer: str


@dataclass(frozen=True)
class Reading:
    """The section's parts, as the lesson has them (markdown with $math$)."""

    definition: str
    non_examples: str
    formulas: str
    proof_sketch: str
    implementation: str
    diagnostic_questions: tuple[Question, ...]
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
