"""Experiment helpers given to learners: small problems, a training loop, metrics and plots.

This file is copied verbatim into every notebook (a collapsed, locked "lab" cell), so it uses only
the standard library, torch and matplotlib. `train` drives a graded step rule of the course,
`rule(theta, grad, *state[, t], **hparams) -> (theta, *state)` or its dict form
(`lamb_model_step`), or a `torch.optim` optimizer class, so a learner watches their own
implementation train next to the library's. Logged after every step t = 1..steps:

    loss          loss on all the data after the step, minus the known minimum where there is one
    val_loss      loss on held-out data (the transformer)
    grad_norm     ||g|| of the (minibatch) gradient used by the step, over all tensors
    param_norm    ||theta|| over all tensors, after the step
    update_norm   ||theta_t - theta_{t-1}|| over all tensors
    update_rms    update_norm / sqrt(number of coordinates)
    update_max    largest |delta theta_i| over all coordinates; update_min: smallest
    update_ratio  median over tensors of ||delta theta_l|| / ||theta_{l,t-1}|| (tensors with a
                  nonzero norm); update_ratio_lo / _hi: the smallest and largest of them
    ratio_spread  update_ratio_hi / update_ratio_lo (1 when every tensor moves at the same pace)
    v_hat         mean of the second-moment estimate the step divides by: v / (1 - beta2**t) for
                  the Adam family (v_max for AMSGrad), RMSProp's v, Adafactor's R C / mean(R)
    x             mean of the coordinates of a one-tensor problem (the counterexample's iterate)
    path_x/path_y the iterate of the two-parameter valley (for its contour plot)
    param_norm[name], update_ratio[name]: the same for one tensor (ratio inf when theta_l was 0)

Minibatches (`batch_size`) are drawn without replacement within a step from a seeded generator,
so a run is reproducible. Under `nbgrader autograde` (NBGRADER_EXECUTION=autograde) experiments
train 2 steps and draw nothing: grading needs only the test cells.
"""

from __future__ import annotations

import inspect
import math
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

Params = dict[str, Tensor]


@dataclass
class Problem:
    """An objective over named tensors with a starting point.

    `loss(params, batch)` is the mean loss over the examples `batch` (a tensor of indices; all of
    them when None); `n_data` is how many there are (0: no minibatches). `val_loss` is the loss on
    held-out data; `both_losses` computes the full loss and it in one pass. `optimum` is the minimum
    of the full loss where it is known (the logged loss is the gap to it). An online problem
    (`cyclic`) sees example (t - 1) % n_data at step t; `box` projects the iterate after a step.
    """

    name: str
    params: Params
    loss: Callable[[Params, Tensor | None], Tensor]
    n_data: int = 0
    optimum: float = 0.0
    val_loss: Callable[[Params], Tensor] | None = None
    cyclic: bool = False
    box: tuple[float, float] | None = None
    both_losses: Callable[[Params], tuple[Tensor, Tensor]] | None = None  # (loss, val_loss)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def quadratic_problem(seed: int = 0, condition: float = 100.0, noise: float = 1.0) -> Problem:
    """A separable quadratic over W (6x4) and b (4): example i has the loss
    1/2 sum h_W (W - A_i)**2 + 1/2 sum h_b (b - 1 - B_i)**2 with curvatures h log-spaced in
    [1, condition] and targets scattered by `noise` around W* = 0, b* = 1 (the targets average
    exactly to them). The full loss minus its minimum is 1/2 sum h (theta - theta*)**2."""
    gen = _gen(seed)
    h = {
        "W": condition ** torch.rand(6, 4, generator=gen, dtype=torch.float64),
        "b": condition ** torch.rand(4, generator=gen, dtype=torch.float64),
    }
    params = {
        "W": torch.randn(6, 4, generator=gen, dtype=torch.float64),
        "b": torch.randn(4, generator=gen, dtype=torch.float64),
    }
    n = 64
    targets = {}
    for name, p in params.items():
        scatter = torch.randn(n, *p.shape, generator=gen, dtype=torch.float64)
        targets[name] = noise * (scatter - scatter.mean(0)) + (1.0 if name == "b" else 0.0)

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        total = torch.zeros((), dtype=torch.float64)
        for name, value in p.items():
            c = targets[name] if batch is None else targets[name][batch]
            total = total + 0.5 * (h[name] * (value - c) ** 2).sum() / c.shape[0]
        return total

    optimum = {"W": torch.zeros(6, 4, dtype=torch.float64), "b": torch.ones(4, dtype=torch.float64)}
    return Problem("quadratic", params, loss, n, float(loss(optimum, None)))


def valley_problem(curvature: tuple[float, float] = (0.5, 20.0)) -> Problem:
    """A two-parameter valley f(x, y) = 1/2 (h_x (x - 2)**2 + h_y (y - 1)**2), steep across
    (h_y) and flat along (h_x), started at (-2, -1.5); the minimum is f = 0 at (2, 1)."""
    hx, hy = curvature

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        xy = p["xy"]
        return 0.5 * (hx * (xy[..., 0] - 2.0) ** 2 + hy * (xy[..., 1] - 1.0) ** 2)

    return Problem("valley", {"xy": torch.tensor([-2.0, -1.5], dtype=torch.float64)}, loss)


def counterexample_problem(c: float = 3.0) -> Problem:
    """Reddi et al. (2018), Theorem 1: on x in [-1, 1] the online losses are f_t(x) = c x when
    t % 3 == 1 and -x otherwise (c > 2). Their average, (c - 2) x / 3, is smallest at x = -1; the
    logged loss is the average minus that minimum, (c - 2)(x + 1) / 3."""
    slopes = torch.tensor([c, -1.0, -1.0], dtype=torch.float64)

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        s = slopes if batch is None else slopes[batch]
        return (s.mean() * p["x"]).sum()

    params = {"x": torch.zeros(1, dtype=torch.float64)}
    optimum = -(c - 2.0) / 3.0
    return Problem("counterexample", params, loss, 3, optimum, cyclic=True, box=(-1.0, 1.0))


def logistic_problem(seed: int = 0, n: int = 200, d: int = 5) -> Problem:
    """Binary logistic regression, mean log(1 + exp(-y (x.w + bias))), on features whose scales
    range over 0.2..3 (labels drawn from a logistic model)."""
    gen = _gen(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) * torch.linspace(0.2, 3.0, d).double()
    w_true = torch.randn(d, generator=gen, dtype=torch.float64)
    y = torch.where(
        torch.rand(n, generator=gen, dtype=torch.float64) < torch.sigmoid(x @ w_true), 1.0, -1.0
    )
    params = {
        "w": 0.1 * torch.randn(d, generator=gen, dtype=torch.float64),
        "bias": torch.zeros(1, dtype=torch.float64),
    }

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        xb, yb = (x, y) if batch is None else (x[batch], y[batch])
        return torch.nn.functional.softplus(-yb * (xb @ p["w"] + p["bias"])).mean()

    return Problem("logistic", params, loss, n)


def softmax_problem(seed: int = 0, n: int = 240, d: int = 6, k: int = 3) -> Problem:
    """Multinomial logistic regression (softmax cross-entropy) on k Gaussian clusters."""
    gen = _gen(seed)
    centres = 2.0 * torch.randn(k, d, generator=gen, dtype=torch.float64)
    labels = torch.arange(n) % k
    x = centres[labels] + torch.randn(n, d, generator=gen, dtype=torch.float64)
    params = {
        "W": 0.1 * torch.randn(k, d, generator=gen, dtype=torch.float64),
        "bias": torch.zeros(k, dtype=torch.float64),
    }

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        xb, lb = (x, labels) if batch is None else (x[batch], labels[batch])
        return torch.nn.functional.cross_entropy(xb @ p["W"].T + p["bias"], lb)

    return Problem("softmax", params, loss, n)


def layers_problem(seed: int = 0, n: int = 256, scale: float = 30.0) -> Problem:
    """Least squares through two layers of very different scale: the prediction is
    x1 . w1 + x2 . w2 where the features x2 are `scale` times larger than x1, so the curvature
    of w2 is scale**2 times that of w1. The minimum (found in closed form) is subtracted."""
    gen = _gen(seed)
    x1 = torch.randn(n, 8, generator=gen, dtype=torch.float64)
    x2 = scale * torch.randn(n, 8, generator=gen, dtype=torch.float64)
    w1, w2 = (torch.randn(8, generator=gen, dtype=torch.float64) for _ in range(2))
    y = x1 @ w1 + x2 @ w2 / scale + 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)
    params = {
        "layer1.weight": 0.5 * torch.randn(8, generator=gen, dtype=torch.float64),
        "layer2.weight": 0.5 * torch.randn(8, generator=gen, dtype=torch.float64) / scale,
    }

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        idx = slice(None) if batch is None else batch
        pred = x1[idx] @ p["layer1.weight"] + x2[idx] @ p["layer2.weight"]
        return 0.5 * ((pred - y[idx]) ** 2).mean()

    best = torch.linalg.lstsq(torch.cat([x1, x2], 1), y.unsqueeze(1)).solution.squeeze(1)
    optimum = float(loss({"layer1.weight": best[:8], "layer2.weight": best[8:]}, None))
    return Problem("layers", params, loss, n, optimum)


def transformer_problem(seed: int = 0, vocab: int = 10, length: int = 8, d: int = 16) -> Problem:
    """A one-block, one-head causal transformer learning to copy the previous token from 32
    training sequences; the validation loss is measured on 32 held-out sequences."""
    gen = _gen(seed)
    tokens = torch.randint(0, vocab, (32, length), generator=gen)

    def init(*shape: int, scale: float = 1.0) -> Tensor:
        return (
            scale * torch.randn(*shape, generator=gen, dtype=torch.float64) / math.sqrt(shape[-1])
        )

    params = {
        "embed.weight": init(vocab, d, scale=math.sqrt(d)),
        "pos.weight": init(length, d, scale=math.sqrt(d)),
        "attn.query.weight": init(d, d),
        "attn.key.weight": init(d, d),
        "attn.value.weight": init(d, d),
        "mlp.in.weight": init(2 * d, d),
        "mlp.in.bias": torch.zeros(2 * d, dtype=torch.float64),
        "mlp.out.weight": init(d, 2 * d),
        "norm.weight": torch.ones(d, dtype=torch.float64),
        "norm.bias": torch.zeros(d, dtype=torch.float64),
        "head.weight": init(vocab, d),
    }
    mask = torch.ones(length, length, dtype=torch.bool).tril()
    held_out = torch.randint(0, vocab, (32, length), generator=gen)

    def loss_on(tokens: Tensor, p: Params, reduction: str = "mean") -> Tensor:
        target = torch.roll(tokens, 1, dims=1)
        h = p["embed.weight"][tokens] + p["pos.weight"]
        q, k, v = (h @ p[f"attn.{n}.weight"].T for n in ("query", "key", "value"))
        scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(~mask, -math.inf)
        h = h + torch.softmax(scores, dim=-1) @ v
        h = h + torch.relu(h @ p["mlp.in.weight"].T + p["mlp.in.bias"]) @ p["mlp.out.weight"].T
        h = torch.nn.functional.layer_norm(h, (d,), p["norm.weight"], p["norm.bias"])
        logits = h @ p["head.weight"].T
        return torch.nn.functional.cross_entropy(
            logits[:, 1:].reshape(-1, vocab), target[:, 1:].reshape(-1), reduction=reduction
        )

    def loss(p: Params, batch: Tensor | None) -> Tensor:
        return loss_on(tokens if batch is None else tokens[batch], p)

    both = torch.cat([tokens, held_out])

    def both_losses(p: Params) -> tuple[Tensor, Tensor]:
        per_token = loss_on(both, p, reduction="none").view(2, -1)
        return per_token[0].mean(), per_token[1].mean()

    return Problem(
        "transformer",
        params,
        loss,
        32,
        val_loss=lambda p: loss_on(held_out, p),
        both_losses=both_losses,
    )


PROBLEMS: dict[str, Callable[..., Problem]] = {
    "quadratic": quadratic_problem,
    "valley": valley_problem,
    "counterexample": counterexample_problem,
    "logistic": logistic_problem,
    "softmax": softmax_problem,
    "layers": layers_problem,
    "transformer": transformer_problem,
}


# ---- step rules: a learner's function, or torch.optim ----


def _norm(x: Tensor) -> float:
    return float(torch.linalg.vector_norm(x))


def _sum_count(v: Tensor) -> tuple[Tensor, int]:
    return v.sum(), v.numel()


def _factored_sum_count(row: Tensor, col: Tensor) -> tuple[Tensor, int]:
    """Sum and size of Adafactor's factored estimate without forming it: the estimate of an
    n x m matrix sums to n * sum(col) (its column means are col), over n * m entries."""
    n = row.shape[-2]
    return n * col.sum(), n * col.numel()


class _FunctionRule:
    """Drives a graded step rule over named tensors; keeps its state per tensor."""

    def __init__(self, rule: Callable[..., tuple], hparams: dict, params: Params) -> None:
        sig = inspect.signature(rule).parameters
        names = list(sig)
        self.rule, self.hparams = rule, dict(hparams)
        self.named = names[0] == "params"
        self.takes_t = "t" in sig
        self.state_names = [
            n for n in names[2:] if n != "t" and sig[n].kind is not inspect.Parameter.KEYWORD_ONLY
        ]
        self.lr = float(self.hparams.get("lr", sig["lr"].default))
        beta2 = sig["beta2"].default if "beta2" in sig else 0.0
        self.beta2 = float(self.hparams.get("beta2", beta2))
        self.factored = "row_var" in self.state_names
        self.shapes = {k: v.shape for k, v in params.items()}
        self.as_matrix = {
            k: (v.reshape(1, -1) if self.factored and v.dim() < 2 else v).shape
            for k, v in params.items()
        }
        if self.named:
            self.state = [{k: torch.zeros_like(v) for k, v in params.items()} for _ in names[2:4]]
        else:
            self.state = [
                {k: _initial_state(n, v.reshape(self.as_matrix[k])) for k, v in params.items()}
                for n in self.state_names
            ]

    def step(self, params: Params, grads: Params, t: int, lr: float) -> Params:
        hp = {**self.hparams, "lr": lr} if "lr" in self.hparams or lr != self.lr else self.hparams
        extra = (t,) if self.takes_t else ()
        if self.named:
            new, *self.state = self.rule(params, grads, *self.state, *extra, **hp)
            return dict(new)
        new = {}
        for k in params:
            theta, grad = params[k], grads[k]
            if self.factored:
                theta, grad = theta.reshape(self.as_matrix[k]), grad.reshape(self.as_matrix[k])
            out = self.rule(theta, grad, *(s[k] for s in self.state), *extra, **hp)
            new[k] = out[0].reshape(self.shapes[k]) if self.factored else out[0]
            for s, value in zip(self.state, out[1:], strict=True):
                s[k] = value
        return new

    def v_hat(self, t: int) -> list[tuple[Tensor, int]]:
        """(sum, size) of the second-moment estimate of each tensor, bias-corrected."""
        state = dict(zip(self.state_names, self.state, strict=False))
        if self.named:
            state = {"v": self.state[1]}
        correction = 1.0 - self.beta2**t if self.beta2 else 1.0
        for name in ("v_max", "v", "square_avg"):
            if name in state:
                scale = 1.0 if name == "square_avg" else correction
                return [(s / scale, n) for s, n in map(_sum_count, state[name].values())]
        if self.factored:
            return [
                _factored_sum_count(state["row_var"][k], state["col_var"][k])
                for k in state["row_var"]
            ]
        return []


def _initial_state(name: str, theta: Tensor) -> Tensor:
    if name == "row_var":
        return torch.zeros(*theta.shape[:-1], 1, dtype=theta.dtype)
    if name == "col_var":
        return torch.zeros(*theta.shape[:-2], 1, theta.shape[-1], dtype=theta.dtype)
    return torch.zeros_like(theta)


class _TorchRule:
    """Drives a torch.optim optimizer over copies of the problem's tensors."""

    def __init__(self, optimizer: type, hparams: dict, params: Params) -> None:
        hp = {k: tuple(v) if isinstance(v, list) else v for k, v in hparams.items()}
        self.leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
        self.opt = optimizer(list(self.leaves.values()), **hp)
        self.lr = float(self.opt.param_groups[0]["lr"])

    def step(self, params: Params, grads: Params, t: int, lr: float) -> Params:
        for group in self.opt.param_groups:
            group["lr"] = lr
        with torch.no_grad():
            for k, leaf in self.leaves.items():
                leaf.copy_(params[k])
                leaf.grad = grads[k].clone()
        self.opt.step()
        return {k: v.detach().clone() for k, v in self.leaves.items()}

    def v_hat(self, t: int) -> list[tuple[Tensor, int]]:
        """(sum, size) of the second-moment estimate of each tensor, bias-corrected."""
        group = self.opt.param_groups[0]
        out = []
        for leaf in self.leaves.values():
            s = self.opt.state[leaf]
            if "exp_avg_sq" in s:
                v = s["max_exp_avg_sq"] if group.get("amsgrad") else s["exp_avg_sq"]
                total, n = _sum_count(v)
                out.append((total / (1.0 - group["betas"][1] ** float(s["step"])), n))
            elif "square_avg" in s:
                out.append(_sum_count(s["square_avg"]))
            elif "row_var" in s:
                out.append(_factored_sum_count(s["row_var"], s["col_var"]))
            elif "variance" in s:
                out.append(_sum_count(s["variance"]))
        return out


def train(
    problem: Problem,
    rule: Callable[..., tuple] | type,
    hparams: dict | None = None,
    steps: int = 50,
    *,
    batch_size: int | None = None,
    lr_decay: str | None = None,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Minimise `problem` with `rule` for `steps` steps (t = 1..steps); returns the logs.

    `rule` is a graded step rule or a torch.optim optimizer class (then `hparams` are its
    constructor's). `batch_size` trains on minibatches; `lr_decay="sqrt"` uses lr / sqrt(t)."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        steps = min(steps, 2)
    params = {k: v.clone() for k, v in problem.params.items()}
    runner: _TorchRule | _FunctionRule
    if isinstance(rule, type):
        runner = _TorchRule(rule, hparams or {}, params)
    else:
        runner = _FunctionRule(rule, hparams or {}, params)
    gen = _gen(seed)
    logs: dict[str, list[float]] = {key: [] for key in METRICS}
    norms = [_norm(v) for v in params.values()]  # of the tensors before the step
    for t in range(1, steps + 1):
        batch = _batch(problem, t, batch_size, gen)
        leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
        grads = dict(
            zip(
                leaves,
                torch.autograd.grad(problem.loss(leaves, batch), list(leaves.values())),
                strict=True,
            )
        )
        lr = runner.lr / math.sqrt(t) if lr_decay == "sqrt" else runner.lr
        new = {k: v.detach() for k, v in runner.step(params, grads, t, lr).items()}
        if problem.box is not None:
            new = {k: v.clamp(*problem.box) for k, v in new.items()}
        norms = _log(logs, problem, params, new, grads, runner.v_hat(t), norms)
        params = new
    return logs


def _batch(problem: Problem, t: int, size: int | None, gen: torch.Generator) -> Tensor | None:
    if problem.cyclic:
        return torch.tensor([(t - 1) % problem.n_data])
    if size is None or not problem.n_data or size >= problem.n_data:
        return None
    return torch.randperm(problem.n_data, generator=gen)[:size]


METRICS = (
    "loss",
    "val_loss",
    "grad_norm",
    "param_norm",
    "update_norm",
    "update_rms",
    "update_max",
    "update_min",
    "update_ratio",
    "update_ratio_lo",
    "update_ratio_hi",
    "ratio_spread",
    "v_hat",
    "x",
    "path_x",
    "path_y",
)


def _log(
    logs: dict,
    problem: Problem,
    before: Params,
    after: Params,
    grads: Params,
    v_hat: list,
    before_norms: list[float],
) -> list[float]:
    """Append this step's metrics to `logs`; returns the norms of the tensors after the step."""
    names = list(before)
    deltas = [after[k] - before[k] for k in names]
    with torch.no_grad():
        if problem.both_losses is not None:
            loss, val = (float(x) for x in problem.both_losses(after))
        else:
            loss = float(problem.loss(after, None))
            val = float(problem.val_loss(after)) if problem.val_loss else math.nan
        loss -= problem.optimum
        per_tensor = [(d, after[k], grads[k]) for k, d in zip(names, deltas, strict=True)]
        stacked = torch.stack([torch.linalg.vector_norm(t) for row in per_tensor for t in row])
        three: list[list[float]] = stacked.view(len(names), 3).tolist()
        norms = [[b, *rest] for b, rest in zip(before_norms, three, strict=True)]
        flat = torch.cat([d.reshape(-1) for d in deltas]).abs_()
        extremes = torch.stack([flat.max(), flat.min()]).tolist()
        v_mean = float(sum(s for s, _ in v_hat)) / sum(n for _, n in v_hat) if v_hat else math.nan
    ratios = [step / norm for norm, step, _, _ in norms if norm > 0]
    total_step = math.sqrt(sum(n[1] ** 2 for n in norms))
    lo, hi = (min(ratios), max(ratios)) if ratios else (math.nan, math.nan)
    first = after[names[0]]
    single = len(names) == 1
    values = {
        "loss": loss,
        "val_loss": val,
        "grad_norm": math.sqrt(sum(n[3] ** 2 for n in norms)),
        "param_norm": math.sqrt(sum(n[2] ** 2 for n in norms)),
        "update_norm": total_step,
        "update_rms": total_step / math.sqrt(flat.numel()),
        "update_max": extremes[0],
        "update_min": extremes[1],
        "update_ratio": statistics.median(ratios) if ratios else math.nan,
        "update_ratio_lo": lo,
        "update_ratio_hi": hi,
        "ratio_spread": hi / lo if ratios and lo > 0 else math.nan,
        "v_hat": v_mean,
        "x": float(first.mean()) if single else math.nan,
        "path_x": float(first[0]) if single and first.numel() == 2 else math.nan,
        "path_y": float(first[1]) if single and first.numel() == 2 else math.nan,
    }
    for key, value in values.items():
        logs[key].append(value)
    for k, (norm, step, norm_after, _) in zip(names, norms, strict=True):
        ratio = step / norm if norm > 0 else (math.inf if step > 0 else math.nan)
        logs.setdefault(f"param_norm[{k}]", []).append(norm_after)
        logs.setdefault(f"update_ratio[{k}]", []).append(ratio)
    return [n[2] for n in norms]


# ---- plots ----

TITLES = {
    "loss": "loss (minus its minimum, where known)",
    "val_loss": "held-out loss",
    "grad_norm": "gradient norm ||g||",
    "param_norm": "weight norm ||θ||",
    "update_norm": "step norm ||Δθ||",
    "update_rms": "step RMS ||Δθ||/√n",
    "update_max": "largest |Δθ_i|",
    "update_min": "smallest |Δθ_i|",
    "update_ratio": "||Δθ_l||/||θ_l||: median over tensors, band = min..max",
    "ratio_spread": "max/min over tensors of ||Δθ_l||/||θ_l||",
    "v_hat": "mean v̂ (bias-corrected; RMSProp: v; Adafactor: RC/mean R)",
    "x": "iterate x",
    "trajectory": "path over the loss contours",
}


def plot_logs(logs: dict[str, dict[str, list[float]]], panels: list[str], title: str) -> None:
    """One panel per metric (log scale where the values are positive), one line per run; the
    panel "trajectory" draws two-parameter paths over the loss contours."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        return
    import matplotlib.pyplot as plt

    runs = {k: v for k, v in logs.items() if "loss" in v}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.8 * len(panels), 3.0), dpi=72)
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, panel in zip(axes, panels, strict=True):
        if panel == "trajectory":
            _contours(ax, runs)
        else:
            _curves(ax, runs, panel)
        ax.set_title(TITLES.get(panel, panel), fontsize=8)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def _curves(ax, runs: dict, metric: str) -> None:  # noqa: ANN001 - a matplotlib Axes
    positive = True
    for label, log in runs.items():
        values = log[metric]
        steps = range(1, len(values) + 1)
        positive &= all(v > 0 for v in values if not math.isnan(v))
        (line,) = ax.plot(steps, values, label=label)
        if metric == "update_ratio":
            ax.fill_between(
                steps,
                log["update_ratio_lo"],
                log["update_ratio_hi"],
                alpha=0.2,
                color=line.get_color(),
            )
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("step t")


def _contours(ax, runs: dict) -> None:  # noqa: ANN001 - a matplotlib Axes
    problem = valley_problem()
    xs = torch.linspace(-2.5, 3.0, 80, dtype=torch.float64)
    ys = torch.linspace(-2.0, 2.0, 60, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    ax.contour(xs, ys, problem.loss({"xy": grid}, None), levels=15, linewidths=0.5, colors="grey")
    start = problem.params["xy"].tolist()
    for label, log in runs.items():
        ax.plot([start[0], *log["path_x"]], [start[1], *log["path_y"]], ".-", ms=2, label=label)
    ax.plot([2.0], [1.0], "k*")
