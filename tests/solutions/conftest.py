"""Shared builders for the solutions tests: example arguments for every graded function."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pytest
import torch

CUDA = torch.cuda.is_available()

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not CUDA, reason="CUDA is not available on this machine"),
        ],
    ),
]


def example_call(
    name: str, shape: tuple[int, ...], dtype: torch.dtype, device: str | torch.device
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional and keyword arguments for one call of a graded function (t = 2)."""
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def rnd(*s: int) -> torch.Tensor:
        return torch.randn(*(s or shape), generator=gen, dtype=torch.float64).to(dtype).to(device)

    def pos(*s: int) -> torch.Tensor:
        return rnd(*s).abs()

    theta, grad = rnd(), rnd()
    n, m = shape[-2] if len(shape) > 1 else 1, shape[-1]
    lead = shape[:-2]
    builders: dict[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]] = {
        "ema": lambda: ((rnd(), rnd(), 0.9), {}),
        "coupled_l2_grad": lambda: ((theta, grad, 0.1), {}),
        "rmsprop_step": lambda: ((theta, grad, pos()), {"weight_decay": 0.1}),
        "adam_first_moment": lambda: ((rnd(), grad), {}),
        "first_moment_trajectory": lambda: ((rnd(4, *shape),), {}),
        "decoupled_weight_decay": lambda: ((theta, 0.1, 0.1), {}),
        "adamw_step": lambda: ((theta, grad, rnd(), pos(), 2), {}),
        "adam_second_moment": lambda: ((pos(), grad), {}),
        "adafactor_accumulators": lambda: (
            (pos(*lead, n, 1), pos(*lead, 1, m), grad, 0.5),
            {},
        ),
        "factored_second_moment": lambda: ((pos(*lead, n, 1), pos(*lead, 1, m)), {}),
        "adafactor_step": lambda: (
            (theta, grad, pos(*lead, n, 1), pos(*lead, 1, m), 2),
            {"weight_decay": 0.1},
        ),
        "lars_trust_ratio": lambda: ((theta, grad), {"weight_decay": 0.1}),
        "lars_step": lambda: ((theta, grad, rnd()), {}),
        "bias_correction": lambda: ((rnd(), pos(), 2), {}),
        "adam_step": lambda: ((theta, grad, rnd(), pos(), 2), {"weight_decay": 0.1}),
        "adafactor_beta2": lambda: ((2,), {}),
        "adam_direction": lambda: ((rnd(), pos()), {}),
        "effective_lr": lambda: ((0.1, pos()), {}),
        "amsgrad_step": lambda: ((theta, grad, rnd(), pos(), pos(), 2), {}),
        "lamb_step": lambda: ((theta, grad, rnd(), pos(), 2), {}),
        "trust_ratio": lambda: ((theta, grad), {}),
        "update_diagnostics": lambda: ((theta, rnd(), grad), {}),
        "layerwise_trust_ratios": lambda: (
            ({"w": theta, "bias": rnd()}, {"w": grad, "bias": rnd()}),
            {},
        ),
        "lamb_model_step": lambda: (
            (
                {"w": theta, "norm.b": rnd()},
                {"w": grad, "norm.b": rnd()},
                {"w": rnd(), "norm.b": rnd()},
                {"w": pos(), "norm.b": pos()},
                2,
            ),
            {},
        ),
    }
    return builders[name]()


def tensors_of(x: Any) -> list[torch.Tensor]:
    """Every tensor inside a result or argument (tuples, lists and dicts flattened)."""
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, dict):
        return [t for v in x.values() for t in tensors_of(v)]
    if isinstance(x, tuple | list):
        return [t for v in x for t in tensors_of(v)]
    return []
