"""Adafactor with a factored second moment (torch.optim.Adafactor, parameters with ndim >= 2).

For G of shape (..., n, m), at 1-based step t:
    beta2_t = 1 - t**beta2_decay                                     (0 at t = 1)
    R_t = beta2_t * R + (1 - beta2_t) * mean(G**2, dim=-1)          shape (..., n, 1)
    C_t = beta2_t * C + (1 - beta2_t) * mean(G**2, dim=-2)          shape (..., 1, m)
    V_t = R_t * C_t / max(mean(R_t, dim=-2), eps1)                  shape (..., n, m)
    U_t = G / max(sqrt(V_t), eps1)
    alpha_t = max(eps2, RMS(theta)) * min(lr, 1 / sqrt(t))          (RMS before the decay)
    theta = (1 - lr * wd) * theta - alpha_t / max(1, RMS(U_t) / d) * U_t
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from solutions.decay import decoupled_weight_decay
from solutions.moments import ema


def rms(x: Tensor) -> Tensor:
    """Root mean square of the whole tensor, ||x|| / sqrt(numel(x)), as a 0-dim tensor."""
    return torch.linalg.vector_norm(x) / math.sqrt(x.numel())


def adafactor_beta2(t: int, beta2_decay: float = -0.8) -> float:
    """The decay rate used at step t: beta2_t = 1 - t**beta2_decay."""
    return 1.0 - float(t) ** beta2_decay


def adafactor_accumulators(
    row_var: Tensor, col_var: Tensor, grad: Tensor, beta2_t: float
) -> tuple[Tensor, Tensor]:
    """EMA of the row means (dim=-1) and column means (dim=-2) of grad**2."""
    g2 = grad * grad
    return (
        ema(row_var, g2.mean(dim=-1, keepdim=True), beta2_t),
        ema(col_var, g2.mean(dim=-2, keepdim=True), beta2_t),
    )


def factored_second_moment(row_var: Tensor, col_var: Tensor, eps1: float | None = None) -> Tensor:
    """V = R * C / max(mean(R, dim=-2), eps1): a rank-one estimate of the second moment."""
    if eps1 is None:
        eps1 = torch.finfo(row_var.dtype).eps
    normaliser = row_var.mean(dim=-2, keepdim=True).clamp(min=eps1)
    return row_var * col_var / normaliser


def adafactor_step(
    theta: Tensor,
    grad: Tensor,
    row_var: Tensor,
    col_var: Tensor,
    t: int,
    *,
    lr: float = 1e-2,
    beta2_decay: float = -0.8,
    eps1: float | None = None,
    eps2: float = 1e-3,
    d: float = 1.0,
    weight_decay: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """One Adafactor update of a matrix or batch of matrices; returns (theta, row_var, col_var)."""
    if theta.dim() < 2:
        raise ValueError(
            f"adafactor_step factors the last two dims; got a tensor of shape {tuple(theta.shape)}"
        )
    if eps1 is None:
        eps1 = torch.finfo(theta.dtype).eps
    row_var, col_var = adafactor_accumulators(
        row_var, col_var, grad, adafactor_beta2(t, beta2_decay)
    )
    var = factored_second_moment(row_var, col_var, eps1)
    update = grad * var.clamp(min=eps1 * eps1).rsqrt()
    alpha = rms(theta).clamp(min=eps2) * min(lr, 1.0 / math.sqrt(t))
    clip = (rms(update) / d).clamp(min=1.0)
    theta = decoupled_weight_decay(theta, lr, weight_decay) - (alpha / clip) * update
    return theta, row_var, col_var
