"""Known wrong variants of the graded functions, one per misconception id (spec/exercises.md).

The Adam family is one kernel with convention flags, as optax writes convention differences as
flags on one transform rather than copies:

    g = grad (+ wd * theta if coupled)
    m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)               v_hat = v / (1 - beta2**t)
    theta = decay(theta) - lr * m_hat / (sqrt(v_hat) + eps)

and each variant flips one flag (bias correction off, eps inside the sqrt, ...). Every variant is
trusted code and runs only in the parent, on the same inputs as the reference, and is always called
through `reference.with_contract_defaults` with every argument given: the contract's defaults are
the only ones, so no variant restates them. `EQUIVALENT` holds
forms that differ from the reference in returned state but are correct answers (lr folded into
LARS's momentum buffer): a student matching one of them passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from autograder.variants_adam import AdamFlags, adam_variant, ams_variant, bias_variant
from autograder.variants_rules import (
    adafactor_variant,
    lamb_variant,
    lars_variant,
    model_variant,
    ratio_variant,
    rmsprop_variant,
)
from solutions.adafactor import adafactor_accumulators


@dataclass(frozen=True)
class Variant:
    misconception: str
    function: Callable[..., Any]


def _swapped(avg: Tensor, x: Tensor, beta: float) -> Tensor:
    return (1.0 - beta) * avg + beta * x


def _v_with(kind: str) -> Callable[..., Tensor]:
    def v_update(v: Tensor, grad: Tensor, beta2: float) -> Tensor:
        fed = grad if kind == "raw" else grad.abs()
        return beta2 * v + (1.0 - beta2) * fed

    return v_update


def _traj_swapped(grads: Tensor, beta1: float) -> Tensor:
    m, out = torch.zeros_like(grads[0]), []
    for g in grads:
        m = _swapped(m, g, beta1)
        out.append(m)
    return torch.stack(out)


def _acc_swapped(row_var: Tensor, col_var: Tensor, grad: Tensor, beta2_t: float) -> Any:
    g2 = grad * grad
    return (
        beta2_t * row_var + (1 - beta2_t) * g2.mean(dim=-2, keepdim=True),
        beta2_t * col_var + (1 - beta2_t) * g2.mean(dim=-1, keepdim=True),
    )


def _acc_weights(row_var: Tensor, col_var: Tensor, grad: Tensor, beta2_t: float) -> Any:
    return adafactor_accumulators(row_var, col_var, grad, 1.0 - beta2_t)


def _acc_abs(row_var: Tensor, col_var: Tensor, grad: Tensor, beta2_t: float) -> Any:
    return adafactor_accumulators(row_var, col_var, grad.abs().sqrt(), beta2_t)


def _no_normaliser(row_var: Tensor, col_var: Tensor, eps1: float | None) -> Tensor:
    return row_var * col_var


def _beta2_from_zero(t: int, beta2_decay: float) -> float:
    return 1.0 - float(t - 1) ** beta2_decay


def _beta2_swapped(t: int, beta2_decay: float) -> float:
    return float(t) ** beta2_decay


def _decay_no_lr(theta: Tensor, lr: float, weight_decay: float) -> Tensor:
    return (1.0 - weight_decay) * theta


def _direction_inside(m_hat: Tensor, v_hat: Tensor, eps: float, **_: Any) -> Tensor:
    return m_hat / torch.sqrt(v_hat + eps)


def _effective_inside(lr: float, v_hat: Tensor, eps: float) -> Tensor:
    return lr / torch.sqrt(v_hat + eps)


_ADAM_IDS = (
    ("no_bias_correction", AdamFlags(bias="none")),
    ("bias_correction_m_only", AdamFlags(bias="m_only")),
    ("bias_correction_off_by_one", AdamFlags(bias="off_by_one")),
    ("eps_inside_sqrt", AdamFlags(eps="inside")),
    ("eps_hat_form", AdamFlags(eps="hat")),
    ("ema_weights_swapped", AdamFlags(swapped=True)),
    ("second_moment_not_squared", AdamFlags(square="abs")),
    ("second_moment_not_squared", AdamFlags(square="raw")),
)


def _adam_family(decay: str, wrong_decays: tuple[tuple[str, str], ...]) -> list[Variant]:
    out = [Variant(mid, adam_variant(replace(f, decay=decay))) for mid, f in _ADAM_IDS]
    out += [Variant(mid, adam_variant(AdamFlags(decay=d))) for mid, d in wrong_decays]
    return out


def _amsgrad() -> list[Variant]:
    out = [Variant(mid, ams_variant(flags, "raw")) for mid, flags in _ADAM_IDS]
    out.append(Variant("amsgrad_max_of_corrected", ams_variant(AdamFlags(), "corrected")))
    out.append(Variant("amsgrad_max_not_kept", ams_variant(AdamFlags(), "not_kept")))
    out.append(
        Variant("decoupled_instead_of_coupled", ams_variant(AdamFlags(decay="decoupled"), "raw"))
    )
    return out


VARIANTS: dict[str, list[Variant]] = {
    "ema": [Variant("ema_weights_swapped", _swapped)],
    "adam_first_moment": [Variant("ema_weights_swapped", _swapped)],
    "adam_second_moment": [
        Variant(
            "ema_weights_swapped", lambda v, grad, beta2=0.999: _swapped(v, grad * grad, beta2)
        ),
        Variant("second_moment_not_squared", _v_with("raw")),
        Variant("second_moment_not_squared", _v_with("abs")),
    ],
    "first_moment_trajectory": [Variant("ema_weights_swapped", _traj_swapped)],
    "decoupled_weight_decay": [Variant("decay_not_scaled_by_lr", _decay_no_lr)],
    "rmsprop_step": [
        Variant("eps_inside_sqrt", rmsprop_variant(eps_mode="inside")),
        Variant("ema_weights_swapped", rmsprop_variant(swapped=True)),
        Variant("second_moment_not_squared", rmsprop_variant(square="abs")),
        Variant("second_moment_not_squared", rmsprop_variant(square="raw")),
        Variant("decoupled_instead_of_coupled", rmsprop_variant(decay="decoupled")),
    ],
    "adam_step": _adam_family("coupled", (("decoupled_instead_of_coupled", "decoupled"),)),
    "adamw_step": _adam_family(
        "decoupled",
        (
            ("coupled_instead_of_decoupled", "coupled"),
            ("decay_not_scaled_by_lr", "no_lr"),
            ("decay_after_step", "after"),
        ),
    ),
    "amsgrad_step": _amsgrad(),
    "bias_correction": [
        Variant("no_bias_correction", bias_variant("none")),
        Variant("bias_correction_m_only", bias_variant("m_only")),
        Variant("bias_correction_off_by_one", bias_variant("off_by_one")),
    ],
    "adafactor_beta2": [
        Variant("bias_correction_off_by_one", _beta2_from_zero),
        Variant("ema_weights_swapped", _beta2_swapped),
    ],
    "adam_direction": [Variant("eps_inside_sqrt", _direction_inside)],
    "effective_lr": [Variant("eps_inside_sqrt", _effective_inside)],
    "adafactor_accumulators": [
        Variant("adafactor_rows_cols_swapped", _acc_swapped),
        Variant("ema_weights_swapped", _acc_weights),
        Variant("second_moment_not_squared", _acc_abs),
    ],
    "factored_second_moment": [Variant("adafactor_no_normaliser", _no_normaliser)],
    "adafactor_step": [
        Variant("adafactor_rows_cols_swapped", adafactor_variant(swapped=True)),
        Variant("adafactor_no_normaliser", adafactor_variant(normaliser=False)),
        Variant("adafactor_no_clipping", adafactor_variant(clip=False)),
        Variant("decay_not_scaled_by_lr", adafactor_variant(decay="no_lr")),
        Variant("decay_after_step", adafactor_variant(decay="after")),
    ],
    "lars_trust_ratio": [
        Variant("lars_denominator_decayed_norm", ratio_variant("lars_decayed")),
        Variant("trust_ratio_zero_on_zero_norm", ratio_variant("lars_zero")),
    ],
    "lars_step": [
        Variant("lars_denominator_decayed_norm", lars_variant(denominator="decayed")),
        Variant("trust_ratio_zero_on_zero_norm", lars_variant(zero=0.0)),
    ],
    "trust_ratio": [Variant("trust_ratio_zero_on_zero_norm", ratio_variant("zero"))],
    "lamb_step": [
        Variant("lamb_trust_before_decay", lamb_variant(trust="before_decay")),
        Variant("trust_ratio_zero_on_zero_norm", lamb_variant(zero=0.0)),
        Variant("no_bias_correction", lamb_variant(bias="none")),
        Variant("bias_correction_m_only", lamb_variant(bias="m_only")),
        Variant("eps_inside_sqrt", lamb_variant(eps_mode="inside")),
    ],
    "layerwise_trust_ratios": [
        Variant("trust_ratio_global_norm", ratio_variant("global")),
        Variant("trust_ratio_zero_on_zero_norm", ratio_variant("layer_zero")),
    ],
    "lamb_model_step": [
        Variant("trust_ratio_global_norm", model_variant(global_norm=True)),
        Variant("lamb_trust_before_decay", model_variant(trust="before_decay")),
        Variant("trust_ratio_zero_on_zero_norm", model_variant(zero=0.0)),
        Variant("no_bias_correction", model_variant(bias="none")),
    ],
}

#: Correct answers that differ from the reference in returned state (never diagnosed).
EQUIVALENT: dict[str, list[Callable[..., Any]]] = {
    "lars_step": [lars_variant(lr_in_buffer=True)],
}
