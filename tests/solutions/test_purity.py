"""Are the references pure and portable: no mutation, no aliasing, dtype and device kept?"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch

import solutions
from alr.contract import FUNCTION_MODULE, MODULE_FUNCTIONS

from .conftest import DEVICES, example_call, tensors_of

FUNCTIONS = sorted(FUNCTION_MODULE)
FLOAT_RESULTS = {"adafactor_beta2", "update_diagnostics", "layerwise_trust_ratios"}
SHAPES = [(4, 5), (2, 3, 4)]


def test_every_contract_function_is_exported_with_its_signature():
    """All 24 functions are importable from `solutions` and keep the contract's parameters."""
    assert len(FUNCTIONS) == 24
    assert sum(len(f) for f in MODULE_FUNCTIONS.values()) == 24
    for name in FUNCTIONS:
        assert name in solutions.__all__
    sig = inspect.signature(solutions.adam_step)
    assert list(sig.parameters) == [
        "theta",
        "grad",
        "m",
        "v",
        "t",
        "lr",
        "beta1",
        "beta2",
        "eps",
        "weight_decay",
    ]
    assert sig.parameters["lr"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["eps"].default == 1e-8
    assert inspect.signature(solutions.lamb_step).parameters["eps"].default == 1e-6
    assert inspect.signature(solutions.adamw_step).parameters["weight_decay"].default == 1e-2
    assert inspect.signature(solutions.lamb_model_step).parameters["exclude"].default == (
        "bias",
        "norm",
    )


def _snapshot(args: Any) -> list[torch.Tensor]:
    return [t.clone() for t in tensors_of(args)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_pure_and_dtype_device_preserving(name, shape, dtype, device):
    """Inputs unchanged, results never share storage with inputs, dtype and device kept."""
    args, kwargs = example_call(name, shape, dtype, device)
    before = _snapshot((args, kwargs))
    result = solutions.reference(name)(*args, **kwargs)
    after = tensors_of((args, kwargs))
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True)), "input mutated"
    in_ptrs = {t.untyped_storage().data_ptr() for t in after}
    for out in tensors_of(result):
        assert out.untyped_storage().data_ptr() not in in_ptrs, "result aliases an input"
        assert out.dtype == dtype
        assert out.device.type == torch.device(device).type
    if name in FLOAT_RESULTS:
        values = result.values() if isinstance(result, dict) else [result]
        assert all(type(v) is float for v in values)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(set(FUNCTIONS) - FLOAT_RESULTS))
def test_runs_on_meta_tensors(name, shape):
    """Device-agnostic: every tensor function runs on `meta` (no .item(), .cpu(), numpy)."""
    args, kwargs = example_call(name, shape, torch.float32, "meta")
    result = solutions.reference(name)(*args, **kwargs)
    outs = tensors_of(result)
    assert outs and all(o.device.type == "meta" and o.dtype == torch.float32 for o in outs)


def test_float32_is_not_promoted_by_python_scalars():
    """Hyperparameters as Python floats (and beta**t) leave float32 results float32."""
    theta = torch.randn(5, dtype=torch.float32)
    z = torch.zeros_like(theta)
    out = solutions.adam_step(theta, theta, z, z, 7, lr=0.1, beta1=0.8, beta2=0.9, eps=1e-3)
    assert {t.dtype for t in out} == {torch.float32}
