"""Adam (coupled L2), AdamW (decoupled decay) and AMSGrad, as in torch.optim.

Adam:    g = grad + wd * theta;  m, v = moments(g);  m_hat, v_hat = bias_correction(m, v, t)
         theta = theta - lr * m_hat / (sqrt(v_hat) + eps)
AdamW:   theta' = (1 - lr * wd) * theta  (pre-update theta);  m, v = moments(grad)
         theta = theta' - lr * m_hat / (sqrt(v_hat) + eps)
AMSGrad: v_max = max(v_max, v) over the raw v, bias-corrected with the current t
         theta = theta - lr * m_hat / (sqrt(v_max / (1 - beta2**t)) + eps)
"""

from __future__ import annotations

import torch
from torch import Tensor

from solutions.decay import coupled_l2_grad, decoupled_weight_decay
from solutions.moments import (
    adam_direction,
    adam_first_moment,
    adam_second_moment,
    bias_correction,
)


def _adam_update(m: Tensor, v: Tensor, t: int, beta1: float, beta2: float, eps: float) -> Tensor:
    """The pre-lr Adam direction from raw moments at 1-based step t."""
    m_hat, v_hat = bias_correction(m, v, t, beta1, beta2)
    return adam_direction(m_hat, v_hat, eps)


def adam_step(
    theta: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    t: int,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """One Adam update with coupled L2; returns (theta, m, v)."""
    g = coupled_l2_grad(theta, grad, weight_decay)
    m = adam_first_moment(m, g, beta1)
    v = adam_second_moment(v, g, beta2)
    return theta - lr * _adam_update(m, v, t, beta1, beta2, eps), m, v


def adamw_step(
    theta: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    t: int,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[Tensor, Tensor, Tensor]:
    """One AdamW update (decay applied to the pre-update theta); returns (theta, m, v)."""
    m = adam_first_moment(m, grad, beta1)
    v = adam_second_moment(v, grad, beta2)
    decayed = decoupled_weight_decay(theta, lr, weight_decay)
    return decayed - lr * _adam_update(m, v, t, beta1, beta2, eps), m, v


def amsgrad_step(
    theta: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    v_max: Tensor,
    t: int,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One AMSGrad update (coupled L2); returns (theta, m, v, v_max)."""
    g = coupled_l2_grad(theta, grad, weight_decay)
    m = adam_first_moment(m, g, beta1)
    v = adam_second_moment(v, g, beta2)
    v_max = torch.maximum(v_max, v)
    return theta - lr * _adam_update(m, v_max, t, beta1, beta2, eps), m, v, v_max
