"""Do LARS and LAMB match a second, deliberately naive derivation from the formulas?

The naive versions work on flat Python lists of floats, one coordinate at a time, with the norms
summed by hand: nothing is shared with the tensor code under test.
"""

from __future__ import annotations

import math

import pytest
import torch

from solutions import lamb_model_step, lamb_step, lars_step, lars_trust_ratio, trust_ratio

SHAPES = [(3,), (4, 5), (2, 3, 4)]


def _norm(xs: list[float]) -> float:
    return math.sqrt(sum(x * x for x in xs))


def naive_lars(theta, grads, lr, momentum, wd, tc, eps):
    buf = [0.0] * len(theta)
    for g in grads:
        w_norm, g_norm = _norm(theta), _norm(g)
        tau = tc * w_norm / (g_norm + wd * w_norm + eps) if w_norm > 0 and g_norm > 0 else 1.0
        d = [tau * (gi + wd * wi) for gi, wi in zip(g, theta, strict=True)]
        buf = [momentum * b + di for b, di in zip(buf, d, strict=True)]
        theta = [wi - lr * b for wi, b in zip(theta, buf, strict=True)]
    return theta


def naive_lamb(theta, grads, lr, b1, b2, eps, wd):
    m = [0.0] * len(theta)
    v = [0.0] * len(theta)
    for t, g in enumerate(grads, start=1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        r = [
            (mi / (1 - b1**t)) / (math.sqrt(vi / (1 - b2**t)) + eps)
            for mi, vi in zip(m, v, strict=True)
        ]
        u = [ri + wd * wi for ri, wi in zip(r, theta, strict=True)]
        w_norm, u_norm = _norm(theta), _norm(u)
        tau = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        theta = [wi - lr * tau * ui for wi, ui in zip(theta, u, strict=True)]
    return theta


def _data(shape, zero_theta=False, steps=5):
    gen = torch.Generator().manual_seed(7 * len(shape) + 1)
    theta = torch.randn(shape, generator=gen, dtype=torch.float64)
    if zero_theta:
        theta = torch.zeros(shape, dtype=torch.float64)
    grads = [torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(steps)]
    return theta, grads


LARS_CONFIGS = {
    "default": {
        "lr": 1.0,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "trust_coefficient": 1e-3,
        "eps": 1e-8,
    },
    "probe": {
        "lr": 0.5,
        "momentum": 0.9,
        "weight_decay": 0.1,
        "trust_coefficient": 0.02,
        "eps": 1e-8,
    },
    "no-momentum-no-decay": {
        "lr": 0.1,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "trust_coefficient": 1e-3,
        "eps": 1e-8,
    },
}
LAMB_CONFIGS = {
    "default": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-6, "weight_decay": 0.01},
    "probe": {"lr": 0.05, "beta1": 0.8, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.1},
    "no-decay": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-6, "weight_decay": 0.0},
}


@pytest.mark.parametrize("zero_theta", [False, True], ids=["random", "zero-theta"])
@pytest.mark.parametrize("config", LARS_CONFIGS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lars_matches_naive_derivation(shape, config, zero_theta):
    """Five LARS steps equal the naive per-coordinate derivation to 1e-12 (float64)."""
    hp = LARS_CONFIGS[config]
    theta, grads = _data(shape, zero_theta)
    buf = torch.zeros_like(theta)
    ours = theta
    for g in grads:
        ours, buf = lars_step(ours, g, buf, **hp)
    expected = naive_lars(
        theta.flatten().tolist(),
        [g.flatten().tolist() for g in grads],
        hp["lr"],
        hp["momentum"],
        hp["weight_decay"],
        hp["trust_coefficient"],
        hp["eps"],
    )
    assert max(abs(a - b) for a, b in zip(ours.flatten().tolist(), expected, strict=True)) <= 1e-12


@pytest.mark.parametrize("zero_theta", [False, True], ids=["random", "zero-theta"])
@pytest.mark.parametrize("config", LAMB_CONFIGS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lamb_matches_naive_derivation(shape, config, zero_theta):
    """Five LAMB steps equal the naive per-coordinate derivation to 1e-12 (float64)."""
    hp = LAMB_CONFIGS[config]
    theta, grads = _data(shape, zero_theta)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    ours = theta
    for t, g in enumerate(grads, start=1):
        ours, m, v = lamb_step(ours, g, m, v, t, **hp)
    expected = naive_lamb(
        theta.flatten().tolist(),
        [g.flatten().tolist() for g in grads],
        hp["lr"],
        hp["beta1"],
        hp["beta2"],
        hp["eps"],
        hp["weight_decay"],
    )
    assert max(abs(a - b) for a, b in zip(ours.flatten().tolist(), expected, strict=True)) <= 1e-12


@pytest.mark.parametrize("config", LAMB_CONFIGS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lamb_relative_update_equals_lr(shape, config):
    """When the ratio applies, ||theta_t - theta_{t-1}|| = lr * ||theta_{t-1}|| exactly."""
    hp = LAMB_CONFIGS[config]
    theta, grads = _data(shape)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        new, m, v = lamb_step(theta, g, m, v, t, **hp)
        step = torch.linalg.vector_norm(new - theta).item()
        assert step == pytest.approx(hp["lr"] * torch.linalg.vector_norm(theta).item(), rel=1e-12)
        theta = new


def test_zero_norms_give_ratio_one():
    """A zero parameter or a zero update/gradient gives a trust ratio of exactly 1, never 0."""
    z, x = torch.zeros(4, 5, dtype=torch.float64), torch.ones(4, 5, dtype=torch.float64)
    assert trust_ratio(z, x).item() == 1.0
    assert trust_ratio(x, z).item() == 1.0
    assert lars_trust_ratio(z, x, weight_decay=0.1).item() == 1.0
    assert lars_trust_ratio(x, z, weight_decay=0.1).item() == 1.0
    assert trust_ratio(2 * x, x).item() == pytest.approx(2.0, rel=1e-15)


def test_zero_initialised_lamb_takes_a_raw_adam_sized_step():
    """theta_0 = 0 with wd > 0: the ratio falls back to 1, so theta moves by lr * u (not frozen)."""
    theta = torch.zeros(3, dtype=torch.float64)
    g = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    z = torch.zeros_like(theta)
    new, _, _ = lamb_step(theta, g, z, z, 1, lr=0.1, weight_decay=0.1)
    # t = 1: m_hat = g, v_hat = g^2, u = g / (|g| + eps) + 0  ->  about -0.1 * sign(g)
    assert torch.allclose(new, -0.1 * torch.sign(g), atol=1e-6)


def test_lamb_model_step_excludes_bias_and_norm_from_decay_and_ratio():
    """Excluded names take a plain Adam step; the others take lamb_step; global norms unused."""
    gen = torch.Generator().manual_seed(3)
    names = ["layer.weight", "layer.bias", "ln.norm_weight"]
    params = {n: torch.randn(4, 5, generator=gen, dtype=torch.float64) for n in names}
    grads = {n: torch.randn(4, 5, generator=gen, dtype=torch.float64) for n in names}
    zeros = {n: torch.zeros(4, 5, dtype=torch.float64) for n in names}
    new, _, _ = lamb_model_step(params, grads, zeros, zeros, 1, lr=0.05, weight_decay=0.1)
    w = "layer.weight"
    expected_w = naive_lamb(
        params[w].flatten().tolist(), [grads[w].flatten().tolist()], 0.05, 0.9, 0.999, 1e-6, 0.1
    )
    assert (
        max(abs(a - b) for a, b in zip(new[w].flatten().tolist(), expected_w, strict=True)) <= 1e-12
    )
    for n in names[1:]:
        expected = naive_lamb(
            params[n].flatten().tolist(),
            [grads[n].flatten().tolist()],
            0.05,
            0.9,
            0.999,
            1e-6,
            0.0,
        )
        # excluded: a plain Adam step at t=1 (m_hat = g, v_hat = g^2), no decay and no ratio,
        # which differs from LAMB with wd=0 (whose trust ratio still rescales the step)
        m_hat, v_hat = grads[n], grads[n] ** 2
        adam = params[n] - 0.05 * m_hat / (v_hat.sqrt() + 1e-6)
        assert torch.allclose(new[n], adam, rtol=0, atol=1e-15)
        lamb_no_decay = torch.tensor(expected, dtype=torch.float64).reshape(4, 5)
        assert not torch.allclose(new[n], lamb_no_decay, atol=1e-6)
