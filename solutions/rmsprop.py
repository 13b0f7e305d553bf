"""RMSProp (torch.optim.RMSprop with centered=False, momentum=0).

g     = grad + weight_decay * theta                 (coupled L2)
v_t   = alpha * v_{t-1} + (1 - alpha) * g**2        (no bias correction)
theta = theta - lr * g / (sqrt(v_t) + eps)
"""

from __future__ import annotations

from torch import Tensor

from solutions.decay import coupled_l2_grad
from solutions.moments import adam_direction, adam_second_moment


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
    square_avg = adam_second_moment(square_avg, g, alpha)  # the same EMA of g**2 as Adam's v
    return theta - lr * adam_direction(g, square_avg, eps), square_avg
