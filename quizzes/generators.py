"""Answer generators for GENERATED_NUMERIC questions.

A generated question names one generator and gives, per parameter, the values it may take; the
question's `instantiate(seed)` draws one value per parameter and calls `compute`. Each generator is
the plain math of one quantity of the lesson, written once here (scalars only: the questions are
meant to be worked by hand or in a few lines of Python).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Generator:
    """A named quantity: the parameters it needs and the function computing it."""

    name: str
    params: tuple[str, ...]
    compute_fn: Callable[..., float]
    doc: str

    def compute(self, values: Mapping[str, Any]) -> float:
        return float(self.compute_fn(**{p: values[p] for p in self.params}))


def _ema(beta: float, xs: Sequence[float], start: float = 0.0) -> float:
    avg = start
    for x in xs:
        avg = beta * avg + (1 - beta) * x
    return avg


def _m_hat(beta1: float, grads: Sequence[float]) -> float:
    """m_t = beta1 m_{t-1} + (1-beta1) g_t from m_0 = 0;  m_hat_T = m_T / (1 - beta1^T)."""
    return _ema(beta1, grads) / (1 - beta1 ** len(grads))


def _v_hat(beta2: float, grads: Sequence[float]) -> float:
    """v_t = beta2 v_{t-1} + (1-beta2) g_t^2 from v_0 = 0;  v_hat_T = v_T / (1 - beta2^T)."""
    return _ema(beta2, [g * g for g in grads]) / (1 - beta2 ** len(grads))


def _ema_final(beta: float, avg0: float, xs: Sequence[float]) -> float:
    """avg_t = beta avg_{t-1} + (1-beta) x_t, from avg_0, after all xs."""
    return _ema(beta, xs, avg0)


def _rmsprop_first_step(lr: float, alpha: float, eps: float, g: float) -> float:
    """|Delta theta_1| = lr |g| / (sqrt((1-alpha) g^2) + eps): RMSProp has no bias correction."""
    return lr * abs(g) / (math.sqrt((1 - alpha) * g * g) + eps)


def _adamw_theta(theta: float, g: float, lr: float, weight_decay: float, eps: float) -> float:
    """AdamW at t=1 on a scalar: theta (1 - lr wd) - lr g / (|g| + eps)."""
    return theta * (1 - lr * weight_decay) - lr * g / (abs(g) + eps)


def _adam_no_correction_ratio(beta1: float, beta2: float) -> float:
    """First-step size without bias correction over the corrected one: (1-b1)/sqrt(1-b2)."""
    return (1 - beta1) / math.sqrt(1 - beta2)


def _adafactor_beta2(t: int, beta2_decay: float) -> float:
    """beta2_hat_t = 1 - t^beta2_decay."""
    return 1 - t**beta2_decay


def _factored_vhat(row_var: Sequence[float], col_var: Sequence[float], i: int, j: int) -> float:
    """V_hat[i, j] = R[i] C[j] / mean(R), rows and columns numbered from 1."""
    return row_var[i - 1] * col_var[j - 1] / (sum(row_var) / len(row_var))


def _lars_trust(
    trust_coefficient: float, theta_norm: float, grad_norm: float, weight_decay: float
) -> float:
    """tau = trust_coefficient ||theta|| / (||g|| + wd ||theta||)  (eps omitted)."""
    return trust_coefficient * theta_norm / (grad_norm + weight_decay * theta_norm)


def _effective_lr(lr: float, v_hat: float, eps: float) -> float:
    """lr / (sqrt(v_hat) + eps): the per-coordinate step size of Adam."""
    return lr / (math.sqrt(v_hat) + eps)


def _amsgrad_vmax(beta2: float, grads: Sequence[float]) -> float:
    """v_max_T = max_t v_t over the raw (uncorrected) second moments, v_0 = 0."""
    v, v_max = 0.0, 0.0
    for g in grads:
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)
    return v_max


def _lamb_update_norm(lr: float, theta_norm: float) -> float:
    """||Delta theta|| = lr tau ||u|| = lr ||theta|| whenever the trust ratio is applied."""
    return lr * theta_norm


def _update_ratio(theta_norm: float, update_norm: float) -> float:
    """update-to-weight ratio ||Delta theta|| / ||theta||."""
    return update_norm / theta_norm


def _eps_hat_inflation(beta2: float, t: int) -> float:
    """A fixed eps_hat before the correction acts like eps = eps_hat / sqrt(1 - beta2^t)."""
    return 1 / math.sqrt(1 - beta2**t)


def _norm(xs: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in xs))


def _layer_trust(theta: Sequence[float], update: Sequence[float]) -> float:
    """||theta|| / ||u||, 1 when either norm is zero."""
    a, b = _norm(theta), _norm(update)
    return a / b if a > 0 and b > 0 else 1.0


_ALL = (
    Generator("ema_final", ("beta", "avg0", "xs"), _ema_final, _ema_final.__doc__ or ""),
    Generator("m_hat", ("beta1", "grads"), _m_hat, _m_hat.__doc__ or ""),
    Generator("v_hat", ("beta2", "grads"), _v_hat, _v_hat.__doc__ or ""),
    Generator(
        "rmsprop_first_step",
        ("lr", "alpha", "eps", "g"),
        _rmsprop_first_step,
        _rmsprop_first_step.__doc__ or "",
    ),
    Generator(
        "adamw_theta",
        ("theta", "g", "lr", "weight_decay", "eps"),
        _adamw_theta,
        _adamw_theta.__doc__ or "",
    ),
    Generator(
        "adam_no_correction_ratio",
        ("beta1", "beta2"),
        _adam_no_correction_ratio,
        _adam_no_correction_ratio.__doc__ or "",
    ),
    Generator(
        "adafactor_beta2", ("t", "beta2_decay"), _adafactor_beta2, _adafactor_beta2.__doc__ or ""
    ),
    Generator(
        "factored_vhat",
        ("row_var", "col_var", "i", "j"),
        _factored_vhat,
        _factored_vhat.__doc__ or "",
    ),
    Generator(
        "lars_trust",
        ("trust_coefficient", "theta_norm", "grad_norm", "weight_decay"),
        _lars_trust,
        _lars_trust.__doc__ or "",
    ),
    Generator("effective_lr", ("lr", "v_hat", "eps"), _effective_lr, _effective_lr.__doc__ or ""),
    Generator("amsgrad_vmax", ("beta2", "grads"), _amsgrad_vmax, _amsgrad_vmax.__doc__ or ""),
    Generator(
        "lamb_update_norm", ("lr", "theta_norm"), _lamb_update_norm, _lamb_update_norm.__doc__ or ""
    ),
    Generator(
        "update_ratio", ("theta_norm", "update_norm"), _update_ratio, _update_ratio.__doc__ or ""
    ),
    Generator(
        "eps_hat_inflation", ("beta2", "t"), _eps_hat_inflation, _eps_hat_inflation.__doc__ or ""
    ),
    Generator("layer_trust", ("theta", "update"), _layer_trust, _layer_trust.__doc__ or ""),
)

#: generator name -> Generator.
GENERATORS: dict[str, Generator] = {g.name: g for g in _ALL}


def format_value(value: Any) -> str:
    """How a parameter value appears in a stem: 0.9 -> '0.9', [1.0, -2.0] -> '[1, -2]'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
