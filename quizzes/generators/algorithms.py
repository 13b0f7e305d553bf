"""Generators of section 4 (Core Theory II): bias correction, eps, AMSGrad, LAMB, diagnostics."""

from __future__ import annotations

import math
import random

from quizzes.generators.base import (
    GRADS,
    NO_DRAW,
    TRIES,
    Draw,
    Spec,
    ema,
    layer,
    norm,
    pick,
    safe,
    separated,
)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 0.02 * max(abs(a), abs(b))


# --- 4.1 -----------------------------------------------------------------------------------------
def m_hat(rng: random.Random, beta1: float, steps: int) -> Draw:
    """m_hat_T = m_T / (1 - beta1^T), m_t = beta1 m_{t-1} + (1-beta1) g_t from m_0 = 0."""
    for _ in range(TRIES):
        grads = pick(rng, GRADS, steps)
        m = ema(beta1, grads)
        if abs(m) > 0.05:
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        m / (1 - beta1**steps),
        shown={"grads": grads},
        variants={
            "no_bias_correction": m,
            "bias_correction_off_by_one": safe(lambda: m / (1 - beta1 ** (steps - 1))),
            "ema_weights_swapped": ema(1 - beta1, grads) / (1 - beta1**steps),
        },
        state={"grads": grads, "beta1": beta1},
    )


def adafactor_beta2(rng: random.Random, t: int, beta2_decay: float) -> Draw:
    """beta2_hat_t = 1 - t^beta2_decay (0 at t = 1: the first step uses only g_1^2)."""
    return Draw(
        1 - t**beta2_decay,
        variants={
            "adafactor_beta2_swapped": t**beta2_decay,
            "bias_correction_off_by_one": safe(lambda: 1 - (t - 1) ** beta2_decay),
        },
        state={"t": t, "beta2_decay": beta2_decay},
    )


def adam_no_correction_ratio(rng: random.Random, beta1: float, beta2: float) -> Draw:
    """|Delta theta_1| without correction over with it (eps -> 0): (1-beta1)/sqrt(1-beta2)."""
    g = pick(rng, GRADS, 1)[0]
    m, v = (1 - beta1) * g, (1 - beta2) * g * g
    raw = abs(m) / math.sqrt(v)
    corrected = abs(m / (1 - beta1)) / math.sqrt(v / (1 - beta2))
    return Draw(
        raw / corrected,
        shown={"g": g},
        variants={"bias_correction_m_only": abs(m) / math.sqrt(v) / (abs(g) / math.sqrt(v))},
        state={"g": g, "beta1": beta1, "beta2": beta2},
    )


# --- 4.2 -----------------------------------------------------------------------------------------
def effective_lr(rng: random.Random, lr: float, eps: float, beta2: float, steps: int) -> Draw:
    """lr / (sqrt(v_hat_T) + eps) for one coordinate whose gradients are small or zero."""
    for _ in range(TRIES):
        grads = pick(rng, (0.0, 0.0, -0.02, -0.01, 0.01, 0.02, 0.1), steps)
        v = ema(beta2, [g * g for g in grads])
        v_hat = v / (1 - beta2**steps)
        answer = lr / (math.sqrt(v_hat) + eps)
        inside = lr / math.sqrt(v_hat + eps)
        if not _close(answer, inside):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        answer,
        shown={"grads": grads},
        variants={"eps_inside_sqrt": inside, "no_bias_correction": lr / (math.sqrt(v) + eps)},
        state={"grads": grads, "lr": lr, "eps": eps, "beta2": beta2},
    )


def eps_hat_inflation(rng: random.Random, beta2: float, t: int) -> Draw:
    """A fixed eps_hat added before correcting v acts like eps = eps_hat / sqrt(1 - beta2^t)."""
    factor = 1 / math.sqrt(1 - beta2**t)
    return Draw(factor, variants={"eps_hat_form": 1.0}, state={"beta2": beta2, "t": t})


# --- 4.3 -----------------------------------------------------------------------------------------
def amsgrad_vmax(rng: random.Random, beta2: float, steps: int) -> Draw:
    """The raw v_max_T = max_t v_t (v_0 = 0), gradients shrinking by 0.3 per step."""
    first = pick(rng, (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0), 1)[0]
    signs = pick(rng, (-1.0, 1.0), steps - 1)
    grads = (first,) + tuple(s * abs(first) * 0.3**k for k, s in enumerate(signs, 1))
    grads = tuple(round(g, 6) for g in grads)
    v, vs = 0.0, []
    for g in grads:
        v = beta2 * v + (1 - beta2) * g * g
        vs.append(v)
    corrected = [x / (1 - beta2**k) for k, x in enumerate(vs, 1)]
    return Draw(
        max(vs),
        shown={"grads": grads},
        variants={
            "amsgrad_max_of_corrected": max(corrected),
            "amsgrad_max_not_kept": max(vs[-2], vs[-1]),
        },
        state={"grads": grads, "beta2": beta2},
    )


def lamb_update_norm(rng: random.Random, lr: float, weight_decay: float, size: int) -> Draw:
    """||Delta theta_1|| of lamb_step at t = 1 (eps = 1e-6): lr tau ||u|| = lr ||theta||."""
    eps = 1e-6
    for _ in range(TRIES):
        theta, grad = layer(rng, size)
        r = [g / (abs(g) + eps) for g in grad]
        u = [x + weight_decay * w for x, w in zip(r, theta, strict=True)]
        before = lr * norm(theta) / norm(r) * norm(u)
        if separated(lr * norm(theta), before, lr * norm(u)):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        lr * norm(theta) / norm(u) * norm(u),
        shown={"theta": theta, "grad": grad},
        variants={"lamb_trust_before_decay": before, "trust_ratio_not_applied": lr * norm(u)},
        state={"theta": theta, "grad": grad, "lr": lr, "weight_decay": weight_decay},
    )


# --- 4.4 -----------------------------------------------------------------------------------------
def update_ratio(rng: random.Random, lr: float, size: int) -> Draw:
    """||theta_after - theta_before|| / ||theta_before|| after an SGD step theta - lr g."""
    for _ in range(TRIES):
        before, grad = layer(rng, size)
        after = tuple(round(w - lr * g, 10) for w, g in zip(before, grad, strict=True))
        step = norm([a - b for a, b in zip(after, before, strict=True)])
        if norm(after) > 0 and not _close(norm(after), norm(before)) and step != norm(before):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        step / norm(before),
        shown={"theta_before": before, "theta_after": after},
        variants={
            "update_ratio_after_norm": step / norm(after),
            "update_ratio_inverted": norm(before) / step,
        },
        state={"theta_before": before, "theta_after": after},
    )


def layer_trust(rng: random.Random, size: int) -> Draw:
    """||theta|| / ||update||, 1.0 when either norm is zero."""
    for _ in range(TRIES):
        theta, update = layer(rng, size, zero=0.4)
        a, b = norm(theta), norm(update)
        if a == 0 or b == 0 or not _close(a, b):
            break
    else:
        raise ValueError(NO_DRAW)
    if a == 0 or b == 0:
        variants = {"trust_ratio_zero_on_zero_norm": 0.0}
    else:
        variants = {"trust_ratio_inverted": b / a}
    return Draw(
        a / b if a > 0 and b > 0 else 1.0,
        shown={"theta": theta, "update": update},
        variants=variants,
        state={"theta": theta, "update": update},
    )


# --- 4.5 -----------------------------------------------------------------------------------------
def global_trust(rng: random.Random, sizes: tuple[int, int]) -> Draw:
    """Layer 1's own ||theta_1|| / ||u_1||, next to the one-ratio-for-all mistake."""
    for _ in range(TRIES):
        theta1, u1 = layer(rng, sizes[0])
        theta2, u2 = layer(rng, sizes[1])
        own = norm(theta1) / norm(u1)
        pooled = norm(theta1 + theta2) / norm(u1 + u2)
        if not _close(own, pooled):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        own,
        shown={"theta1": theta1, "u1": u1, "theta2": theta2, "u2": u2},
        variants={"trust_ratio_global_norm": pooled},
        state={"theta1": theta1, "u1": u1, "theta2": theta2, "u2": u2},
    )


def excluded_update(rng: random.Random, lr: float, weight_decay: float, size: int) -> Draw:
    """An excluded tensor's first lamb_model_step (plain Adam, eps -> 0): ||Delta|| = lr sqrt(n)."""
    for _ in range(TRIES):
        theta, grad = layer(rng, size)
        if not _close(norm(theta), math.sqrt(size)):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        lr * math.sqrt(size),
        shown={"theta": theta, "grad": grad},
        variants={"exclusion_ignored": lr * norm(theta)},
        state={"theta": theta, "grad": grad, "lr": lr, "weight_decay": weight_decay},
    )


SPECS: dict[str, Spec] = {
    "m_hat": (m_hat, ("beta1", "steps"), ("grads",), ("no_bias_correction",)),
    "adafactor_beta2": (adafactor_beta2, ("t", "beta2_decay"), (), ("adafactor_beta2_swapped",)),
    "adam_no_correction_ratio": (
        adam_no_correction_ratio,
        ("beta1", "beta2"),
        ("g",),
        ("bias_correction_m_only",),
    ),
    "effective_lr": (
        effective_lr,
        ("lr", "eps", "beta2", "steps"),
        ("grads",),
        ("eps_inside_sqrt",),
    ),
    "eps_hat_inflation": (eps_hat_inflation, ("beta2", "t"), (), ("eps_hat_form",)),
    "amsgrad_vmax": (
        amsgrad_vmax,
        ("beta2", "steps"),
        ("grads",),
        ("amsgrad_max_of_corrected", "amsgrad_max_not_kept"),
    ),
    "lamb_update_norm": (
        lamb_update_norm,
        ("lr", "weight_decay", "size"),
        ("theta", "grad"),
        ("lamb_trust_before_decay", "trust_ratio_not_applied"),
    ),
    "update_ratio": (
        update_ratio,
        ("lr", "size"),
        ("theta_before", "theta_after"),
        ("update_ratio_after_norm", "update_ratio_inverted"),
    ),
    "layer_trust": (
        layer_trust,
        ("size",),
        ("theta", "update"),
        ("trust_ratio_zero_on_zero_norm", "trust_ratio_inverted"),
    ),
    "global_trust": (
        global_trust,
        ("sizes",),
        ("theta1", "u1", "theta2", "u2"),
        ("trust_ratio_global_norm",),
    ),
    "excluded_update": (
        excluded_update,
        ("lr", "weight_decay", "size"),
        ("theta", "grad"),
        ("exclusion_ignored",),
    ),
}
