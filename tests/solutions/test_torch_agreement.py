"""Do the reference step functions agree with torch.optim over multi-step trajectories?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from solutions import adafactor_step, adam_step, adamw_step, amsgrad_step, rmsprop_step

SHAPES = [(3,), (4, 5), (2, 3, 4)]
MATRIX_SHAPES = [(4, 5), (5, 5), (2, 3, 4)]
STEPS = 5


def _grads(shape: tuple[int, ...], dtype: torch.dtype, decaying: bool) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1234 + len(shape))
    gs = [torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(STEPS)]
    if decaying:
        gs = [g * 0.3 ** (t + 1) for t, g in enumerate(gs)]
    return [g.to(dtype) for g in gs]


def _theta0(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    gen = torch.Generator().manual_seed(99 + len(shape))
    return torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)


def _run_torch(
    make: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    theta0: torch.Tensor,
    grads: list[torch.Tensor],
) -> torch.Tensor:
    p = torch.nn.Parameter(theta0.clone())
    opt = make([p])
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach()


# name -> (torch optimizer factory from hparams, our trajectory runner, configs)
def _adam_like(step: Callable[..., Any], amsgrad: bool = False) -> Callable[..., torch.Tensor]:
    def run(theta: torch.Tensor, grads: list[torch.Tensor], hp: dict[str, float]) -> torch.Tensor:
        m, v, vmax = (torch.zeros_like(theta) for _ in range(3))
        for t, g in enumerate(grads, start=1):
            if amsgrad:
                theta, m, v, vmax = step(theta, g, m, v, vmax, t, **hp)
            else:
                theta, m, v = step(theta, g, m, v, t, **hp)
        return theta

    return run


def _run_rmsprop(theta: torch.Tensor, grads: list[torch.Tensor], hp: dict[str, float]):
    sq = torch.zeros_like(theta)
    for g in grads:
        theta, sq = rmsprop_step(theta, g, sq, **hp)
    return theta


def _run_adafactor(theta: torch.Tensor, grads: list[torch.Tensor], hp: dict[str, Any]):
    row = torch.zeros(*theta.shape[:-1], 1, dtype=theta.dtype)
    col = torch.zeros(*theta.shape[:-2], 1, theta.shape[-1], dtype=theta.dtype)
    for t, g in enumerate(grads, start=1):
        theta, row, col = adafactor_step(theta, g, row, col, t, **hp)
    return theta


def _torch_adam_kwargs(hp: dict[str, float]) -> dict[str, Any]:
    hp = dict(hp)
    betas = (hp.pop("beta1", 0.9), hp.pop("beta2", 0.999))
    return {"betas": betas, **hp}


ADAM_PROBE = {"lr": 0.1, "beta1": 0.8, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.1}

CASES: list[tuple[str, Any, Any, dict[str, Any], bool, list[tuple[int, ...]]]] = [
    (
        "rmsprop-default",
        lambda ps, hp: torch.optim.RMSprop(ps, **hp),
        _run_rmsprop,
        {},
        False,
        SHAPES,
    ),
    (
        "rmsprop-probe",
        lambda ps, hp: torch.optim.RMSprop(ps, **hp),
        _run_rmsprop,
        {"lr": 0.05, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1},
        False,
        SHAPES,
    ),
    (
        "adam-default",
        lambda ps, hp: torch.optim.Adam(ps, **_torch_adam_kwargs(hp)),
        _adam_like(adam_step),
        {},
        False,
        SHAPES,
    ),
    (
        "adam-probe-coupled-l2",
        lambda ps, hp: torch.optim.Adam(ps, **_torch_adam_kwargs(hp)),
        _adam_like(adam_step),
        ADAM_PROBE,
        False,
        SHAPES,
    ),
    (
        "adamw-default",
        lambda ps, hp: torch.optim.AdamW(ps, **_torch_adam_kwargs(hp)),
        _adam_like(adamw_step),
        {},
        False,
        SHAPES,
    ),
    (
        "adamw-probe",
        lambda ps, hp: torch.optim.AdamW(ps, **_torch_adam_kwargs(hp)),
        _adam_like(adamw_step),
        ADAM_PROBE,
        False,
        SHAPES,
    ),
    (
        "amsgrad-default-decaying",
        lambda ps, hp: torch.optim.Adam(ps, amsgrad=True, **_torch_adam_kwargs(hp)),
        _adam_like(amsgrad_step, amsgrad=True),
        {},
        True,
        SHAPES,
    ),
    (
        "amsgrad-probe-decaying",
        lambda ps, hp: torch.optim.Adam(ps, amsgrad=True, **_torch_adam_kwargs(hp)),
        _adam_like(amsgrad_step, amsgrad=True),
        ADAM_PROBE,
        True,
        SHAPES,
    ),
    (
        "amsgrad-probe-iid",
        lambda ps, hp: torch.optim.Adam(ps, amsgrad=True, **_torch_adam_kwargs(hp)),
        _adam_like(amsgrad_step, amsgrad=True),
        ADAM_PROBE,
        False,
        SHAPES,
    ),
    (
        "adafactor-default",
        lambda ps, hp: torch.optim.Adafactor(ps, **hp),
        _run_adafactor,
        {},
        False,
        MATRIX_SHAPES,
    ),
    (
        "adafactor-probe",
        lambda ps, hp: torch.optim.Adafactor(ps, **hp),
        _run_adafactor,
        {"lr": 0.05, "weight_decay": 0.1},
        False,
        MATRIX_SHAPES,
    ),
]


def _adafactor_torch_kwargs(hp: dict[str, Any]) -> dict[str, Any]:
    hp = dict(hp)
    if "eps1" in hp or "eps2" in hp:
        hp["eps"] = (hp.pop("eps1", None), hp.pop("eps2", 1e-3))
    return hp


CASES.append(
    (
        "adafactor-eps-d-decay",
        lambda ps, hp: torch.optim.Adafactor(ps, **_adafactor_torch_kwargs(hp)),
        _run_adafactor,
        {"lr": 0.5, "d": 1.2, "eps1": 1e-3, "eps2": 1e-3, "beta2_decay": -0.5},
        False,
        MATRIX_SHAPES,
    )
)

PARAMS = [
    pytest.param(make, ours, hp, decaying, shape, id=f"{name}-{'x'.join(map(str, shape))}")
    for name, make, ours, hp, decaying, shapes in CASES
    for shape in shapes
]


@pytest.mark.parametrize(("make", "ours", "hp", "decaying", "shape"), PARAMS)
def test_matches_torch_optim_float64(make, ours, hp, decaying, shape):
    """Five float64 steps of our rule stay within 1e-12 of torch.optim's."""
    theta0 = _theta0(shape, torch.float64)
    grads = _grads(shape, torch.float64, decaying)
    expected = _run_torch(lambda ps: make(ps, hp), theta0, grads)
    got = ours(theta0, grads, hp)
    assert got.dtype == torch.float64
    assert (got - expected).abs().max().item() <= 1e-12


@pytest.mark.parametrize(("make", "ours", "hp", "decaying", "shape"), PARAMS)
def test_matches_torch_optim_float32(make, ours, hp, decaying, shape):
    """Five float32 steps agree with torch.optim to 2e-5 relative to |theta| and stay float32."""
    theta0 = _theta0(shape, torch.float32)
    grads = _grads(shape, torch.float32, decaying)
    expected = _run_torch(lambda ps: make(ps, hp), theta0, grads)
    got = ours(theta0, grads, hp)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=2e-5, atol=2e-5 * expected.abs().max().item())
