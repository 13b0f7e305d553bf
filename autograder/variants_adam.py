"""The Adam-family kernel with convention flags, for the wrong variants of `autograder.variants`.

g = grad + wd * theta                        (decay == "coupled")
m = beta1 * m + (1 - beta1) * g              (weights swapped when `swapped`)
v = beta2 * v + (1 - beta2) * s(g)           s(g) = g**2 | g ("raw") | |g| ("abs")
m_hat, v_hat = m / c1, v / c2                c = 1 - beta**t | 1 ("none") | 1 - beta**(t-1)
u = m_hat / (sqrt(v_hat) + eps)              | m_hat / sqrt(v_hat + eps)  ("inside")
                                             | (m / c1) / ((sqrt(v) + eps) / sqrt(c2))  ("hat")
theta = (1 - lr * wd) * theta - lr * u       (decay == "decoupled"; "no_lr": (1 - wd);
                                              "after": (theta - lr * u) * (1 - lr * wd))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass(frozen=True)
class AdamFlags:
    decay: str = "coupled"  # coupled | decoupled | no_lr | after
    bias: str = "full"  # full | none | m_only | off_by_one
    eps: str = "outside"  # outside | inside | hat
    swapped: bool = False
    square: str = "square"  # square | raw | abs


def _corrections(bias: str, t: int, beta1: float, beta2: float) -> tuple[float, float]:
    if bias == "none":
        return 1.0, 1.0
    if bias == "m_only":
        return 1.0 - beta1**t, 1.0
    if bias == "off_by_one":
        return 1.0 - beta1 ** (t - 1), 1.0 - beta2 ** (t - 1)
    return 1.0 - beta1**t, 1.0 - beta2**t


def bias_variant(bias: str) -> Callable[..., Any]:
    """bias_correction with the given wrong correction."""

    def bias_correction(
        m: Tensor, v: Tensor, t: int, beta1: float, beta2: float
    ) -> tuple[Tensor, Tensor]:
        c1, c2 = _corrections(bias, t, beta1, beta2)
        return m / c1, v / c2

    return bias_correction


def moments(
    flags: AdamFlags, g: Tensor, m: Tensor, v: Tensor, beta1: float, beta2: float
) -> tuple[Tensor, Tensor]:
    """The two EMAs with the flags' weights and second-moment feed."""
    fed = {"square": g * g, "raw": g, "abs": g.abs()}[flags.square]
    if flags.swapped:
        return (1 - beta1) * m + beta1 * g, (1 - beta2) * v + beta2 * fed
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * fed


def direction(
    flags: AdamFlags, m: Tensor, v: Tensor, t: int, beta1: float, beta2: float, eps: float
) -> Tensor:
    """The pre-lr direction u from raw moments, with the flags' correction and eps placement."""
    c1, c2 = _corrections(flags.bias, t, beta1, beta2)
    if flags.eps == "hat":
        return (m / c1) / ((torch.sqrt(v) + eps) / c2**0.5)
    if flags.eps == "inside":
        return (m / c1) / torch.sqrt(v / c2 + eps)
    return (m / c1) / (torch.sqrt(v / c2) + eps)


def apply_decay(decay: str, theta: Tensor, step: Tensor, lr: float, wd: float) -> Tensor:
    """theta after the update `step` (= lr * u) under the flags' decay convention."""
    if decay == "decoupled":
        return (1 - lr * wd) * theta - step
    if decay == "no_lr":
        return (1 - wd) * theta - step
    if decay == "after":
        return (theta - step) * (1 - lr * wd)
    return theta - step


def adam_variant(flags: AdamFlags) -> Callable[..., Any]:
    """adam_step / adamw_step with the given conventions (same signature as the contract)."""

    def step(
        theta: Tensor,
        grad: Tensor,
        m: Tensor,
        v: Tensor,
        t: int,
        *,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
    ) -> tuple[Tensor, Tensor, Tensor]:
        g = grad + weight_decay * theta if flags.decay == "coupled" else grad
        m, v = moments(flags, g, m, v, beta1, beta2)
        u = direction(flags, m, v, t, beta1, beta2, eps)
        return apply_decay(flags.decay, theta, lr * u, lr, weight_decay), m, v

    return step


def ams_variant(flags: AdamFlags, kept: str) -> Callable[..., Any]:
    """amsgrad_step with the given conventions; `kept` is how the running max is kept:
    raw (torch: max of raw v), corrected (max of v_hat), not_kept (max(v_prev, v))."""

    def step(
        theta: Tensor,
        grad: Tensor,
        m: Tensor,
        v: Tensor,
        v_max: Tensor,
        t: int,
        *,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        g = grad + weight_decay * theta if flags.decay == "coupled" else grad
        v_prev = v
        m, v = moments(flags, g, m, v, beta1, beta2)
        if kept == "corrected":
            c1, c2 = _corrections(flags.bias, t, beta1, beta2)
            v_max = torch.maximum(v_max, v / c2)
            u = (m / c1) / (torch.sqrt(v_max) + eps)
        else:
            v_max = torch.maximum(v_prev if kept == "not_kept" else v_max, v)
            u = direction(flags, m, v_max, t, beta1, beta2, eps)
        return apply_decay(flags.decay, theta, lr * u, lr, weight_decay), m, v, v_max

    return step
