"""Weight decay, coupled and decoupled.

coupled L2 (Adam, RMSProp, SGD):  g' = g + weight_decay * theta      (folded into the gradient)
decoupled (AdamW, Adafactor):     theta' = (1 - lr * weight_decay) * theta   (applied to theta)
"""

from __future__ import annotations

from torch import Tensor


def coupled_l2_grad(theta: Tensor, grad: Tensor, weight_decay: float) -> Tensor:
    """g' = g + weight_decay * theta: the gradient of loss + (weight_decay / 2) * ||theta||^2."""
    return grad + weight_decay * theta


def decoupled_weight_decay(theta: Tensor, lr: float, weight_decay: float) -> Tensor:
    """theta' = (1 - lr * weight_decay) * theta."""
    return (1.0 - lr * weight_decay) * theta
