"""Answer generators for GENERATED_NUMERIC questions: realisable states, keys and wrong keys.

A generated question names one generator and gives, per parameter, the values it may take. Its
`instantiate(seed)` draws one value per parameter, then hands the generator the same seeded
`random.Random`, from which the generator draws the rest of the state (gradients, weights) and
runs the lesson's actual accumulators and updates on it. The `Draw` it returns holds the fields
the stem shows, the answer, and `variants`: the number a student holding each named misconception
computes instead, so a wrong numeric answer is evidence too. `core` names the variants a draw
must tell apart from the answer where they apply (a generator redraws until they differ; a
property test over thousands of seeds checks it).

The math is the plain scalar math of the lesson (pure Python, so questions can be worked by hand
and thousands of draws take milliseconds); the tests recompute every key from the drawn state
with the reference solutions (`solutions`, float64 torch).

    theory      section 3: EMAs, RMSProp, moments, AdamW, Adafactor, LARS
    algorithms  section 4: bias correction, eps, AMSGrad, LAMB, diagnostics, layerwise scaling
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from quizzes.generators import algorithms, theory
from quizzes.generators.base import Draw


@dataclass(frozen=True)
class Generator:
    """A named quantity: its parameters, the stem fields it adds, its core variants."""

    name: str
    params: tuple[str, ...]
    shown: tuple[str, ...]
    core: tuple[str, ...]
    draw_fn: Callable[..., Draw]
    doc: str

    def draw(self, values: Mapping[str, Any], rng: random.Random) -> Draw:
        """The realised question for parameter `values`, drawing the rest from `rng`."""
        return self.draw_fn(rng, **{p: values[p] for p in self.params})


#: generator name -> Generator.
GENERATORS: dict[str, Generator] = {
    name: Generator(name, params, shown, core, fn, (fn.__doc__ or "").strip())
    for name, (fn, params, shown, core) in {**theory.SPECS, **algorithms.SPECS}.items()
}


def format_value(value: Any) -> str:
    """How a value appears in a stem: 0.9 -> '0.9', [1.0, -2.0] -> '[1, -2]'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


__all__ = ["GENERATORS", "Draw", "Generator", "format_value"]
