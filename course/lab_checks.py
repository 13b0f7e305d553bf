"""What a learner should see, and checks they can run themselves (copied into every notebook).

- `what_you_should_see(logs, claims)`: each claim of an experiment, measured on the logs of the
  runs that just trained, printed as ✓ or ✗ with the numbers. The course build evaluates the same
  claims on the reference solutions and refuses to build when one does not hold.
- Probes: small measurements made with a module's own functions (not training runs), logged
  like a run with one value per quantity.
- Property checks of a step rule: at t = 1 every Adam coordinate moves by about lr; scaling the
  gradient leaves the Adam step unchanged; the rule agrees with its torch.optim twin.
- Step rules that are not graded: `sgd_step` (plain SGD with momentum and coupled L2) and
  `without_correction(adam_step)` (the non-example of module 4.1, built from a learner's
  `adam_step`: Adam with the bias correction left out).

None of it contains the code of a graded function: it calls the learner's functions instead.

Uses only the standard library and torch (no plotting).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from course.lab import _FunctionRule, transformer_problem

# ---- claims ----


@dataclass(frozen=True)
class Quantity:
    """A logged value: `metric` of the run `run` (or of `tensor` alone) at step `at` (1-based),
    or a statistic over the run: "first", "last", "min", "max", "mean", or "tail" (the mean over
    the last fifth of the steps); multiplied by `times`."""

    run: str
    metric: str
    at: int | str = "last"
    times: float = 1.0
    tensor: str = ""

    def of(self, logs: dict[str, dict[str, list[float]]]) -> float:
        key = f"{self.metric}[{self.tensor}]" if self.tensor else self.metric
        values = logs[self.run][key]
        if isinstance(self.at, int):
            value = values[min(self.at, len(values)) - 1]
        else:
            tail = values[-max(1, len(values) // 5) :]
            value = {
                "first": lambda: values[0],
                "last": lambda: values[-1],
                "min": lambda: min(values),
                "max": lambda: max(values),
                "mean": lambda: sum(values) / len(values),
                "tail": lambda: sum(tail) / len(tail),
            }[self.at]()
        return self.times * value

    def describe(self) -> str:
        where = f"t={self.at}" if isinstance(self.at, int) else self.at
        name = f"{self.metric}[{self.tensor}]" if self.tensor else self.metric
        factor = "" if self.times == 1 else f"{self.times:g} × "
        return f"{factor}{name} of {self.run!r} ({where})"


@dataclass(frozen=True)
class Claim:
    """`says` holds when `measure` is below / above / near (|a - b| <= rtol |b|) the target."""

    says: str
    measure: Quantity
    relation: str
    target: Quantity | float
    rtol: float = 0.0


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    holds: bool
    measured: float
    target: float

    def line(self) -> str:
        c = self.claim
        rel = {"below": "<", "above": ">", "near": "≈"}[c.relation]
        tol = f" (±{c.rtol:g} relative)" if c.relation == "near" else ""
        other = c.target.describe() + " = " if isinstance(c.target, Quantity) else ""
        mark = "✓" if self.holds else "✗"
        return (
            f"{mark} {c.says}\n    measured: {c.measure.describe()} = {self.measured:.4g}"
            f" {rel} {other}{self.target:.4g}{tol}"
        )


def judge(logs: dict[str, dict[str, list[float]]], claim: Claim) -> Verdict:
    """Measure one claim on the logs."""
    a = claim.measure.of(logs)
    b = claim.target.of(logs) if isinstance(claim.target, Quantity) else float(claim.target)
    if claim.relation == "below":
        holds = a < b
    elif claim.relation == "above":
        holds = a > b
    else:
        holds = a == b or abs(a - b) <= claim.rtol * abs(b)
    return Verdict(claim, bool(holds), a, b)


def what_you_should_see(logs: dict, claims: list[Claim]) -> list[bool]:
    """Print every claim with ✓ or ✗ and the measured numbers; returns the verdicts. Under
    nbgrader autograde the experiments are cut short, so the claims are not judged."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print("Grading run: the experiments were cut short, their claims are not checked.")
        return []
    verdicts = [judge(logs, c) for c in claims]
    print("What you should see:")
    for v in verdicts:
        print("  " + v.line().replace("\n", "\n  "))
    if not all(v.holds for v in verdicts):
        print("  Not everything holds: your functions do not reproduce what the section says.")
    return [v.holds for v in verdicts]


# ---- step rules that are not graded ----


def sgd_step(
    theta: Tensor,
    grad: Tensor,
    momentum_buffer: Tensor,
    *,
    lr: float = 1e-2,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """SGD as torch.optim.SGD (no dampening): b = momentum b + (g + wd theta); theta -= lr b."""
    buf = momentum * momentum_buffer + grad + weight_decay * theta
    step = lr * buf
    return theta - step, buf


def without_correction(adam_step: Callable) -> Callable:
    """The non-example of module 4.1, made from a (correct) `adam_step`: Adam with the moments
    used without dividing by 1 - beta**t. With r_t = sqrt(1 - beta2**t) and
    c_t = (1 - beta1**t) / r_t, m / (sqrt(v) + eps) = c_t * m_hat / (sqrt(v_hat) + eps / r_t): the
    uncorrected step is the corrected one with lr * c_t and eps / r_t."""

    def adam_without_correction(
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
    ) -> tuple[Tensor, Tensor, Tensor]:
        root = math.sqrt(1 - beta2**t)
        scale = (1 - beta1**t) / root
        return adam_step(
            theta, grad, m, v, t, lr=lr * scale, beta1=beta1, beta2=beta2, eps=eps / root
        )

    return adam_without_correction


# ---- probes: measurements made with a module's functions ----


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def probe_key_inequality(first_moment_trajectory: Callable) -> dict[str, float]:
    """|m_t| <= (1 - beta1**t) max_{s<=t} |g_s| on 40 random gradients of a 6x4 tensor (the
    largest ratio), and on a constant gradient, where the bound is attained (the smallest)."""
    beta1 = 0.9
    g = torch.randn(40, 6, 4, generator=_seeded(1), dtype=torch.float64)
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
    gen = _seeded(2)
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
    gen = _seeded(3)
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
    theta = torch.randn(4, 5, generator=_seeded(4), dtype=torch.float64)
    step = torch.randn(4, 5, generator=_seeded(5), dtype=torch.float64)
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


# ---- property checks of a step rule ----

#: step rule -> (its torch.optim twin, hparams of the rule -> the optimizer's arguments)
TORCH_TWINS: dict[str, tuple[str, Callable[[dict], dict]]] = {
    "rmsprop_step": ("RMSprop", lambda h: h),
    "adam_step": ("Adam", lambda h: _betas(h)),
    "adamw_step": ("AdamW", lambda h: _betas(h)),
    "amsgrad_step": ("Adam", lambda h: {**_betas(h), "amsgrad": True}),
    "adafactor_step": (
        "Adafactor",
        lambda h: {
            **{k: v for k, v in h.items() if k not in ("eps1", "eps2")},
            "eps": (h.get("eps1"), h.get("eps2", 1e-3)),
        },
    ),
}


def _betas(h: dict) -> dict:
    out = {k: v for k, v in h.items() if k not in ("beta1", "beta2")}
    out["betas"] = (h.get("beta1", 0.9), h.get("beta2", 0.999))
    return out


def _trajectory(step: Callable, grads: list[Tensor], theta: Tensor, hparams: dict) -> list[Tensor]:
    rule = _FunctionRule(step, hparams, {"p": theta})
    out, params = [], {"p": theta}
    for t, g in enumerate(grads, 1):
        params = rule.step(params, {"p": g}, t, rule.lr)
        out.append(params["p"])
    return out


def _report(ok: bool, text: str) -> bool:
    print(("✓ " if ok else "✗ ") + text)
    return ok


def agrees_with_torch(step: Callable, hparams: dict | None = None, steps: int = 5) -> bool:
    """Run `step` and its torch.optim twin on the same 4x5 float64 tensor and gradients
    (shrinking ones for AMSGrad, so the max binds); print the largest difference."""
    name = step.__name__
    optimizer, translate = TORCH_TWINS[name]
    hp = dict(hparams or {})
    gen = _seeded(7)
    theta = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    shrink = 0.3 if name == "amsgrad_step" else 1.0
    grads = [
        torch.randn(4, 5, generator=gen, dtype=torch.float64) * shrink**t
        for t in range(1, steps + 1)
    ]
    mine = _trajectory(step, grads, theta, hp)[-1]
    leaf = theta.clone().requires_grad_()
    opt = getattr(torch.optim, optimizer)([leaf], **translate(hp))
    for g in grads:
        leaf.grad = g.clone()
        opt.step()
    diff = float((mine - leaf.detach()).abs().max())
    moved = float((leaf.detach() - theta).abs().max())
    return _report(
        diff <= 1e-10 * max(moved, 1e-300),
        f"your {name} agrees with torch.optim.{optimizer} over {steps} steps: largest "
        f"difference {diff:.3g} (the step moved theta by up to {moved:.3g})",
    )


def first_step_moves_by_lr(step: Callable, lr: float = 0.01, **hparams: float) -> bool:
    """At t = 1, m_hat = g and v_hat = g**2, so every coordinate moves by lr |g| / (|g| + eps),
    about lr, whatever the size of its gradient (here 1e-3 to 1e3)."""
    gen = _seeded(8)
    theta = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    sizes = torch.logspace(-3, 3, 20, dtype=torch.float64).view(4, 5)
    grad = sizes * torch.randn(4, 5, generator=gen, dtype=torch.float64).sign()
    (after,) = _trajectory(step, [grad], theta, {"lr": lr, **hparams})
    moved = (after - theta).abs() / lr
    lo, hi = float(moved.min()), float(moved.max())
    return _report(
        0.999 <= lo and hi <= 1.0 + 1e-9,
        f"at t=1 your {step.__name__} moves every coordinate by between {lo:.6f} lr and "
        f"{hi:.6f} lr, for gradients from 1e-3 to 1e3 (expected: about lr, at most lr)",
    )


def step_ignores_gradient_scale(step: Callable, scale: float = 1000.0, **hparams: float) -> bool:
    """Multiplying every gradient by `scale` leaves Adam's steps unchanged (up to eps): m_hat
    and sqrt(v_hat) both scale by `scale`."""
    gen = _seeded(9)
    theta = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    grads = [torch.randn(4, 5, generator=gen, dtype=torch.float64) for _ in range(3)]
    hp = {"lr": 0.01, **hparams}
    plain = _trajectory(step, grads, theta, hp)[-1]
    scaled = _trajectory(step, [scale * g for g in grads], theta, hp)[-1]
    diff = float((plain - scaled).abs().max()) / float((plain - theta).abs().max())
    return _report(
        diff < 1e-5,
        f"multiplying the gradients by {scale:g} changes your {step.__name__}'s 3-step "
        f"displacement by {diff:.2g} of its size (expected: below 1e-5, only through eps)",
    )
