"""Known wrong variants of the graded functions, each named by the misconception it reveals.

Every variant is built from the reference solutions (see `compose.with_pieces`): the reference
with one piece replaced by the mistaken one (bias correction left out, eps inside the square root,
an EMA's weights swapped, a decay not scaled by lr, a trust ratio of 0 on a zero norm, ...), or
the reference called the mistaken way (the step counter t one off, AdamW's decay applied after
the step, Adam's decay decoupled). No variant restates the reference's math, and every one is
called through `course.cases.trusted.with_contract_defaults` with every argument given, so the
contract's defaults are the only ones.

Variants are trusted code: they run only in the parent, on the same inputs as the reference.
`EQUIVALENT` holds forms that differ from the reference in returned state but are correct
answers (lr folded into LARS's momentum buffer): a student matching one of them passes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor

import solutions as ref
from alr.misconceptions import Misconception as M
from autograder.diagnosis.compose import with_pieces
from course.cases.expand import CaseInstance
from course.cases.program import CallOutcome
from course.cases.trusted import run_trusted
from solutions.adam import _adam_update
from solutions.rmsprop import _normalised
from solutions.trust import _ratio_or_one, is_excluded

_norm = torch.linalg.vector_norm


@dataclass(frozen=True)
class Variant:
    misconception: M
    function: Callable[..., Any]


# ---- mistaken pieces ----


def _swapped(avg: Tensor, x: Tensor, beta: float) -> Tensor:
    """An EMA keeping 1 - beta of the old value."""
    return ref.ema(x, avg, beta)


def _v_raw(v: Tensor, grad: Tensor, beta2: float = 0.999) -> Tensor:
    """A second moment fed with g instead of g**2."""
    return ref.ema(v, grad, beta2)


def _v_abs(v: Tensor, grad: Tensor, beta2: float = 0.999) -> Tensor:
    """A second moment fed with |g| instead of g**2."""
    return ref.ema(v, grad.abs(), beta2)


def _uncorrected(m: Tensor, v: Tensor, t: int, beta1: float = 0.9, beta2: float = 0.999) -> Any:
    return ref.bias_correction(m, v, t, 0.0, 0.0)


def _m_only(m: Tensor, v: Tensor, t: int, beta1: float = 0.9, beta2: float = 0.999) -> Any:
    return ref.bias_correction(m, v, t, beta1, 0.0)


def _shifted(shift: int) -> Callable[..., Any]:
    """bias_correction with the step counter one off (beta**(t-1), or t counted twice)."""

    def bias_correction(
        m: Tensor, v: Tensor, t: int, beta1: float = 0.9, beta2: float = 0.999
    ) -> Any:
        return ref.bias_correction(m, v, t + shift, beta1, beta2)

    return bias_correction


def _eps_hat(m: Tensor, v: Tensor, t: int, beta1: float, beta2: float, eps: float) -> Tensor:
    """eps added to sqrt(v) before v is bias-corrected: eps / sqrt(1 - beta2**t) after it."""
    return _adam_update(m, v, t, beta1, beta2, eps / math.sqrt(1.0 - beta2**t))


_INSIDE = partial(ref.adam_direction, eps_inside_sqrt=True)


def _ratio_or_zero(num: Tensor, den: Tensor, *norms: Tensor) -> Tensor:
    """The trust-ratio fallback giving 0 on a zero norm."""
    return _ratio_or_one(num, den, *norms) * torch.stack([n > 0 for n in norms]).all()


def _rms_inside(g: Tensor, square_avg: Tensor, eps: float) -> Tensor:
    """RMSProp's normalisation with eps inside the square root."""
    return _INSIDE(g, square_avg, eps)


def _ema_of_root(avg: Tensor, x: Tensor, beta: float) -> Tensor:
    """An EMA of sqrt(x): fed with g**2, the average of |g|."""
    return ref.ema(avg, x.sqrt(), beta)


def _decay_no_lr(theta: Tensor, lr: float, weight_decay: float) -> Tensor:
    return ref.decoupled_weight_decay(theta, 1.0, weight_decay)


def _accumulators_swapped(row_var: Tensor, col_var: Tensor, grad: Tensor, beta2_t: float) -> Any:
    """Row factor fed with the column means (dim=-2) and the column factor with the row means;
    the shapes broadcast, so nothing raises."""
    g2 = grad * grad
    return (
        ref.ema(row_var, g2.mean(dim=-2, keepdim=True), beta2_t),
        ref.ema(col_var, g2.mean(dim=-1, keepdim=True), beta2_t),
    )


def _unnormalised(row_var: Tensor, col_var: Tensor, eps1: float | None = None) -> Tensor:
    return row_var * col_var


def _lars_ratio_decayed(
    theta: Tensor, grad: Tensor, *, trust_coefficient: float, weight_decay: float, eps: float
) -> Tensor:
    """LARS's ratio with ||g + weight_decay * theta|| in the denominator."""
    w, g = _norm(theta), _norm(grad)
    den = _norm(grad + weight_decay * theta) + eps
    return _ratio_or_one(trust_coefficient * w, den, w, g)


def _lamb_trust_before_decay(
    theta: Tensor, grad: Tensor, m: Tensor, v: Tensor, t: int, **kw: float
) -> Any:
    """LAMB whose trust ratio uses ||r|| instead of ||r + weight_decay * theta||."""
    m = ref.adam_first_moment(m, grad, kw["beta1"])
    v = ref.adam_second_moment(v, grad, kw["beta2"])
    r = _adam_update(m, v, t, kw["beta1"], kw["beta2"], kw["eps"])
    u = r + kw["weight_decay"] * theta
    return theta - kw["lr"] * ref.trust_ratio(theta, r) * u, m, v


# ---- mistaken calls and compositions ----


def _t_shifted(step: Callable[..., Any], shift: int) -> Callable[..., Any]:
    """A rule called with its step counter (its last positional argument) one off."""

    def call(*args: Any, **kw: Any) -> Any:
        return step(*args[:-1], args[-1] + shift, **kw)

    return call


def _decay_after(step: Callable[..., Any]) -> Callable[..., Any]:
    """A decoupled-decay step whose decay shrinks the already-updated theta."""

    def call(theta: Tensor, *args: Any, lr: float, weight_decay: float, **kw: Any) -> Any:
        out = step(theta, *args, lr=lr, weight_decay=0.0, **kw)
        return (ref.decoupled_weight_decay(out[0], lr, weight_decay), *out[1:])

    return call


def _decoupled(step: Callable[..., Any]) -> Callable[..., Any]:
    """A coupled-L2 step whose L2 is applied as a decay of the pre-update theta instead."""

    def call(theta: Tensor, *args: Any, lr: float, weight_decay: float, **kw: Any) -> Any:
        out = step(theta, *args, lr=lr, weight_decay=0.0, **kw)
        return (out[0] - lr * weight_decay * theta, *out[1:])

    return call


def _no_clipping(*args: Any, d: float, **kw: Any) -> Any:
    """Adafactor without the update clip max(1, RMS(U) / d): the clip with d = inf."""
    return ref.adafactor_step(*args, d=math.inf, **kw)


def _rmsprop_raw(
    theta: Tensor, grad: Tensor, square_avg: Tensor, *, lr: float, weight_decay: float, **kw: float
) -> Any:
    """RMSProp whose average is fed with g instead of g**2."""
    g = ref.coupled_l2_grad(theta, grad, weight_decay)
    square_avg = ref.ema(square_avg, g, kw["alpha"])
    return theta - lr * _normalised(g, square_avg, kw["eps"]), square_avg


def _ams_max_of_corrected(
    theta: Tensor, grad: Tensor, m: Tensor, v: Tensor, v_max: Tensor, t: int, **kw: float
) -> Any:
    """AMSGrad keeping the maximum of the bias-corrected v_hat."""
    g = ref.coupled_l2_grad(theta, grad, kw["weight_decay"])
    m = ref.adam_first_moment(m, g, kw["beta1"])
    v = ref.adam_second_moment(v, g, kw["beta2"])
    m_hat, v_hat = ref.bias_correction(m, v, t, kw["beta1"], kw["beta2"])
    v_max = torch.maximum(v_max, v_hat)
    return theta - kw["lr"] * ref.adam_direction(m_hat, v_max, kw["eps"]), m, v, v_max


def _ams_max_not_kept(
    theta: Tensor, grad: Tensor, m: Tensor, v: Tensor, v_max: Tensor, t: int, **kw: float
) -> Any:
    """AMSGrad comparing only the previous and the current v (the maximum not carried)."""
    return ref.amsgrad_step(theta, grad, m, v, v, t, **kw)


def _global_ratios(
    params: Mapping[str, Tensor], updates: Mapping[str, Tensor], *, exclude: tuple[str, ...]
) -> dict[str, float]:
    """One trust ratio from the norms of all (not excluded) tensors pooled."""
    kept = [n for n in params if not is_excluded(n, exclude)]
    pooled = 1.0
    if kept:
        norms = [torch.stack([_norm(x[n]) for n in kept]) for x in (params, updates)]
        pooled = float(ref.trust_ratio(*norms))
    return {n: pooled if n in kept else 1.0 for n in params}


def _lamb_model_global(
    params: Mapping[str, Tensor],
    grads: Mapping[str, Tensor],
    ms: Mapping[str, Tensor],
    vs: Mapping[str, Tensor],
    t: int,
    *,
    lr: float,
    exclude: tuple[str, ...],
    **kw: float,
) -> Any:
    """LAMB over a model with one trust ratio from the pooled norms of every adapted tensor."""
    new, new_ms, new_vs = ref.lamb_model_step(
        params, grads, ms, vs, t, lr=lr, exclude=exclude, **kw
    )
    kept = [n for n in params if not is_excluded(n, exclude)]
    us = {
        n: _adam_update(new_ms[n], new_vs[n], t, kw["beta1"], kw["beta2"], kw["eps"])
        + kw["weight_decay"] * params[n]
        for n in kept
    }
    ratios = _global_ratios({n: params[n] for n in kept}, us, exclude=())
    new = {n: params[n] - lr * ratios[n] * us[n] if n in kept else new[n] for n in params}
    return new, new_ms, new_vs


def _lars_lr_in_buffer(
    theta: Tensor, grad: Tensor, momentum_buffer: Tensor, *, lr: float, **kw: float
) -> Any:
    """LARS keeping lr * d in the buffer (b = momentum * b + lr * d; theta -= b): the same
    parameters as the reference, whose buffer is this one divided by lr."""
    stepped, buffer = ref.lars_step(theta, grad, momentum_buffer / lr, lr=lr, **kw)
    return stepped, lr * buffer


# ---- the registry ----


def _adam_pieces(step: Callable[..., Any]) -> list[Variant]:
    """The mistakes of the Adam family's shared pieces, in `step` (where t enters only the bias
    correction, so a step counter one off is `bias_correction_off_by_one`)."""
    return [
        Variant(M.NO_BIAS_CORRECTION, with_pieces(step, bias_correction=_uncorrected)),
        Variant(M.BIAS_CORRECTION_M_ONLY, with_pieces(step, bias_correction=_m_only)),
        Variant(M.BIAS_CORRECTION_OFF_BY_ONE, with_pieces(step, bias_correction=_shifted(-1))),
        Variant(M.BIAS_CORRECTION_OFF_BY_ONE, with_pieces(step, bias_correction=_shifted(1))),
        Variant(M.EPS_INSIDE_SQRT, with_pieces(step, adam_direction=_INSIDE)),
        Variant(M.EPS_HAT_FORM, with_pieces(step, _adam_update=_eps_hat)),
        Variant(M.EMA_WEIGHTS_SWAPPED, with_pieces(step, ema=_swapped)),
        Variant(M.SECOND_MOMENT_NOT_SQUARED, with_pieces(step, adam_second_moment=_v_abs)),
        Variant(M.SECOND_MOMENT_NOT_SQUARED, with_pieces(step, adam_second_moment=_v_raw)),
    ]


def _step_counter(step: Callable[..., Any]) -> list[Variant]:
    """t one off where it is more than the bias correction's exponent (Adafactor's schedule)."""
    return [Variant(M.STEP_OFF_BY_ONE, _t_shifted(step, shift)) for shift in (-1, 1)]


def _zero_ratio(fn: Callable[..., Any]) -> Variant:
    return Variant(M.TRUST_RATIO_ZERO_ON_ZERO_NORM, with_pieces(fn, _ratio_or_one=_ratio_or_zero))


def _lamb(step: Callable[..., Any], before_decay: Callable[..., Any]) -> list[Variant]:
    return [
        Variant(M.LAMB_TRUST_BEFORE_DECAY, before_decay),
        _zero_ratio(step),
        Variant(M.NO_BIAS_CORRECTION, with_pieces(step, bias_correction=_uncorrected)),
        Variant(M.BIAS_CORRECTION_M_ONLY, with_pieces(step, bias_correction=_m_only)),
        Variant(M.EPS_INSIDE_SQRT, with_pieces(step, adam_direction=_INSIDE)),
    ]


VARIANTS: dict[str, list[Variant]] = {
    "ema": [Variant(M.EMA_WEIGHTS_SWAPPED, _swapped)],
    "coupled_l2_grad": [],
    "adam_first_moment": [
        Variant(M.EMA_WEIGHTS_SWAPPED, with_pieces(ref.adam_first_moment, ema=_swapped))
    ],
    "adam_second_moment": [
        Variant(M.EMA_WEIGHTS_SWAPPED, with_pieces(ref.adam_second_moment, ema=_swapped)),
        Variant(M.SECOND_MOMENT_NOT_SQUARED, _v_raw),
        Variant(M.SECOND_MOMENT_NOT_SQUARED, _v_abs),
    ],
    "first_moment_trajectory": [
        Variant(M.EMA_WEIGHTS_SWAPPED, with_pieces(ref.first_moment_trajectory, ema=_swapped))
    ],
    "decoupled_weight_decay": [Variant(M.DECAY_NOT_SCALED_BY_LR, _decay_no_lr)],
    "rmsprop_step": [
        Variant(M.EPS_INSIDE_SQRT, with_pieces(ref.rmsprop_step, _normalised=_rms_inside)),
        Variant(M.EMA_WEIGHTS_SWAPPED, with_pieces(ref.rmsprop_step, ema=_swapped)),
        Variant(M.SECOND_MOMENT_NOT_SQUARED, with_pieces(ref.rmsprop_step, ema=_ema_of_root)),
        Variant(M.SECOND_MOMENT_NOT_SQUARED, _rmsprop_raw),
        Variant(M.DECOUPLED_INSTEAD_OF_COUPLED, _decoupled(ref.rmsprop_step)),
    ],
    "adam_step": [
        *_adam_pieces(ref.adam_step),
        Variant(M.DECOUPLED_INSTEAD_OF_COUPLED, _decoupled(ref.adam_step)),
    ],
    "adamw_step": [
        *_adam_pieces(ref.adamw_step),
        Variant(M.COUPLED_INSTEAD_OF_DECOUPLED, ref.adam_step),
        Variant(
            M.DECAY_NOT_SCALED_BY_LR,
            with_pieces(ref.adamw_step, decoupled_weight_decay=_decay_no_lr),
        ),
        Variant(M.DECAY_AFTER_STEP, _decay_after(ref.adamw_step)),
    ],
    "adafactor_accumulators": [
        Variant(M.ADAFACTOR_ROWS_COLS_SWAPPED, _accumulators_swapped),
        Variant(
            M.EMA_WEIGHTS_SWAPPED,
            lambda row_var, col_var, grad, beta2_t: ref.adafactor_accumulators(
                row_var, col_var, grad, 1.0 - beta2_t
            ),
        ),
        Variant(
            M.SECOND_MOMENT_NOT_SQUARED,
            lambda row_var, col_var, grad, beta2_t: ref.adafactor_accumulators(
                row_var, col_var, grad.abs().sqrt(), beta2_t
            ),
        ),
    ],
    "factored_second_moment": [Variant(M.ADAFACTOR_NO_NORMALISER, _unnormalised)],
    "adafactor_step": [
        Variant(
            M.ADAFACTOR_ROWS_COLS_SWAPPED,
            with_pieces(ref.adafactor_step, adafactor_accumulators=_accumulators_swapped),
        ),
        Variant(
            M.ADAFACTOR_NO_NORMALISER,
            with_pieces(ref.adafactor_step, factored_second_moment=_unnormalised),
        ),
        Variant(M.ADAFACTOR_NO_CLIPPING, _no_clipping),
        Variant(
            M.DECAY_NOT_SCALED_BY_LR,
            with_pieces(ref.adafactor_step, decoupled_weight_decay=_decay_no_lr),
        ),
        Variant(M.DECAY_AFTER_STEP, _decay_after(ref.adafactor_step)),
        *_step_counter(ref.adafactor_step),
    ],
    "lars_trust_ratio": [
        Variant(M.LARS_DENOMINATOR_DECAYED_NORM, _lars_ratio_decayed),
        _zero_ratio(ref.lars_trust_ratio),
    ],
    "lars_step": [
        Variant(
            M.LARS_DENOMINATOR_DECAYED_NORM,
            with_pieces(ref.lars_step, lars_trust_ratio=_lars_ratio_decayed),
        ),
        _zero_ratio(ref.lars_step),
    ],
    "bias_correction": [
        Variant(M.NO_BIAS_CORRECTION, _uncorrected),
        Variant(M.BIAS_CORRECTION_M_ONLY, _m_only),
        Variant(M.BIAS_CORRECTION_OFF_BY_ONE, _shifted(-1)),
        Variant(M.BIAS_CORRECTION_OFF_BY_ONE, _shifted(1)),
    ],
    "adafactor_beta2": [
        Variant(M.STEP_OFF_BY_ONE, _t_shifted(ref.adafactor_beta2, -1)),
        Variant(M.STEP_OFF_BY_ONE, _t_shifted(ref.adafactor_beta2, 1)),
        Variant(
            M.EMA_WEIGHTS_SWAPPED,
            lambda t, beta2_decay: 1.0 - ref.adafactor_beta2(t, beta2_decay),
        ),
    ],
    "adam_direction": [
        Variant(M.EPS_INSIDE_SQRT, lambda m_hat, v_hat, eps, **_: _INSIDE(m_hat, v_hat, eps))
    ],
    "effective_lr": [
        Variant(
            M.EPS_INSIDE_SQRT,
            lambda lr, v_hat, eps: lr * _INSIDE(torch.ones_like(v_hat), v_hat, eps),
        )
    ],
    "amsgrad_step": [
        *_adam_pieces(ref.amsgrad_step),
        Variant(M.AMSGRAD_MAX_OF_CORRECTED, _ams_max_of_corrected),
        Variant(M.AMSGRAD_MAX_NOT_KEPT, _ams_max_not_kept),
        Variant(M.DECOUPLED_INSTEAD_OF_COUPLED, _decoupled(ref.amsgrad_step)),
    ],
    "lamb_step": _lamb(ref.lamb_step, _lamb_trust_before_decay),
    "trust_ratio": [_zero_ratio(ref.trust_ratio)],
    "update_diagnostics": [],
    "layerwise_trust_ratios": [
        Variant(M.TRUST_RATIO_GLOBAL_NORM, _global_ratios),
        _zero_ratio(ref.layerwise_trust_ratios),
    ],
    "lamb_model_step": [
        Variant(M.TRUST_RATIO_GLOBAL_NORM, _lamb_model_global),
        *_lamb(
            ref.lamb_model_step,
            with_pieces(ref.lamb_model_step, lamb_step=_lamb_trust_before_decay),
        ),
    ],
}

#: Correct answers that differ from the reference in returned state (never diagnosed).
EQUIVALENT: dict[str, list[Callable[..., Any]]] = {"lars_step": [_lars_lr_in_buffer]}


class VariantOutcomes:
    """The trusted outcomes of the wrong variants of a batch's cases, computed once each: the
    same mistakes recur across a batch. Shared by the batch's grading threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[tuple[str, int], list[CallOutcome]] = {}

    def get(self, case: CaseInstance, index: int) -> list[CallOutcome]:
        """The outcome of variant `index` of the case's function on the case's inputs."""
        key = (case.case_id, index)
        with self._lock:
            found = self._outcomes.get(key)
        if found is None:
            found = run_trusted(case, VARIANTS[case.function][index].function)
            with self._lock:
                found = self._outcomes.setdefault(key, found)
        return found
