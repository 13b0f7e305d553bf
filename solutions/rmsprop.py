"""RMSProp (torch.optim.RMSprop with centered=False, momentum=0).

g     = grad + weight_decay * theta                 (coupled L2)
v_t   = alpha * v_{t-1} + (1 - alpha) * g**2        (no bias correction)
theta = theta - lr * g / (sqrt(v_t) + eps)
"""

from __future__ import annotations

import torch
from torch import Tensor

from solutions.decay import coupled_l2_grad
from solutions.moments import ema


def rmsprop_step(
    theta: Tensor,
    grad: Tensor,
    square_avg: Tensor,
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """One RMSProp update; returns (theta, square_avg)."""
    g = coupled_l2_grad(theta, grad, weight_decay)
    square_avg = ema(square_avg, g * g, alpha)
    return theta - lr * _normalised(g, square_avg, eps), square_avg


def _normalised(g: Tensor, square_avg: Tensor, eps: float) -> Tensor:
    """g / (sqrt(square_avg) + eps): the gradient divided by its running RMS."""
    return g / (torch.sqrt(square_avg) + eps)
