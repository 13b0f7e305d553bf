"""What every generator shares: the `Draw` it returns and small scalar helpers."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Vector = tuple[float, ...]

#: how often a generator redraws a degenerate state before it gives up (a test draws thousands)
TRIES = 1000
NO_DRAW = "no draw in 1000 tries separates the answer from its core variants; widen the parameters"

#: gradient values a drawn history takes (non-zero, mixed signs, easy to square by hand)
GRADS = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Draw:
    """One realised question: the answer, the stem fields it adds, what each misconception
    computes instead, and the inputs a reference implementation needs to recompute the answer."""

    answer: float
    shown: Mapping[str, Any] = field(default_factory=dict)
    variants: Mapping[str, float] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)


#: name -> (draw function, parameters, stem fields it adds, core variants)
Spec = tuple[Callable[..., Draw], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def ema(beta: float, xs: Sequence[float], start: float = 0.0) -> float:
    """avg_t = beta avg_{t-1} + (1 - beta) x_t from `start`, after all xs."""
    avg = start
    for x in xs:
        avg = beta * avg + (1 - beta) * x
    return avg


def norm(xs: Sequence[float]) -> float:
    """Whole-vector L2 norm."""
    return math.sqrt(sum(x * x for x in xs))


def pick(rng: random.Random, pool: Sequence[float], n: int) -> Vector:
    """n values drawn from `pool` with replacement."""
    return tuple(float(pool[rng.randrange(len(pool))]) for _ in range(n))


def layer(rng: random.Random, size: int, *, zero: float = 0.0) -> tuple[Vector, Vector]:
    """A weight vector and a same-length second vector (a gradient or an update); with
    probability `zero` one of them is all zeros (a zero-initialised tensor or a zero update)."""
    pool = (-4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0)
    a, b = pick(rng, pool, size), pick(rng, pool, size)
    if rng.random() < zero:
        if rng.random() < 0.5:
            a = (0.0,) * size
        else:
            b = (0.0,) * size
    return a, b


def matrix(rng: random.Random, rows: int, cols: int) -> tuple[Vector, ...]:
    """A small integer matrix (a gradient to reduce by hand)."""
    return tuple(pick(rng, (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0), cols) for _ in range(rows))


def separated(answer: float, *variants: float, rel: float = 0.02) -> bool:
    """Whether the answer and every variant differ pairwise by more than `rel` (relative), so
    each wrong value points to one misconception and none passes for the answer."""
    values = [answer, *variants]
    return all(
        abs(a - b) > rel * max(abs(a), abs(b))
        for i, a in enumerate(values)
        for b in values[i + 1 :]
    )


def safe(fn: Callable[[], float]) -> float:
    """A variant's value; a variant that divides by zero gives inf (no finite answer matches)."""
    try:
        return float(fn())
    except ZeroDivisionError:
        return math.inf
