"""Typed objects for a course module, as loaded from course/modules/<id>.yaml.

These are the hand-off between the course files and the grader: the loader (course.load) builds
them, validated, and the autograder expands every `CaseSpec` into tests (shape x dtype x device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
class Tolerance:
    rtol: float
    atol: float


@dataclass(frozen=True)
class CaseSpec:
    """One grading case of one function; expanded over shapes x dtypes x devices.

    `hparams` are keyword (or, for functions without keyword-only hyperparameters, named
    positional) arguments passed on every call, e.g. {"lr": 0.1, "beta1": 0.8}. `names` gives the
    tensor names for functions that take dicts of named tensors (4.5), one per shape, all shapes
    then forming one model. `tolerance` overrides the per-dtype defaults of optimizers.md §11.
    `probes` lists the misconception ids this case is designed to expose.
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


@dataclass(frozen=True)
class ExerciseSpec:
    """A graded function of a module: its points (split evenly over its expanded tests)."""

    function: str
    points: float
    cases: tuple[CaseSpec, ...]
