"""The contract: one table that every part derives from, and the references that implement it."""

from __future__ import annotations

import inspect

import pytest

import solutions
from alr.contract import (
    FUNCTION_MODULE,
    FUNCTIONS,
    MODULE_FUNCTIONS,
    STEP_RULES,
    Extent,
    Role,
    Tolerance,
    tolerance_for,
)


def test_every_module_function_has_one_call_shape_and_one_reference():
    """Is each of the 24 functions of the module table described once and implemented once?"""
    listed = [fn for fns in MODULE_FUNCTIONS.values() for fn in fns]
    assert len(listed) == len(set(listed)) == 24
    assert set(FUNCTIONS) == set(listed) == set(FUNCTION_MODULE)
    for fn in listed:
        assert callable(solutions.reference(fn))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_reference_takes_the_contracts_tensors_and_step_counter(name):
    """Do the reference's parameters start with the contract's tensors (and t), in order?"""
    spec = FUNCTIONS[name]
    params = list(inspect.signature(solutions.reference(name)).parameters)
    inputs = [p for p in params if p in spec.tensor_names or p == "t"]
    expected = [*spec.tensor_names, *(["t"] if spec.takes_t else [])]
    assert inputs == expected
    for out, arg in spec.carry:
        assert out in spec.outputs and arg in spec.tensor_names


def test_step_rules_are_parameter_and_gradient_first_and_carry_all_their_state():
    """Is every step rule (theta, grad, *state[, t]) -> (theta, *state)?"""
    assert "adam_step" in STEP_RULES and "ema" not in STEP_RULES
    for name in STEP_RULES:
        spec = FUNCTIONS[name]
        roles = [a.role for a in spec.tensors]
        assert roles[:2] == [Role.PARAM, Role.GRAD] and set(roles[2:]) == {Role.STATE}
        assert [a for _, a in spec.carry] == list(spec.tensor_names[:1] + spec.tensor_names[2:])
        assert spec.displacement == (spec.outputs[0], spec.tensor_names[0])


def test_derived_properties_of_the_call_shapes():
    """Are the factored functions matrix-only and the trajectory function a single call?"""
    matrix = {n for n, f in FUNCTIONS.items() if f.needs_matrix}
    assert matrix == {"adafactor_accumulators", "factored_second_moment", "adafactor_step"}
    assert [n for n, f in FUNCTIONS.items() if f.single_call] == ["first_moment_trajectory"]
    assert FUNCTIONS["factored_second_moment"].tensor("row_var").extent is Extent.ROWS


def test_tolerances_follow_the_spec_by_dtype_and_length_and_case_overrides_win():
    """float64 1e-10/1e-12 up to 10 steps, float32 2e-5/2e-6 up to 5, looser beyond; float32 on
    CUDA at least 5e-5/5e-6; a case's own tolerance wins."""
    assert tolerance_for("float64", 10) == Tolerance(1e-10, 1e-12)
    assert tolerance_for("float64", 11) == Tolerance(1e-8, 1e-10)
    assert tolerance_for("float32", 5) == Tolerance(2e-5, 2e-6)
    assert tolerance_for("float32", 6) == Tolerance(1e-4, 1e-5)
    assert tolerance_for("float32", 1, "cuda") == Tolerance(5e-5, 5e-6)
    assert tolerance_for("float32", 6, "cuda") == Tolerance(1e-4, 1e-5)
    own = Tolerance(1e-3, 1e-4)
    assert tolerance_for("float32", 1, "cuda", own) == own
