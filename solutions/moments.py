"""Exponential moving averages, Adam's moments, bias correction and the Adam direction.

    ema:                 avg' = beta * avg + (1 - beta) * x
    first moment:        m_t  = beta1 * m_{t-1} + (1 - beta1) * g
    second moment:       v_t  = beta2 * v_{t-1} + (1 - beta2) * g**2
    bias correction:     m_hat = m_t / (1 - beta1**t),  v_hat = v_t / (1 - beta2**t)
    direction:           m_hat / (sqrt(v_hat) + eps)    (or m_hat / sqrt(v_hat + eps))
    effective step size: lr / (sqrt(v_hat) + eps)       (never above lr / eps)

Every function returns new tensors of the input's dtype and device; Python scalars are combined
with tensors at the tensor's dtype, so float32 stays float32.
"""

from __future__ import annotations

import torch
from torch import Tensor


def ema(avg: Tensor, x: Tensor, beta: float) -> Tensor:
    """avg' = beta * avg + (1 - beta) * x."""
    return beta * avg + (1.0 - beta) * x


def adam_first_moment(m: Tensor, grad: Tensor, beta1: float = 0.9) -> Tensor:
    """m_t = beta1 * m_{t-1} + (1 - beta1) * g."""
    return ema(m, grad, beta1)


def adam_second_moment(v: Tensor, grad: Tensor, beta2: float = 0.999) -> Tensor:
    """v_t = beta2 * v_{t-1} + (1 - beta2) * g**2."""
    return ema(v, grad * grad, beta2)


def first_moment_trajectory(grads: Tensor, beta1: float = 0.9) -> Tensor:
    """Stack m_1..m_T for grads of shape (T, *shape), starting from m_0 = 0.

    Unrolled, m_t = (1 - beta1) * sum_{s<=t} beta1**(t-s) * g_s, a convex combination of
    g_1..g_t and 0, hence |m_t| <= max_s |g_s|.
    """
    m = torch.zeros_like(grads[0])
    moments = []
    for g in grads:
        m = adam_first_moment(m, g, beta1)
        moments.append(m)
    return torch.stack(moments)


def bias_correction(
    m: Tensor, v: Tensor, t: int, beta1: float = 0.9, beta2: float = 0.999
) -> tuple[Tensor, Tensor]:
    """m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t); t is 1-based."""
    return m / (1.0 - beta1**t), v / (1.0 - beta2**t)


def adam_direction(
    m_hat: Tensor, v_hat: Tensor, eps: float = 1e-8, *, eps_inside_sqrt: bool = False
) -> Tensor:
    """u = m_hat / (sqrt(v_hat) + eps), or m_hat / sqrt(v_hat + eps) when eps_inside_sqrt."""
    if eps_inside_sqrt:
        return m_hat / torch.sqrt(v_hat + eps)
    return m_hat / (torch.sqrt(v_hat) + eps)


def effective_lr(lr: float, v_hat: Tensor, eps: float = 1e-8) -> Tensor:
    """Per-coordinate step size lr / (sqrt(v_hat) + eps); at most lr / eps."""
    return lr / (torch.sqrt(v_hat) + eps)
