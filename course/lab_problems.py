"""The lab's problems: objectives over named tensors with known starting points (copied into every
notebook, with course.lab, in the collapsed lab cell; standard library and torch only).

    quadratic       separable ill-conditioned quadratic; minimum known; examples for minibatches
    valley          two parameters, steep across and flat along (drawn as contours)
    counterexample  Reddi et al. (2018)'s online convex problem on [-1, 1]
    layers          least squares through two layers of very different scale
    logistic        binary logistic regression
    softmax         multinomial logistic regression on Gaussian clusters
    transformer     a one-block transformer copying the previous token, with held-out data
"""

from __future__ import annotations

import math
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


def seeded(seed: int) -> torch.Generator:
    """A random generator of its own, so every problem and run is reproducible."""
    return torch.Generator().manual_seed(seed)


def quadratic_problem(seed: int = 0, condition: float = 100.0, noise: float = 1.0) -> Problem:
    """A separable quadratic over W (6x4) and b (4): example i has the loss
    1/2 sum h_W (W - A_i)**2 + 1/2 sum h_b (b - 1 - B_i)**2 with curvatures h log-spaced in
    [1, condition] and targets scattered by `noise` around W* = 0, b* = 1 (the targets average
    exactly to them). The full loss minus its minimum is 1/2 sum h (theta - theta*)**2."""
    gen = seeded(seed)
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
    gen = seeded(seed)
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
    gen = seeded(seed)
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
    gen = seeded(seed)
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
    gen = seeded(seed)
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
