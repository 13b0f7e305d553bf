"""The graded-function contract: which module grades which function (spec/exercises.md)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: module id -> graded functions, in the order the notebooks present them.
MODULE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "3.1": ("ema", "coupled_l2_grad", "rmsprop_step"),
    "3.2": ("adam_first_moment", "first_moment_trajectory", "decoupled_weight_decay", "adamw_step"),
    "3.3": ("adam_second_moment", "adafactor_accumulators"),
    "3.4": ("factored_second_moment", "adafactor_step"),
    "3.5": ("lars_trust_ratio", "lars_step"),
    "4.1": ("bias_correction", "adam_step", "adafactor_beta2"),
    "4.2": ("adam_direction", "effective_lr"),
    "4.3": ("amsgrad_step", "lamb_step"),
    "4.4": ("trust_ratio", "update_diagnostics"),
    "4.5": ("layerwise_trust_ratios", "lamb_model_step"),
}

MODULE_IDS: tuple[str, ...] = tuple(MODULE_FUNCTIONS)

#: function name -> module id.
FUNCTION_MODULE: dict[str, str] = {
    fn: module for module, fns in MODULE_FUNCTIONS.items() for fn in fns
}


def reference(name: str) -> Callable[..., Any]:
    """The reference implementation of a graded function, by name."""
    if name not in FUNCTION_MODULE:
        raise KeyError(f"{name!r} is not a graded function; known: {sorted(FUNCTION_MODULE)}")
    return getattr(importlib.import_module("solutions"), name)
