"""Probes: measurements made with a module's own functions instead of a training run (copied into
every notebook in the collapsed lab cell; standard library and torch only). `probe(name, ...)`
returns the values logged like a run's, one per quantity of PROBE_OUTPUTS[name]. None of them
contains the code of a graded function: they call the learner's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from course.lab_problems import seeded, transformer_problem


def probe_key_inequality(first_moment_trajectory: Callable) -> dict[str, float]:
    """|m_t| <= (1 - beta1**t) max_{s<=t} |g_s| on 40 random gradients of a 6x4 tensor (the
    largest ratio), and on a constant gradient, where the bound is attained (the smallest)."""
    beta1 = 0.9
    g = torch.randn(40, 6, 4, generator=seeded(1), dtype=torch.float64)
    weights = (1 - beta1 ** torch.arange(1, 41, dtype=torch.float64)).view(-1, 1, 1)
    m = first_moment_trajectory(g, beta1=beta1)
    worst = float((m.abs() / (weights * g.abs().cummax(0).values)).max())
    constant = torch.full((40, 6, 4), -2.0, dtype=torch.float64)
    tight = first_moment_trajectory(constant, beta1=beta1).abs() / (weights * 2.0)
    return {"worst_ratio": worst, "constant_ratio": float(tight.min())}


def probe_factored_estimate(
    adam_second_moment: Callable, adafactor_accumulators: Callable
) -> dict[str, float]:
    """Both fed the same 200 gradients G_t = sqrt(S) * noise of a 6x4 matrix (beta2 = 0.98):
    the largest relative difference between Adafactor's row factor R and the row means of Adam's
    full v, the same for the columns, and the largest |mean(R) - mean(C)| / mean(R)."""
    gen = seeded(2)
    s = torch.rand(6, 1, generator=gen, dtype=torch.float64) + 0.1
    s = s * (torch.rand(1, 4, generator=gen, dtype=torch.float64) + 0.1)
    v = torch.zeros(6, 4, dtype=torch.float64)
    row, col = torch.zeros(6, 1, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)
    gap = 0.0
    for _ in range(200):
        g = s.sqrt() * torch.randn(6, 4, generator=gen, dtype=torch.float64)
        v = adam_second_moment(v, g, beta2=0.98)
        row, col = adafactor_accumulators(row, col, g, 0.98)
        gap = max(gap, float((row.mean() - col.mean()).abs() / row.mean()))
    return {
        "row_error": float(((row - v.mean(dim=-1, keepdim=True)) / row).abs().max()),
        "col_error": float(((col - v.mean(dim=-2, keepdim=True)) / col).abs().max()),
        "mean_gap": gap,
        "numbers_kept": float(row.numel() + col.numel()) / v.numel(),
    }


def probe_rank_one(factored_second_moment: Callable) -> dict[str, float]:
    """The factored estimate from the row and column means of a rank-one S = a b^T against S
    (exact in theory), its row means against R, and the same for an S far from rank one."""
    gen = seeded(3)
    a = torch.rand(5, 1, generator=gen, dtype=torch.float64) + 0.1
    b = torch.rand(1, 7, generator=gen, dtype=torch.float64) + 0.1
    s = a * b
    row, col = s.mean(dim=-1, keepdim=True), s.mean(dim=-2, keepdim=True)
    v = factored_second_moment(row, col)
    other = s + 3.0 * torch.eye(5, 7, dtype=torch.float64)
    v_other = factored_second_moment(
        other.mean(dim=-1, keepdim=True), other.mean(dim=-2, keepdim=True)
    )
    return {
        "error_rank_one": float((v - s).abs().max() / s.abs().max()),
        "row_mean_error": float((v.mean(dim=-1, keepdim=True) - row).abs().max() / row.max()),
        "error_other": float((v_other - other).norm() / other.norm()),
    }


def probe_decay_schedule(adafactor_beta2: Callable, bias_correction: Callable) -> dict[str, float]:
    """Adafactor's decay rate at t = 1 and its memory 1 / (1 - beta2_t) at t = 1000; and Adam's
    bias correction on a constant gradient c = 0.5: the largest |m_hat - c| / c and
    |v_hat - c**2| / c**2 over t = 1..20 (zero in theory)."""
    c = torch.full((3,), 0.5, dtype=torch.float64)
    m, v = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    error = 0.0
    for t in range(1, 21):
        m, v = 0.9 * m + 0.1 * c, 0.999 * v + 0.001 * c * c
        m_hat, v_hat = bias_correction(m, v, t, 0.9, 0.999)
        error = max(
            error, float((m_hat / c - 1).abs().max()), float((v_hat / c**2 - 1).abs().max())
        )
    return {
        "beta2_at_1": float(adafactor_beta2(1)),
        "memory_at_1000": 1.0 / (1.0 - float(adafactor_beta2(1000))),
        "correction_error": error,
    }


def probe_epsilon(
    effective_lr: Callable, adam_direction: Callable, lars_trust_ratio: Callable
) -> dict[str, float]:
    """Adam: the effective learning rate where v_hat = 0, relative to lr / eps (1 in theory);
    the direction where the history is all zero (m_hat = v_hat = 0); eps outside against inside
    the square root at v_hat = eps**2 (eps = 1e-3). LARS (trust coefficient c = 1e-3,
    ||theta|| = 2): the trust ratio for a gradient of norm 1e-12, relative to c ||theta|| / eps
    (eps caps it), and for a zero gradient (the fallback 1)."""
    lr, eps = 1e-3, 1e-8
    zero = torch.zeros(4, dtype=torch.float64)
    m_hat = torch.ones(4, dtype=torch.float64)
    v_small = torch.full((4,), 1e-6, dtype=torch.float64)
    outside = adam_direction(m_hat, v_small, 1e-3)
    inside = adam_direction(m_hat, v_small, 1e-3, eps_inside_sqrt=True)
    theta = torch.full((4,), 1.0, dtype=torch.float64)
    tiny = torch.full((4,), 0.5e-12, dtype=torch.float64)
    return {
        "ceiling_ratio": float(effective_lr(lr, zero, eps).max()) / (lr / eps),
        "zero_history_step": float(adam_direction(zero, zero, eps).abs().max()),
        "outside_over_inside": float((outside / inside).mean()),
        "lars_cap_ratio": float(lars_trust_ratio(theta, tiny)) / (1e-3 * 2.0 / eps),
        "lars_zero_gradient": float(lars_trust_ratio(theta, zero)),
    }


def probe_amsgrad_rate(amsgrad_step: Callable) -> dict[str, float]:
    """torch-style AMSGrad (beta1 = 0, beta2 = 0.9, lr = 1) fed shrinking gradients 0.3**t:
    the effective learning rate |delta theta_t| / |g_t| at t = 7 over t = 1 (it rises, although
    v_max stays put), and the smallest change of v_max between steps (never negative)."""
    theta = torch.ones(2, dtype=torch.float64)
    m, v, v_max = (torch.zeros(2, dtype=torch.float64) for _ in range(3))
    rates, changes = [], []
    for t in range(1, 8):
        g = torch.full((2,), 0.3**t, dtype=torch.float64)
        before, old_max = theta, v_max
        theta, m, v, v_max = amsgrad_step(theta, g, m, v, v_max, t, lr=1.0, beta1=0.0, beta2=0.9)
        rates.append(float((before - theta).abs().max()) / 0.3**t)
        changes.append(float((v_max - old_max).min()))
    return {"rate_rise": rates[-1] / rates[0], "smallest_vmax_change": min(changes)}


def probe_diagnostics(update_diagnostics: Callable, trust_ratio: Callable) -> dict[str, float]:
    """The update ratio of a step that moves a 4x5 tensor by 1% of its norm, relative to 0.01;
    the ratio when theta_before = 0 (infinite); the trust ratio of a zero tensor (1)."""
    theta = torch.randn(4, 5, generator=seeded(4), dtype=torch.float64)
    step = torch.randn(4, 5, generator=seeded(5), dtype=torch.float64)
    after = theta + 0.01 * theta.norm() * step / step.norm()
    grad = torch.ones(4, 5, dtype=torch.float64)
    zero = torch.zeros(4, 5, dtype=torch.float64)
    return {
        "ratio_error": abs(update_diagnostics(theta, after, grad)["update_ratio"] / 0.01 - 1),
        "zero_param_ratio": float(update_diagnostics(zero, after, grad)["update_ratio"]),
        "zero_trust": float(trust_ratio(zero, step)),
    }


def probe_layerwise(layerwise_trust_ratios: Callable) -> dict[str, float]:
    """Layerwise trust ratios ||theta_l|| / ||u_l|| of the tiny transformer's tensors for Adam's
    first direction u = sign(g): their spread (max / min over adapted tensors), the largest
    distance of an excluded tensor's ratio from 1, and the global ratio over all tensors
    relative to the median layerwise one."""
    problem = transformer_problem()
    leaves = {k: v.clone().requires_grad_() for k, v in problem.params.items()}
    grads = torch.autograd.grad(problem.loss(leaves, None), list(leaves.values()))
    updates = {k: g.sign() for k, g in zip(leaves, grads, strict=True)}
    ratios = layerwise_trust_ratios(problem.params, updates)
    excluded = [k for k in ratios if "bias" in k or "norm" in k]
    adapted = sorted(ratios[k] for k in ratios if k not in excluded)
    every = torch.cat([p.flatten() for p in problem.params.values()])
    global_ratio = float(every.norm() / torch.cat([u.flatten() for u in updates.values()]).norm())
    return {
        "spread": adapted[-1] / adapted[0],
        "excluded_off_one": max(abs(ratios[k] - 1.0) for k in excluded),
        "global_over_median": global_ratio / adapted[len(adapted) // 2],
    }


PROBES: dict[str, Callable[..., dict[str, float]]] = {
    "key_inequality": probe_key_inequality,
    "factored_estimate": probe_factored_estimate,
    "rank_one": probe_rank_one,
    "decay_schedule": probe_decay_schedule,
    "epsilon": probe_epsilon,
    "amsgrad_rate": probe_amsgrad_rate,
    "diagnostics": probe_diagnostics,
    "layerwise": probe_layerwise,
}

#: What each probe measures (the keys of its result).
PROBE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "key_inequality": ("worst_ratio", "constant_ratio"),
    "factored_estimate": ("row_error", "col_error", "mean_gap", "numbers_kept"),
    "rank_one": ("error_rank_one", "row_mean_error", "error_other"),
    "decay_schedule": ("beta2_at_1", "memory_at_1000", "correction_error"),
    "epsilon": (
        "ceiling_ratio",
        "zero_history_step",
        "outside_over_inside",
        "lars_cap_ratio",
        "lars_zero_gradient",
    ),
    "amsgrad_rate": ("rate_rise", "smallest_vmax_change"),
    "diagnostics": ("ratio_error", "zero_param_ratio", "zero_trust"),
    "layerwise": ("spread", "excluded_off_one", "global_over_median"),
}


def probe(name: str, **functions: Callable) -> dict[str, list[float]]:
    """Run one probe with the given functions; its values, logged like a run's (one step)."""
    return {key: [value] for key, value in PROBES[name](**functions).items()}
