"""Generators of section 3 (Core Theory I): EMAs, RMSProp, moments, AdamW, Adafactor, LARS."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from quizzes.generators.base import (
    GRADS,
    NO_DRAW,
    TRIES,
    Draw,
    Spec,
    ema,
    layer,
    matrix,
    norm,
    pick,
    separated,
)


# --- 3.1 -----------------------------------------------------------------------------------------
def ema_final(rng: random.Random, beta: float, avg0: float, xs: Sequence[float]) -> Draw:
    """avg_t = beta avg_{t-1} + (1-beta) x_t from avg_0, after all xs."""
    swapped = avg0
    unnormalised = avg0
    for x in xs:
        swapped = (1 - beta) * swapped + beta * x
        unnormalised = beta * unnormalised + x
    return Draw(
        ema(beta, xs, avg0),
        variants={"ema_weights_swapped": swapped, "ema_unnormalised": unnormalised},
        state={"beta": beta, "avg0": avg0, "xs": tuple(xs)},
    )


def rmsprop_step_size(rng: random.Random, lr: float, alpha: float, eps: float, steps: int) -> Draw:
    """|Delta theta_T| = lr |g_T| / (sqrt(v_T) + eps), v_t = alpha v_{t-1} + (1-alpha) g_t^2."""
    grads = pick(rng, GRADS, steps)
    v = swapped = 0.0
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        swapped = (1 - alpha) * swapped + alpha * g * g
    g_t = abs(grads[-1])
    return Draw(
        lr * g_t / (math.sqrt(v) + eps),
        shown={"grads": grads},
        variants={
            "rmsprop_bias_corrected": lr * g_t / (math.sqrt(v / (1 - alpha**steps)) + eps),
            "ema_weights_swapped": lr * g_t / (math.sqrt(swapped) + eps),
            "eps_inside_sqrt": lr * g_t / math.sqrt(v + eps),
        },
        state={"grads": grads, "lr": lr, "alpha": alpha, "eps": eps},
    )


def coupled_l2_steps(
    rng: random.Random, lr: float, alpha: float, weight_decay: float, steps: int
) -> Draw:
    """theta_T of RMSProp with coupled L2: g' = g + wd theta enters the average and the step."""
    for _ in range(TRIES):
        theta0 = pick(rng, (-2.0, -1.0, 1.0, 2.0), 1)[0]
        grads = pick(rng, GRADS, steps)
        coupled, v = theta0, 0.0
        decoupled, w = theta0, 0.0
        for g in grads:
            d = g + weight_decay * coupled
            v = alpha * v + (1 - alpha) * d * d
            coupled -= lr * d / (math.sqrt(v) + 1e-8)
            w = alpha * w + (1 - alpha) * g * g
            decoupled = decoupled * (1 - lr * weight_decay) - lr * g / (math.sqrt(w) + 1e-8)
        if separated(coupled - theta0, decoupled - theta0):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        coupled,
        shown={"theta0": theta0, "grads": grads},
        variants={"decoupled_instead_of_coupled": decoupled},
        state={"theta0": theta0, "grads": grads, "lr": lr, "alpha": alpha, "wd": weight_decay},
    )


# --- 3.2 -----------------------------------------------------------------------------------------
def first_moment(rng: random.Random, beta1: float, steps: int) -> Draw:
    """The raw m_T of m_t = beta1 m_{t-1} + (1-beta1) g_t from m_0 = 0 (no correction)."""
    grads = pick(rng, GRADS, steps)
    m = ema(beta1, grads)
    swapped = 0.0
    for g in grads:
        swapped = (1 - beta1) * swapped + beta1 * g
    return Draw(
        m,
        shown={"grads": grads},
        variants={
            "ema_weights_swapped": swapped,
            "ema_unnormalised": sum(beta1 ** (steps - i) * g for i, g in enumerate(grads, 1)),
        },
        state={"grads": grads, "beta1": beta1},
    )


def adamw_theta(
    rng: random.Random, theta: float, g: float, lr: float, weight_decay: float, eps: float
) -> Draw:
    """AdamW at t=1 on a scalar: theta (1 - lr wd) - lr g / (|g| + eps)."""
    u = g / (abs(g) + eps)
    coupled = g + weight_decay * theta
    return Draw(
        theta * (1 - lr * weight_decay) - lr * u,
        variants={
            "coupled_instead_of_decoupled": theta - lr * coupled / (abs(coupled) + eps),
            "decay_not_scaled_by_lr": theta * (1 - weight_decay) - lr * u,
            "decay_after_step": (theta - lr * u) * (1 - lr * weight_decay),
        },
        state={"theta": theta, "g": g, "lr": lr, "weight_decay": weight_decay, "eps": eps},
    )


# --- 3.3 -----------------------------------------------------------------------------------------
def second_moment(rng: random.Random, beta2: float, steps: int) -> Draw:
    """The raw v_T of v_t = beta2 v_{t-1} + (1-beta2) g_t^2 from v_0 = 0."""
    for _ in range(TRIES):
        grads = pick(rng, GRADS, steps)
        v = ema(beta2, [g * g for g in grads])
        not_squared = ema(beta2, [abs(g) for g in grads])
        if separated(v, not_squared):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        v,
        shown={"grads": grads},
        variants={
            "second_moment_not_squared": not_squared,
            "ema_weights_swapped": ema(1 - beta2, [g * g for g in grads]),
        },
        state={"grads": grads, "beta2": beta2},
    )


def adafactor_row_stat(rng: random.Random, shape: Sequence[int]) -> Draw:
    """R_i = mean_j G_ij^2 at t = 1 (beta2_hat_1 = 0, so R_1 is this step's row mean)."""
    rows, cols = shape
    for _ in range(TRIES):
        grad = matrix(rng, rows, cols)
        i = rng.randrange(min(rows, cols))
        row = sum(x * x for x in grad[i]) / cols
        col = sum(grad[k][i] ** 2 for k in range(rows)) / rows
        if row > 0 and separated(row, col, row * cols):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        row,
        shown={"grad": grad, "i": i + 1},
        variants={"adafactor_rows_cols_swapped": col, "adafactor_sums_not_means": row * cols},
        state={"grad": grad, "i": i},
    )


# --- 3.4 -----------------------------------------------------------------------------------------
def factored_vhat(rng: random.Random, shape: Sequence[int]) -> Draw:
    """V_hat[i, j] = R_i C_j / mean(R) at t = 1, with R, C the row and column means of G^2."""
    rows, cols = shape
    for _ in range(TRIES):
        grad = matrix(rng, rows, cols)
        i, j = rng.randrange(rows), rng.randrange(cols)
        r = [sum(x * x for x in grad[k]) / cols for k in range(rows)]
        c = [sum(grad[k][m] ** 2 for k in range(rows)) / rows for m in range(cols)]
        mean_r = sum(r) / rows
        vhat = r[i] * c[j] / mean_r if mean_r > 0 else 0.0
        if vhat > 0 and separated(vhat, r[i] * c[j], rows * vhat):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        vhat,
        shown={"grad": grad, "i": i + 1, "j": j + 1},
        variants={
            "adafactor_no_normaliser": r[i] * c[j],
            # sums R' = cols R, C' = rows C over a normaliser mean(R') = cols mean(R)
            "adafactor_sums_not_means": rows * vhat,
        },
        state={"grad": grad, "i": i, "j": j},
    )


def adafactor_alpha(rng: random.Random, lr: float, t: int) -> Draw:
    """alpha_t = max(eps2, RMS(theta)) min(lr, 1/sqrt(t)), eps2 = 1e-3."""
    for _ in range(TRIES):
        theta = pick(rng, (-2.0, -1.0, 0.0, 1.0, 2.0, 4.0), 4)
        rms = norm(theta) / 2.0
        scale = max(1e-3, rms)
        rho = min(lr, 1 / math.sqrt(t))
        if separated(scale * rho, scale * lr, max(1e-3, 2 * rms) * rho):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        scale * min(lr, 1 / math.sqrt(t)),
        shown={"theta": theta},
        variants={
            "adafactor_rho_is_lr": scale * lr,
            "rms_as_norm": max(1e-3, 2 * rms) * min(lr, 1 / math.sqrt(t)),
        },
        state={"theta": theta, "lr": lr, "t": t},
    )


# --- 3.5 -----------------------------------------------------------------------------------------
def lars_trust(
    rng: random.Random, trust_coefficient: float, weight_decay: float, size: int
) -> Draw:
    """tau = trust_coefficient ||theta|| / (||g|| + wd ||theta||)  (eps negligible)."""
    for _ in range(TRIES):
        theta, grad = layer(rng, size)
        decayed = norm([g + weight_decay * w for g, w in zip(grad, theta, strict=True)])
        plain = norm(grad) + weight_decay * norm(theta)
        if decayed > 0 and plain - decayed > 0.02 * plain:
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        trust_coefficient * norm(theta) / plain,
        shown={"theta": theta, "grad": grad},
        variants={
            "lars_denominator_decayed_norm": trust_coefficient * norm(theta) / decayed,
            "lars_no_trust_coefficient": norm(theta) / plain,
        },
        state={"theta": theta, "grad": grad, "tc": trust_coefficient, "wd": weight_decay},
    )


def lars_update_norm(
    rng: random.Random, lr: float, trust_coefficient: float, weight_decay: float, size: int
) -> Draw:
    """||Delta theta_1|| = lr tau ||g + wd theta|| (the buffer starts at 0, so b_1 = d_1)."""
    for _ in range(TRIES):
        theta, grad = layer(rng, size)
        d = [g + weight_decay * w for g, w in zip(grad, theta, strict=True)]
        tau = trust_coefficient * norm(theta) / (norm(grad) + weight_decay * norm(theta))
        if norm(d) > 0 and separated(lr * tau * norm(d), lr * tau * norm(grad)):
            break
    else:
        raise ValueError(NO_DRAW)
    return Draw(
        lr * tau * norm(d),
        shown={"theta": theta, "grad": grad},
        variants={"lars_direction_without_decay": lr * tau * norm(grad)},
        state={"theta": theta, "grad": grad, "lr": lr, "tc": trust_coefficient, "wd": weight_decay},
    )


#: name -> (draw function, parameters, stem fields it adds, core variants)
SPECS: dict[str, Spec] = {
    "ema_final": (ema_final, ("beta", "avg0", "xs"), (), ("ema_weights_swapped",)),
    "rmsprop_step_size": (
        rmsprop_step_size,
        ("lr", "alpha", "eps", "steps"),
        ("grads",),
        ("rmsprop_bias_corrected",),
    ),
    "coupled_l2_steps": (
        coupled_l2_steps,
        ("lr", "alpha", "weight_decay", "steps"),
        ("theta0", "grads"),
        ("decoupled_instead_of_coupled",),
    ),
    "first_moment": (first_moment, ("beta1", "steps"), ("grads",), ("ema_weights_swapped",)),
    "adamw_theta": (
        adamw_theta,
        ("theta", "g", "lr", "weight_decay", "eps"),
        (),
        ("coupled_instead_of_decoupled", "decay_not_scaled_by_lr", "decay_after_step"),
    ),
    "second_moment": (
        second_moment,
        ("beta2", "steps"),
        ("grads",),
        ("second_moment_not_squared",),
    ),
    "adafactor_row_stat": (
        adafactor_row_stat,
        ("shape",),
        ("grad", "i"),
        ("adafactor_rows_cols_swapped", "adafactor_sums_not_means"),
    ),
    "factored_vhat": (
        factored_vhat,
        ("shape",),
        ("grad", "i", "j"),
        ("adafactor_no_normaliser", "adafactor_sums_not_means"),
    ),
    "adafactor_alpha": (
        adafactor_alpha,
        ("lr", "t"),
        ("theta",),
        ("adafactor_rho_is_lr", "rms_as_norm"),
    ),
    "lars_trust": (
        lars_trust,
        ("trust_coefficient", "weight_decay", "size"),
        ("theta", "grad"),
        ("lars_denominator_decayed_norm", "lars_no_trust_coefficient"),
    ),
    "lars_update_norm": (
        lars_update_norm,
        ("lr", "trust_coefficient", "weight_decay", "size"),
        ("theta", "grad"),
        ("lars_direction_without_decay",),
    ),
}
