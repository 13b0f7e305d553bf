"""Experiment helpers given to learners: small problems, a training loop, metrics and plots.

This file is copied verbatim into every notebook (a locked "lab" cell), so it uses only the
standard library, torch and matplotlib. `train` drives any graded step rule of the course,
`rule(theta, grad, *state[, t], **hparams) -> (theta, *state)` or its dict form
(`lamb_model_step`), so a learner watches their own implementation train. Logged per step:

    loss, grad_norm = ||g||, param_norm = ||theta||, update_norm = ||theta_t - theta_{t-1}||
    update_ratio  = max over tensors of ||delta theta_l|| / ||theta_{l, t-1}||
    trust_ratio   = median over tensors of ||theta_{l, t-1}|| / ||delta theta_l / lr||
                    (the layerwise ratio of the step actually taken: 1 under LAMB)
    second_moment = mean of the second-moment state (v, square_avg, Adafactor's row factor)
    val_loss      = loss on held-out data (the transformer), before the step

Under `nbgrader autograde` (NBGRADER_EXECUTION=autograde) experiments train 2 steps and draw
nothing: grading needs only the test cells, and every second of a batch counts.
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

_SECOND_MOMENT_STATE = ("v", "square_avg", "row_var", "vs")


@dataclass
class Problem:
    """An objective over named tensors with a known starting point."""

    name: str
    params: dict[str, Tensor]
    loss: Callable[[dict[str, Tensor]], Tensor]
    val_loss: Callable[[dict[str, Tensor]], Tensor] | None = None  # on held-out data


def quadratic_problem(seed: int = 0, condition: float = 100.0) -> Problem:
    """f(W, b) = 1/2 sum h_W * W**2 + 1/2 sum h_b * (b - 1)**2, curvatures log-spaced in
    [1, condition]; the minimum is f = 0 at W = 0, b = 1, so the loss is the suboptimality."""
    gen = torch.Generator().manual_seed(seed)
    h_w = condition ** torch.rand(6, 4, generator=gen, dtype=torch.float64)
    h_b = condition ** torch.rand(4, generator=gen, dtype=torch.float64)
    params = {
        "W": torch.randn(6, 4, generator=gen, dtype=torch.float64),
        "b": torch.randn(4, generator=gen, dtype=torch.float64),
    }

    def loss(p: dict[str, Tensor]) -> Tensor:
        return 0.5 * (h_w * p["W"] ** 2).sum() + 0.5 * (h_b * (p["b"] - 1.0) ** 2).sum()

    return Problem("quadratic", params, loss)


def logistic_problem(seed: int = 0, n: int = 200, d: int = 5) -> Problem:
    """Binary logistic regression: mean log(1 + exp(-y * (x.w + b))) on synthetic data."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64) * torch.linspace(0.2, 3.0, d).double()
    w_true = torch.randn(d, generator=gen, dtype=torch.float64)
    y = torch.where(
        torch.rand(n, generator=gen, dtype=torch.float64) < torch.sigmoid(x @ w_true), 1.0, -1.0
    )
    params = {
        "w": 0.1 * torch.randn(d, generator=gen, dtype=torch.float64),
        "bias": torch.zeros(1, dtype=torch.float64),
    }

    def loss(p: dict[str, Tensor]) -> Tensor:
        return torch.nn.functional.softplus(-y * (x @ p["w"] + p["bias"])).mean()

    return Problem("logistic", params, loss)


def softmax_problem(seed: int = 0, n: int = 240, d: int = 6, k: int = 3) -> Problem:
    """Multinomial logistic regression (softmax cross-entropy) on k Gaussian clusters."""
    gen = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(k, d, generator=gen, dtype=torch.float64)
    labels = torch.arange(n) % k
    x = centres[labels] + torch.randn(n, d, generator=gen, dtype=torch.float64)
    params = {
        "W": 0.1 * torch.randn(k, d, generator=gen, dtype=torch.float64),
        "bias": torch.zeros(k, dtype=torch.float64),
    }

    def loss(p: dict[str, Tensor]) -> Tensor:
        return torch.nn.functional.cross_entropy(x @ p["W"].T + p["bias"], labels)

    return Problem("softmax", params, loss)


def transformer_problem(seed: int = 0, vocab: int = 10, length: int = 8, d: int = 16) -> Problem:
    """A one-block, one-head causal transformer learning to copy the previous token; the
    validation loss is measured on 32 held-out sequences."""
    gen = torch.Generator().manual_seed(seed)
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

    def loss_on(tokens: Tensor, p: dict[str, Tensor]) -> Tensor:
        target = torch.roll(tokens, 1, dims=1)
        h = p["embed.weight"][tokens] + p["pos.weight"]
        q, k, v = (h @ p[f"attn.{n}.weight"].T for n in ("query", "key", "value"))
        scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(~mask, -math.inf)
        h = h + torch.softmax(scores, dim=-1) @ v
        h = h + torch.relu(h @ p["mlp.in.weight"].T + p["mlp.in.bias"]) @ p["mlp.out.weight"].T
        h = torch.nn.functional.layer_norm(h, (d,), p["norm.weight"], p["norm.bias"])
        logits = h @ p["head.weight"].T
        return torch.nn.functional.cross_entropy(
            logits[:, 1:].reshape(-1, vocab), target[:, 1:].reshape(-1)
        )

    return Problem(
        "transformer", params, lambda p: loss_on(tokens, p), lambda p: loss_on(held_out, p)
    )


PROBLEMS: dict[str, Callable[..., Problem]] = {
    "quadratic": quadratic_problem,
    "logistic": logistic_problem,
    "softmax": softmax_problem,
    "transformer": transformer_problem,
}


def _initial_state(name: str, theta: Tensor) -> Tensor:
    if name == "row_var":
        return torch.zeros(*theta.shape[:-1], 1, dtype=theta.dtype)
    if name == "col_var":
        return torch.zeros(*theta.shape[:-2], 1, theta.shape[-1], dtype=theta.dtype)
    return torch.zeros_like(theta)


def _norm(x: Tensor) -> float:
    return float(torch.linalg.vector_norm(x))


def train(
    problem: Problem, rule: Callable[..., tuple], hparams: dict, steps: int
) -> dict[str, list[float]]:
    """Minimise `problem` with `rule` for `steps` steps (t = 1..steps); returns the logs."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        steps = min(steps, 2)
    sig = inspect.signature(rule).parameters
    names = list(sig)
    named = names[0] == "params"
    state_names = [
        n for n in names[2:] if n != "t" and sig[n].kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    lr = float(hparams.get("lr", sig["lr"].default))
    factored = "row_var" in state_names
    params = {k: v.clone() for k, v in problem.params.items()}
    shapes = {k: v.shape for k, v in params.items()}
    as_matrix = {
        k: (v.reshape(1, -1) if factored and v.dim() < 2 else v) for k, v in params.items()
    }
    if named:
        state = [{k: torch.zeros_like(v) for k, v in params.items()} for _ in state_names]
    else:
        state = [{k: _initial_state(n, v) for k, v in as_matrix.items()} for n in state_names]
    logs: dict[str, list[float]] = {
        key: []
        for key in (
            "loss",
            "grad_norm",
            "param_norm",
            "update_norm",
            "update_ratio",
            "trust_ratio",
            "second_moment",
            "val_loss",
        )
    }
    for t in range(1, steps + 1):
        leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
        loss = problem.loss(leaves)
        grads = dict(zip(leaves, torch.autograd.grad(loss, list(leaves.values())), strict=True))
        extra = (t,) if "t" in sig else ()
        if named:
            new, *state = rule(params, grads, *state, *extra, **hparams)
        else:
            new = {}
            for k in params:
                shape = as_matrix[k].shape
                out = rule(
                    params[k].reshape(shape),
                    grads[k].reshape(shape),
                    *(s[k] for s in state),
                    *extra,
                    **hparams,
                )
                new[k] = out[0].reshape(shapes[k])
                for s, value in zip(state, out[1:], strict=True):
                    s[k] = value
        named_state = dict(zip(state_names, state, strict=True))
        _log(logs, float(loss.detach()), params, new, grads, lr, named_state)
        with torch.no_grad():
            val = float(problem.val_loss(params)) if problem.val_loss else math.nan
        logs["val_loss"].append(val)
        params = {k: v.detach() for k, v in new.items()}
    with torch.no_grad():
        logs["final_loss"] = [float(problem.loss(params))]
    return logs


def _log(
    logs: dict, loss: float, before: dict, after: dict, grads: dict, lr: float, state: dict
) -> None:
    deltas = {k: after[k] - before[k] for k in before}
    ratios = [_norm(deltas[k]) / _norm(before[k]) for k in before if _norm(before[k]) > 0]
    trust = [
        lr * _norm(before[k]) / _norm(deltas[k])
        for k in before
        if _norm(before[k]) > 0 and _norm(deltas[k]) > 0
    ]
    second = [
        s for n, buffers in state.items() if n in _SECOND_MOMENT_STATE for s in buffers.values()
    ]
    logs["loss"].append(loss)
    logs["grad_norm"].append(math.sqrt(sum(_norm(g) ** 2 for g in grads.values())))
    logs["param_norm"].append(math.sqrt(sum(_norm(p) ** 2 for p in before.values())))
    logs["update_norm"].append(math.sqrt(sum(_norm(d) ** 2 for d in deltas.values())))
    logs["update_ratio"].append(max(ratios) if ratios else math.nan)
    logs["trust_ratio"].append(statistics.median(trust) if trust else math.nan)
    logs["second_moment"].append(
        float(torch.cat([s.flatten() for s in second]).mean()) if second else math.nan
    )


def summarise(logs: dict[str, dict[str, list[float]]]) -> None:
    """Print the last value of every logged metric, one run per row."""
    keys = ["loss", "grad_norm", "update_norm", "update_ratio", "trust_ratio", "second_moment"]
    if any(not math.isnan(log["val_loss"][-1]) for log in logs.values()):
        keys.append("val_loss")
    print(f"{'run':<34}" + "".join(f"{k:>15}" for k in ["final_loss", *keys]))
    for label, log in logs.items():
        row = "".join(f"{log[k][-1]:>15.4g}" for k in keys)
        print(f"{label:<34}{log['final_loss'][0]:>15.4g}{row}")


def plot_logs(logs: dict[str, dict[str, list[float]]], metrics: list[str], title: str) -> None:
    """One panel per metric (log scale where the values are positive), one line per run."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        return
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(metrics), figsize=(3.6 * len(metrics), 2.8), dpi=72, squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        positive = True
        for label, log in logs.items():
            values = log[metric]
            positive &= all(v > 0 for v in values if not math.isnan(v))
            ax.plot(range(1, len(values) + 1), values, label=label)
        if positive:
            ax.set_yscale("log")
        ax.set_title(metric)
        ax.set_xlabel("step t")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()
