"""Properties of the rules that hold whatever the inputs (optimizers.md-style facts)."""

from __future__ import annotations

import pytest
import torch

from solutions import (
    adafactor_beta2,
    adam_direction,
    adam_first_moment,
    adam_second_moment,
    adam_step,
    amsgrad_step,
    bias_correction,
    effective_lr,
    factored_second_moment,
    first_moment_trajectory,
    update_diagnostics,
)

SHAPES = [(3,), (4, 5), (2, 3, 4)]


def _rand(shape, seed, dtype=torch.float64):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("lr", [1e-3, 0.1])
def test_adam_first_step_moves_every_coordinate_by_about_lr(shape, lr):
    """At t=1, m_hat = g and v_hat = g^2, so |delta| = lr * |g| / (|g| + eps), about lr."""
    theta, g = _rand(shape, 1), _rand(shape, 2)
    z = torch.zeros_like(theta)
    new, _, _ = adam_step(theta, g, z, z, 1, lr=lr)
    delta = (new - theta).abs()
    assert torch.allclose(delta, lr * g.abs() / (g.abs() + 1e-8), rtol=1e-12, atol=0)
    assert torch.all((delta - lr).abs() <= lr * 1e-6)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("beta1", "beta2"), [(0.9, 0.999), (0.8, 0.9)])
def test_bias_corrected_moments_at_t1_equal_g_and_g_squared(shape, beta1, beta2):
    """From zero state, one update and the t=1 correction give exactly g and g^2 (to round-off)."""
    g = _rand(shape, 3)
    z = torch.zeros_like(g)
    m_hat, v_hat = bias_correction(
        adam_first_moment(z, g, beta1), adam_second_moment(z, g, beta2), 1, beta1, beta2
    )
    assert torch.allclose(m_hat, g, rtol=1e-14, atol=0)
    assert torch.allclose(v_hat, g * g, rtol=1e-14, atol=0)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9, 0.99])
def test_first_moment_trajectory_is_bounded_by_the_largest_gradient(shape, beta1):
    """|m_t| <= max_{s<=t} |g_s| coordinate-wise for every t (m is a convex mix of g's and 0)."""
    grads = _rand((12, *shape), 4) * torch.linspace(0.1, 3, 12).reshape(12, *[1] * len(shape))
    ms = first_moment_trajectory(grads, beta1)
    assert ms.shape == grads.shape
    running_max = torch.cummax(grads.abs(), dim=0).values
    assert torch.all(ms.abs() <= running_max * (1 + 1e-12))


@pytest.mark.parametrize("eps", [1e-8, 1e-3, 1.0])
def test_effective_lr_never_exceeds_lr_over_eps(eps):
    """lr / (sqrt(v_hat) + eps) <= lr / eps, with equality where v_hat = 0."""
    v_hat = torch.cat([torch.zeros(3, dtype=torch.float64), _rand(20, 5).abs()])
    e = effective_lr(0.1, v_hat, eps)
    assert torch.all(e <= 0.1 / eps)
    assert torch.all(e[:3] == 0.1 / eps)


def test_eps_inside_sqrt_is_a_different_rule_with_large_eps():
    """sqrt(v) + eps and sqrt(v + eps) differ visibly at eps = 1e-3 (what the probe relies on)."""
    m_hat, v_hat = _rand(50, 6), _rand(50, 7).abs() * 1e-4
    out, inside = (
        adam_direction(m_hat, v_hat, 1e-3),
        adam_direction(m_hat, v_hat, 1e-3, eps_inside_sqrt=True),
    )
    assert (out - inside).abs().max() > 1e-2 * out.abs().max()


def test_amsgrad_equals_adam_at_t1_and_differs_once_the_max_binds():
    """At t=1 AMSGrad is Adam; with shrinking gradients the kept max changes later steps."""
    theta = _rand((4, 5), 8)
    z = torch.zeros_like(theta)
    a_theta, a_m, a_v = theta, z, z
    s_theta, s_m, s_v, s_max = theta, z, z, z
    for t in range(1, 5):
        g = _rand((4, 5), 10 + t) * 0.3**t
        a_theta, a_m, a_v = adam_step(a_theta, g, a_m, a_v, t, lr=0.1, beta1=0.8, beta2=0.9)
        s_theta, s_m, s_v, s_max = amsgrad_step(
            s_theta, g, s_m, s_v, s_max, t, lr=0.1, beta1=0.8, beta2=0.9
        )
        assert torch.all(s_max >= s_v)
        if t == 1:
            assert torch.equal(a_theta, s_theta)
    assert (a_theta - s_theta).abs().max() > 1e-3


def test_adafactor_beta2_schedule():
    """beta2_t = 1 - t^-0.8: zero at t=1 (first step uses only g^2), increasing towards 1."""
    assert adafactor_beta2(1) == 0.0
    values = [adafactor_beta2(t) for t in range(1, 50)]
    assert all(a < b < 1 for a, b in zip(values, values[1:], strict=False))
    assert adafactor_beta2(10, -0.5) == pytest.approx(1 - 10**-0.5)


def test_factored_second_moment_is_exact_for_rank_one_squares():
    """If G^2 = a b^T, the row/column means reconstruct G^2 exactly from R and C."""
    a, b = _rand((2, 4, 1), 20).abs() + 0.1, _rand((2, 1, 6), 21).abs() + 0.1
    g2 = a * b
    row, col = g2.mean(-1, keepdim=True), g2.mean(-2, keepdim=True)
    assert torch.allclose(factored_second_moment(row, col), g2, rtol=1e-13, atol=0)


def test_update_diagnostics_ratio_edge_cases():
    """update_ratio: 0 when both norms are 0, inf when only the parameter norm is 0."""
    z, o = torch.zeros(3), torch.ones(3)
    assert update_diagnostics(z, z, o)["update_ratio"] == 0.0
    assert update_diagnostics(z, o, o)["update_ratio"] == float("inf")
    d = update_diagnostics(2 * o, 3 * o, o)
    assert d["update_ratio"] == pytest.approx(0.5)
    assert d["param_norm"] == pytest.approx(2 * 3**0.5)
