"""Trust ratios, LARS, LAMB and layerwise scaling.

trust ratio:  tau = ||theta|| / ||u||                          (1 when either norm is 0)
LARS (timm, always_adapt, no dampening/Nesterov/clipping):
    tau = c * ||theta|| / (||g|| + wd * ||theta|| + eps)       (1 when ||theta|| or ||g|| is 0)
    d = tau * (g + wd * theta);  b = momentum * b + d;  theta = theta - lr * b
LAMB (paper Alg. 2, phi(z) = z, no gradient pre-normalisation):
    r = m_hat / (sqrt(v_hat) + eps);  u = r + wd * theta;  theta -= lr * tau(theta, u) * u
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor

from solutions.adam import _adam_update, adam_step
from solutions.moments import adam_first_moment, adam_second_moment


def _ratio_or_one(num: Tensor, den: Tensor, *norms: Tensor) -> Tensor:
    """num / den where every given norm is positive, else 1 (the zero-norm fallback)."""
    ok = torch.stack([n > 0 for n in norms]).all()
    return torch.where(ok, num / den, torch.ones_like(num))


def trust_ratio(theta: Tensor, update: Tensor) -> Tensor:
    """||theta|| / ||update|| as a 0-dim tensor; 1.0 on a zero norm."""
    w_norm = torch.linalg.vector_norm(theta)
    u_norm = torch.linalg.vector_norm(update)
    return _ratio_or_one(w_norm, u_norm, w_norm, u_norm)


def lars_trust_ratio(
    theta: Tensor,
    grad: Tensor,
    *,
    trust_coefficient: float = 1e-3,
    weight_decay: float = 0.0,
    eps: float = 1e-8,
) -> Tensor:
    """c * ||theta|| / (||g|| + wd * ||theta|| + eps) as a 0-dim tensor; 1.0 on a zero norm."""
    w_norm = torch.linalg.vector_norm(theta)
    g_norm = torch.linalg.vector_norm(grad)
    num = trust_coefficient * w_norm
    den = g_norm + weight_decay * w_norm + eps
    return _ratio_or_one(num, den, w_norm, g_norm)


def lars_step(
    theta: Tensor,
    grad: Tensor,
    momentum_buffer: Tensor,
    *,
    lr: float = 1.0,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    trust_coefficient: float = 1e-3,
    eps: float = 1e-8,
) -> tuple[Tensor, Tensor]:
    """One LARS update; returns (theta, momentum_buffer)."""
    tau = lars_trust_ratio(
        theta, grad, trust_coefficient=trust_coefficient, weight_decay=weight_decay, eps=eps
    )
    d = tau * (grad + weight_decay * theta)
    buf = momentum * momentum_buffer + d
    return theta - lr * buf, buf


def lamb_step(
    theta: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    t: int,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-6,
    weight_decay: float = 0.01,
) -> tuple[Tensor, Tensor, Tensor]:
    """One LAMB update with the trust ratio always applied; returns (theta, m, v)."""
    m = adam_first_moment(m, grad, beta1)
    v = adam_second_moment(v, grad, beta2)
    u = _adam_update(m, v, t, beta1, beta2, eps) + weight_decay * theta
    return theta - lr * trust_ratio(theta, u) * u, m, v


def update_diagnostics(theta_before: Tensor, theta_after: Tensor, grad: Tensor) -> dict[str, float]:
    """Norms of a step: param_norm, grad_norm, update_norm and update_ratio = update/param.

    update_ratio is 0.0 when both norms are 0 and inf when only param_norm is 0.
    """
    param_norm = float(torch.linalg.vector_norm(theta_before))
    update_norm = float(torch.linalg.vector_norm(theta_after - theta_before))
    if param_norm > 0:
        ratio = update_norm / param_norm
    else:
        ratio = 0.0 if update_norm == 0 else float("inf")
    return {
        "param_norm": param_norm,
        "grad_norm": float(torch.linalg.vector_norm(grad)),
        "update_norm": update_norm,
        "update_ratio": ratio,
    }


def is_excluded(name: str, exclude: Iterable[str]) -> bool:
    """True when the parameter name contains any of the excluded substrings."""
    return any(part in name for part in exclude)


def _same_keys(**maps: Mapping[str, object]) -> list[str]:
    names = list(maps)
    keys = set(maps[names[0]])
    for other in names[1:]:
        if set(maps[other]) != keys:
            raise ValueError(
                f"{names[0]} and {other} must have the same keys; "
                f"got {sorted(keys)} and {sorted(maps[other])}"
            )
    return list(maps[names[0]])


def layerwise_trust_ratios(
    params: Mapping[str, Tensor],
    updates: Mapping[str, Tensor],
    *,
    exclude: tuple[str, ...] = ("bias", "norm"),
) -> dict[str, float]:
    """Per-tensor ||theta|| / ||u||; 1.0 for a zero norm or an excluded name."""
    return {
        name: 1.0 if is_excluded(name, exclude) else float(trust_ratio(params[name], updates[name]))
        for name in _same_keys(params=params, updates=updates)
    }


def lamb_model_step(
    params: Mapping[str, Tensor],
    grads: Mapping[str, Tensor],
    ms: Mapping[str, Tensor],
    vs: Mapping[str, Tensor],
    t: int,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-6,
    weight_decay: float = 0.01,
    exclude: tuple[str, ...] = ("bias", "norm"),
) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor]]:
    """lamb_step per named tensor; an excluded name gets a plain Adam step (no decay, no ratio)."""
    new_params, new_ms, new_vs = {}, {}, {}
    for name in _same_keys(params=params, grads=grads, ms=ms, vs=vs):
        step = adam_step if is_excluded(name, exclude) else lamb_step
        hp = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}
        if step is lamb_step:
            hp["weight_decay"] = weight_decay
        new_params[name], new_ms[name], new_vs[name] = step(
            params[name], grads[name], ms[name], vs[name], t, **hp
        )
    return new_params, new_ms, new_vs
