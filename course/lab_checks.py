"""What a learner should see, and checks they can run themselves (copied into every notebook).

- `what_you_should_see(logs, claims)`: each claim of an experiment, measured on the logs of the
  runs that just trained, printed as ✓ or ✗ with the numbers. The course build evaluates the same
  claims on the reference solutions and refuses to build when one does not hold.
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
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from course.lab import _FunctionRule
from course.lab_problems import seeded

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


_TEX_NAMES = {
    "eta": "η",
    "epsilon": "ε",
    "lambda": "λ",
    "alpha": "α",
    "beta": "β",
    "theta": "θ",
    "tau": "τ",
    "rho": "ρ",
    "delta": "δ",
    "Delta": "Δ",
    "xi": "ξ",
    "mu": "μ",
    "sum": "Σ",
    "le": "≤",
    "ge": "≥",
    "approx": "≈",
    "cdot": "·",
    "times": "×",
    "sqrt": "√",
    "star": "*",
    "infty": "∞",
    "mathrm": "",
    "mathbb": "",
    "tfrac": "",
    "frac": "",
    "bmod": "mod",
}


def plain(text: str) -> str:
    """A claim's markdown as plain text for printing: TeX names to Unicode, no $ or braces."""
    text = re.sub(r"\\hat\s*\{?([A-Za-z])\}?", lambda m: m.group(1) + "\u0302", text)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX_NAMES.get(m.group(1), m.group(1)), text)
    text = text.replace("\\|", "‖").replace("\\,", " ").replace("\\", "")
    return text.replace("$", "").replace("{", "").replace("}", "")


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
            f"{mark} {plain(c.says)}\n    measured: {c.measure.describe()} = {self.measured:.4g}"
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
    gen = seeded(7)
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
    gen = seeded(8)
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
    gen = seeded(9)
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
