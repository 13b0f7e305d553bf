"""Wrong variants of RMSProp, Adafactor, the trust ratios, LARS and LAMB (see
`autograder.variants`). Each factory returns a function with the contract's signature whose math
differs from the reference by exactly the named mistake; everything else is the reference's own
pieces from `solutions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from autograder.variants_adam import AdamFlags, direction, moments
from solutions.adafactor import adafactor_beta2, rms
from solutions.trust import is_excluded, trust_ratio

_norm = torch.linalg.vector_norm


def rmsprop_variant(
    *,
    eps_mode: str = "outside",
    swapped: bool = False,
    square: str = "square",
    decay: str = "coupled",
) -> Callable[..., Any]:
    """rmsprop_step: v = alpha v + (1 - alpha) g**2; theta -= lr g / (sqrt(v) + eps)."""
    flags = AdamFlags(swapped=swapped, square=square)

    def rmsprop_step(
        theta: Tensor,
        grad: Tensor,
        square_avg: Tensor,
        *,
        lr: float,
        alpha: float,
        eps: float,
        weight_decay: float,
    ) -> tuple[Tensor, Tensor]:
        g = grad + weight_decay * theta if decay == "coupled" else grad
        _, v = moments(flags, g, g, square_avg, 0.0, alpha)
        den = torch.sqrt(v + eps) if eps_mode == "inside" else torch.sqrt(v) + eps
        base = (1 - lr * weight_decay) * theta if decay == "decoupled" else theta
        return base - lr * g / den, v

    return rmsprop_step


def adafactor_variant(
    *, swapped: bool = False, normaliser: bool = True, clip: bool = True, decay: str = "before"
) -> Callable[..., Any]:
    """adafactor_step with one of: reductions swapped, no normaliser, no clipping, decay not
    scaled by lr ("no_lr") or applied after the update ("after")."""

    def adafactor_step(
        theta: Tensor,
        grad: Tensor,
        row_var: Tensor,
        col_var: Tensor,
        t: int,
        *,
        lr: float,
        beta2_decay: float,
        eps1: float | None,
        eps2: float,
        d: float,
        weight_decay: float,
    ) -> tuple[Tensor, Tensor, Tensor]:
        e1 = torch.finfo(theta.dtype).eps if eps1 is None else eps1
        b = adafactor_beta2(t, beta2_decay)
        g2 = grad * grad
        rdim, cdim = (-2, -1) if swapped else (-1, -2)
        row_var = b * row_var + (1 - b) * g2.mean(dim=rdim, keepdim=True)
        col_var = b * col_var + (1 - b) * g2.mean(dim=cdim, keepdim=True)
        var = row_var * col_var
        if normaliser:
            var = var / row_var.mean(dim=-2, keepdim=True).clamp(min=e1)
        update = grad / var.sqrt().clamp(min=e1)
        alpha = rms(theta).clamp(min=eps2) * min(lr, 1.0 / math.sqrt(t))
        if clip:
            update = update / (rms(update) / d).clamp(min=1.0)
        step = alpha * update
        if decay == "no_lr":
            return (1 - weight_decay) * theta - step, row_var, col_var
        if decay == "after":
            return (theta - step) * (1 - lr * weight_decay), row_var, col_var
        return (1 - lr * weight_decay) * theta - step, row_var, col_var

    return adafactor_step


def _fallback(num: Tensor, den: Tensor, zero: float, *norms: Tensor) -> Tensor:
    ok = torch.stack([n > 0 for n in norms]).all()
    return torch.where(ok, num / den, torch.full_like(num, zero))


def _lars_ratio(
    theta: Tensor, grad: Tensor, c: float, wd: float, eps: float, *, decayed: bool, zero: float
) -> Tensor:
    w, g = _norm(theta), _norm(grad)
    den = _norm(grad + wd * theta) + eps if decayed else g + wd * w + eps
    return _fallback(c * w, den, zero, w, g)


def ratio_variant(kind: str) -> Callable[..., Any]:
    """trust_ratio / lars_trust_ratio / layerwise_trust_ratios with a wrong rule."""
    if kind == "zero":
        return lambda theta, update: _fallback(
            _norm(theta), _norm(update), 0.0, _norm(theta), _norm(update)
        )
    if kind in ("lars_zero", "lars_decayed"):

        def lars_trust_ratio(
            theta: Tensor,
            grad: Tensor,
            *,
            trust_coefficient: float = 1e-3,
            weight_decay: float = 0.0,
            eps: float = 1e-8,
        ) -> Tensor:
            return _lars_ratio(
                theta,
                grad,
                trust_coefficient,
                weight_decay,
                eps,
                decayed=kind == "lars_decayed",
                zero=1.0 if kind != "lars_zero" else 0.0,
            )

        return lars_trust_ratio

    def layerwise_trust_ratios(
        params: Mapping[str, Tensor],
        updates: Mapping[str, Tensor],
        *,
        exclude: tuple[str, ...],
    ) -> dict[str, float]:
        kept = [n for n in params if not is_excluded(n, exclude)]
        if kind == "global" and kept:
            w = _norm(torch.stack([_norm(params[n]) for n in kept]))
            u = _norm(torch.stack([_norm(updates[n]) for n in kept]))
            shared = float(_fallback(w, u, 1.0, w, u))
            return {n: 1.0 if n not in kept else shared for n in params}
        return {
            n: 1.0
            if n not in kept
            else float(
                _fallback(
                    _norm(params[n]), _norm(updates[n]), 0.0, _norm(params[n]), _norm(updates[n])
                )
            )
            for n in params
        }

    return layerwise_trust_ratios


def lars_variant(
    *, denominator: str = "sum", zero: float = 1.0, lr_in_buffer: bool = False
) -> Callable[..., Any]:
    """lars_step: d = tau (g + wd theta); b = momentum b + d; theta -= lr b (or b holds lr d)."""

    def lars_step(
        theta: Tensor,
        grad: Tensor,
        momentum_buffer: Tensor,
        *,
        lr: float,
        momentum: float,
        weight_decay: float,
        trust_coefficient: float,
        eps: float,
    ) -> tuple[Tensor, Tensor]:
        tau = _lars_ratio(
            theta,
            grad,
            trust_coefficient,
            weight_decay,
            eps,
            decayed=denominator == "decayed",
            zero=zero,
        )
        d = tau * (grad + weight_decay * theta)
        if lr_in_buffer:
            buf = momentum * momentum_buffer + lr * d
            return theta - buf, buf
        buf = momentum * momentum_buffer + d
        return theta - lr * buf, buf

    return lars_step


def _lamb_u(
    theta: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    t: int,
    flags: AdamFlags,
    hp: dict[str, float],
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    m, v = moments(flags, grad, m, v, hp["beta1"], hp["beta2"])
    r = direction(flags, m, v, t, hp["beta1"], hp["beta2"], hp["eps"])
    return r, r + hp["weight_decay"] * theta, m, v


def lamb_variant(
    *, trust: str = "after_decay", zero: float = 1.0, bias: str = "full", eps_mode: str = "outside"
) -> Callable[..., Any]:
    """lamb_step: u = m_hat / (sqrt(v_hat) + eps) + wd theta; theta -= lr tau(theta, u) u."""
    flags = AdamFlags(bias=bias, eps=eps_mode)

    def lamb_step(
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
        hp = {"beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay}
        r, u, m, v = _lamb_u(theta, grad, m, v, t, flags, hp)
        basis = r if trust == "before_decay" else u
        w, n = _norm(theta), _norm(basis)
        return theta - lr * _fallback(w, n, zero, w, n) * u, m, v

    return lamb_step


def model_variant(*, global_norm: bool = False, **lamb: Any) -> Callable[..., Any]:
    """lamb_model_step built on a wrong lamb_step, or with one trust ratio over all layers."""
    step = lamb_variant(**lamb)

    def lamb_model_step(
        params: Mapping[str, Tensor],
        grads: Mapping[str, Tensor],
        ms: Mapping[str, Tensor],
        vs: Mapping[str, Tensor],
        t: int,
        *,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
        exclude: tuple[str, ...],
    ) -> Any:
        hp = {"beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay}
        out_p, out_m, out_v, us = {}, {}, {}, {}
        for n in params:
            if is_excluded(n, exclude):
                hp0 = {**hp, "weight_decay": 0.0}
                r, _, out_m[n], out_v[n] = _lamb_u(
                    params[n], grads[n], ms[n], vs[n], t, AdamFlags(), hp0
                )
                out_p[n] = params[n] - lr * r
            elif global_norm:
                _, us[n], out_m[n], out_v[n] = _lamb_u(
                    params[n], grads[n], ms[n], vs[n], t, AdamFlags(), hp
                )
            else:
                out_p[n], out_m[n], out_v[n] = step(
                    params[n], grads[n], ms[n], vs[n], t, lr=lr, **hp
                )
        if us:
            w = _norm(torch.stack([_norm(params[n]) for n in us]))
            u = _norm(torch.stack([_norm(us[n]) for n in us]))
            tau = trust_ratio(w, u)
            for n in us:
                out_p[n] = params[n] - lr * tau * us[n]
        return out_p, out_m, out_v

    return lamb_model_step
