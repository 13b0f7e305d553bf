"""Reference implementations of every graded function of the course (spec/exercises.md).

One math, composed: later rules are built from earlier pieces (adam_step from the moments, bias
correction and direction; lamb_step adds decay and the trust ratio; lamb_model_step maps it over
named tensors). torch.optim and independent derivations are test oracles, never the implementation.
"""

from collections.abc import Callable
from typing import Any

from alr.contract import FUNCTION_MODULE
from solutions.adafactor import (
    adafactor_accumulators,
    adafactor_beta2,
    adafactor_step,
    factored_second_moment,
)
from solutions.adam import adam_step, adamw_step, amsgrad_step
from solutions.decay import coupled_l2_grad, decoupled_weight_decay
from solutions.moments import (
    adam_direction,
    adam_first_moment,
    adam_second_moment,
    bias_correction,
    effective_lr,
    ema,
    first_moment_trajectory,
)
from solutions.rmsprop import rmsprop_step
from solutions.trust import (
    lamb_model_step,
    lamb_step,
    lars_step,
    lars_trust_ratio,
    layerwise_trust_ratios,
    trust_ratio,
    update_diagnostics,
)

__all__ = [
    "adafactor_accumulators",
    "adafactor_beta2",
    "adafactor_step",
    "adam_direction",
    "adam_first_moment",
    "adam_second_moment",
    "adam_step",
    "adamw_step",
    "amsgrad_step",
    "bias_correction",
    "coupled_l2_grad",
    "decoupled_weight_decay",
    "effective_lr",
    "ema",
    "factored_second_moment",
    "first_moment_trajectory",
    "lamb_model_step",
    "lamb_step",
    "lars_step",
    "lars_trust_ratio",
    "layerwise_trust_ratios",
    "reference",
    "rmsprop_step",
    "trust_ratio",
    "update_diagnostics",
]


def reference(name: str) -> Callable[..., Any]:
    """The reference implementation of a graded function, by name (alr.contract.FUNCTIONS)."""
    if name not in FUNCTION_MODULE:
        raise KeyError(f"{name!r} is not a graded function; known: {sorted(FUNCTION_MODULE)}")
    return globals()[name]
