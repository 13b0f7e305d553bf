"""Experiment helpers given to learners: the training loop, its metrics and the plots.

This file is copied verbatim into every notebook (in the collapsed, locked "lab" cell, after
course.lab_problems), so it uses only the standard library, torch and matplotlib. `train`
drives a graded step rule of the course, `rule(theta, grad, *state[, t], **hparams) ->
(theta, *state)` or its dict form
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

import torch
from torch import Tensor

from course.lab_problems import Params, Problem, seeded, valley_problem

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
    gen = seeded(seed)
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
