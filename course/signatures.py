"""The call shape of every graded function: which arguments are tensors, what comes back.

The reference signatures (`inspect.signature(solutions.reference(fn))`) give names, order and
defaults; this table adds what a signature cannot say: the role of each tensor argument (how a
test draws it) and the names of the results, so a result whose name matches an argument is the
state carried to the next step.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from solutions.contract import FUNCTION_MODULE, MODULE_IDS, reference


class Role(StrEnum):
    """How a tensor argument is drawn for a test."""

    PARAM = "param"  # theta: standard normal, or zeros with `init: zeros`
    GRAD = "grad"  # gradient: per `grads:` (random, zeros, decaying), fresh every step
    STATE = "state"  # optimizer state: zeros at step 1 of a step rule, then carried
    SIGNED = "signed"  # any real tensor (standard normal)
    NONNEG = "nonneg"  # a second-moment-like tensor (squares of standard normals)
    AFTER = "after"  # theta after a step: theta + 0.1 * standard normal


@dataclass(frozen=True)
class Signature:
    """Tensor arguments (name -> role), result names, whether `t` is passed, dict-valued."""

    tensors: tuple[tuple[str, Role], ...]
    returns: tuple[str, ...]
    takes_t: bool = False
    named: bool = False  # arguments and results are dicts of named tensors (module 4.5)
    step_rule: bool = False  # (theta, grad, *state[, t]) -> (theta, *state): trains a model

    def role(self, name: str) -> Role:
        return dict(self.tensors)[name]


_P, _G, _S, _N, _Z, _A = Role.PARAM, Role.GRAD, Role.STATE, Role.SIGNED, Role.NONNEG, Role.AFTER

SIGNATURES: dict[str, Signature] = {
    "ema": Signature((("avg", _S), ("x", _G)), ("avg",)),
    "coupled_l2_grad": Signature((("theta", _P), ("grad", _G)), ("grad",)),
    "rmsprop_step": Signature(
        (("theta", _P), ("grad", _G), ("square_avg", _S)), ("theta", "square_avg"), step_rule=True
    ),
    "adam_first_moment": Signature((("m", _S), ("grad", _G)), ("m",)),
    "first_moment_trajectory": Signature((("grads", _G),), ("moments",)),
    "decoupled_weight_decay": Signature((("theta", _P),), ("theta",)),
    "adamw_step": Signature(
        (("theta", _P), ("grad", _G), ("m", _S), ("v", _S)),
        ("theta", "m", "v"),
        takes_t=True,
        step_rule=True,
    ),
    "adam_second_moment": Signature((("v", _S), ("grad", _G)), ("v",)),
    "adafactor_accumulators": Signature(
        (("row_var", _S), ("col_var", _S), ("grad", _G)), ("row_var", "col_var")
    ),
    "factored_second_moment": Signature((("row_var", _Z), ("col_var", _Z)), ("v",)),
    "adafactor_step": Signature(
        (("theta", _P), ("grad", _G), ("row_var", _S), ("col_var", _S)),
        ("theta", "row_var", "col_var"),
        takes_t=True,
        step_rule=True,
    ),
    "lars_trust_ratio": Signature((("theta", _P), ("grad", _G)), ("ratio",)),
    "lars_step": Signature(
        (("theta", _P), ("grad", _G), ("momentum_buffer", _S)),
        ("theta", "momentum_buffer"),
        step_rule=True,
    ),
    "bias_correction": Signature((("m", _N), ("v", _Z)), ("m_hat", "v_hat"), takes_t=True),
    "adam_step": Signature(
        (("theta", _P), ("grad", _G), ("m", _S), ("v", _S)),
        ("theta", "m", "v"),
        takes_t=True,
        step_rule=True,
    ),
    "adafactor_beta2": Signature((), ("beta2_t",), takes_t=True),
    "adam_direction": Signature((("m_hat", _N), ("v_hat", _Z)), ("direction",)),
    "effective_lr": Signature((("v_hat", _Z),), ("step_size",)),
    "amsgrad_step": Signature(
        (("theta", _P), ("grad", _G), ("m", _S), ("v", _S), ("v_max", _S)),
        ("theta", "m", "v", "v_max"),
        takes_t=True,
        step_rule=True,
    ),
    "lamb_step": Signature(
        (("theta", _P), ("grad", _G), ("m", _S), ("v", _S)),
        ("theta", "m", "v"),
        takes_t=True,
        step_rule=True,
    ),
    "trust_ratio": Signature((("theta", _P), ("update", _N)), ("ratio",)),
    "update_diagnostics": Signature(
        (("theta_before", _P), ("theta_after", _A), ("grad", _G)), ("diagnostics",)
    ),
    "layerwise_trust_ratios": Signature((("params", _P), ("updates", _N)), ("ratios",), named=True),
    "lamb_model_step": Signature(
        (("params", _P), ("grads", _G), ("ms", _S), ("vs", _S)),
        ("params", "ms", "vs"),
        takes_t=True,
        named=True,
        step_rule=True,
    ),
}

#: Misconception ids the grader may name (spec of the graded functions).
MISCONCEPTIONS: frozenset[str] = frozenset(
    {
        "no_bias_correction",
        "bias_correction_m_only",
        "bias_correction_off_by_one",
        "eps_inside_sqrt",
        "eps_hat_form",
        "ema_weights_swapped",
        "second_moment_not_squared",
        "coupled_instead_of_decoupled",
        "decoupled_instead_of_coupled",
        "decay_not_scaled_by_lr",
        "decay_after_step",
        "amsgrad_max_of_corrected",
        "amsgrad_max_not_kept",
        "adafactor_rows_cols_swapped",
        "adafactor_no_normaliser",
        "adafactor_no_clipping",
        "lamb_trust_before_decay",
        "trust_ratio_zero_on_zero_norm",
        "trust_ratio_global_norm",
        "lars_denominator_decayed_norm",
        "mutates_input",
        "wrong_dtype",
        "wrong_device",
    }
)


@cache
def hparam_names(function: str) -> tuple[str, ...]:
    """Parameters of the reference that are hyperparameters (not tensors, not `t`)."""
    tensors = {n for n, _ in SIGNATURES[function].tensors}
    params = inspect.signature(reference(function)).parameters
    return tuple(n for n in params if n not in tensors and n != "t")


@cache
def required_hparams(function: str) -> tuple[str, ...]:
    """Hyperparameters without a default: every case must give them."""
    params = inspect.signature(reference(function)).parameters
    return tuple(n for n in hparam_names(function) if params[n].default is inspect.Parameter.empty)


def available_in(module_id: str, function: str) -> bool:
    """True when `function` is graded in `module_id` or in a module before it."""
    return MODULE_IDS.index(FUNCTION_MODULE[function]) <= MODULE_IDS.index(module_id)
