"""Case expansion: programs, seeded inputs, tolerances, the meta portability case."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import solutions
from alr.contract import Tolerance
from alr.errors import AlrError
from course.cases.expand import expand_exercise, stable_hash
from course.cases.program import Program, Ref, RefDict, execute
from course.cases.trusted import with_contract_defaults
from course.spec import CaseSpec, ExerciseSpec, GradKind, Init


def _expand(function, *cases, seed=1, devices=("cpu",)):
    return expand_exercise(ExerciseSpec(function, 3.0, cases), seed=seed, devices=devices)


def test_a_case_expands_over_shapes_dtypes_and_devices_plus_one_meta_case():
    """Does one case with 2 shapes x 2 dtypes give 4 CPU tests and one meta test?"""
    cases = _expand("adam_step", CaseSpec("c", ((3,), (4, 5))))
    assert [(c.shapes, c.dtype, c.device) for c in cases] == [
        (((3,),), "float32", "cpu"),
        (((3,),), "float64", "cpu"),
        (((4, 5),), "float32", "cpu"),
        (((4, 5),), "float64", "cpu"),
        (((3,),), "float32", "meta"),
    ]
    assert len({c.case_id for c in cases}) == 5


def test_with_cuda_every_case_runs_on_both_devices_and_there_is_no_meta_case():
    """With CUDA present, is each case run on cpu and cuda, with the CUDA float32 tolerance?"""
    cases = _expand("adam_step", CaseSpec("c", ((3,),)), devices=("cpu", "cuda"))
    assert [(c.dtype, c.device) for c in cases] == [
        ("float32", "cpu"), ("float32", "cuda"), ("float64", "cpu"), ("float64", "cuda"),
    ]  # fmt: skip
    assert cases[1].tolerance == Tolerance(5e-5, 5e-6)


def test_functions_returning_floats_or_branching_on_norms_get_no_meta_case():
    """Are update_diagnostics and the trust-ratio rules kept off meta tensors?"""
    for name in ("update_diagnostics", "lars_step", "trust_ratio", "adafactor_beta2"):
        shapes = ((1,),) if name == "adafactor_beta2" else ((3,),)
        assert all(c.device == "cpu" for c in _expand(name, CaseSpec("c", shapes)))


def test_a_trajectory_carries_state_and_uses_t_1_to_T():
    """Does a 3-step adam case pass t = 1, 2, 3 and feed each step the previous outputs?"""
    (case, *_) = _expand("adam_step", CaseSpec("c", ((2, 3),), steps=3, hparams={"lr": 0.1}))
    calls = case.program.calls
    assert [c.args[4] for c in calls] == [1, 2, 3]
    assert calls[1].args[0] == Ref("theta_1") and calls[1].args[2:4] == (Ref("m_1"), Ref("v_1"))
    assert calls[2].args[1] == Ref("grad_2")  # a fresh gradient each step
    assert all(c.kwargs == (("lr", 0.1),) for c in calls)
    assert Program.from_json(case.program.to_json()) == case.program
    assert not case.inputs["m_0"].any() and not case.inputs["v_0"].any()  # states start at 0


def test_inputs_depend_only_on_the_seed_and_float32_is_the_rounded_float64():
    """Same seed -> same inputs; another seed -> other inputs; float32 = rounded float64."""
    spec = CaseSpec("c", ((4, 5),), steps=2)
    a, b = _expand("adam_step", spec, seed=5), _expand("adam_step", spec, seed=5)
    c = _expand("adam_step", spec, seed=6)
    assert all(np.array_equal(a[1].inputs[k], b[1].inputs[k]) for k in a[1].inputs)
    assert not np.array_equal(a[1].inputs["grad_0"], c[1].inputs["grad_0"])
    assert a[0].inputs["grad_0"].dtype == np.float32 and a[1].inputs["grad_0"].dtype == np.float64
    assert np.array_equal(a[0].inputs["grad_0"], a[1].inputs["grad_0"].astype(np.float32))


def test_stable_hash_is_fixed_across_processes():
    """Is the function-name hash a known constant (not Python's salted hash)?"""
    assert stable_hash("adam_step") == stable_hash("adam_step") == 11592729182594186659


@pytest.mark.parametrize(
    ("init", "grads", "check"),
    [
        (Init.ZEROS, GradKind.RANDOM, lambda i: not i["theta_0"].any() and i["grad_0"].any()),
        (Init.RANDOM, GradKind.ZEROS, lambda i: i["theta_0"].any() and not i["grad_1"].any()),
        (
            Init.RANDOM,
            GradKind.DECAYING,
            lambda i: np.abs(i["grad_2"]).mean() < 0.3 * np.abs(i["grad_0"]).mean(),
        ),
    ],
)
def test_init_and_gradient_kinds(init, grads, check):
    """Do init: zeros, grads: zeros and grads: decaying (x0.3**t) draw what they say?"""
    (case, *_) = _expand(
        "amsgrad_step", CaseSpec("c", ((50, 40),), steps=3, init=init, grads=grads)
    )
    assert check(case.inputs)


def test_adafactor_factors_are_consistent_so_mean_rows_equals_mean_cols():
    """Are factored_second_moment's inputs the factors of one G (mean(R) == mean(C))?"""
    (case, *_) = _expand("factored_second_moment", CaseSpec("c", ((2, 4, 5),)))
    r, c = case.inputs["row_var_0"], case.inputs["col_var_0"]
    assert r.shape == (2, 4, 1) and c.shape == (2, 1, 5)
    np.testing.assert_allclose(r.mean(axis=-2), c.mean(axis=-1), rtol=1e-6)


def test_named_functions_take_dicts_of_the_case_names():
    """Do the 4.5 functions get RefDicts keyed by the case's tensor names, one per shape?"""
    spec = CaseSpec("c", ((4, 5), (4,)), names=("fc.weight", "fc.bias"))
    (case, *_) = _expand("layerwise_trust_ratios", spec)
    params = case.program.calls[0].args[0]
    assert isinstance(params, RefDict) and [k for k, _ in params.items] == ["fc.weight", "fc.bias"]
    assert case.inputs["params_0_1"].shape == (4,)


def test_scalars_before_the_last_tensor_go_by_position_and_the_rest_by_keyword():
    """effective_lr's lr (before v_hat) goes by position; ema's beta and adam_direction's eps
    and eps_inside_sqrt (after the tensors) by keyword, so their names are checked too."""
    (lr, *_) = _expand("effective_lr", CaseSpec("c", ((3,),), hparams={"lr": 0.1}))
    assert lr.program.calls[0].args == (0.1, Ref("v_hat_0")) and lr.program.calls[0].kwargs == ()
    (ema, *_) = _expand("ema", CaseSpec("c", ((3,),), hparams={"beta": 0.8}))
    assert len(ema.program.calls[0].args) == 2 and ema.program.calls[0].kwargs == (("beta", 0.8),)
    spec = CaseSpec("c", ((3,),), hparams={"eps": 1e-3, "eps_inside_sqrt": True})
    (direction, *_) = _expand("adam_direction", spec)
    assert direction.program.calls[0].kwargs == (("eps", 1e-3), ("eps_inside_sqrt", True))


@pytest.mark.parametrize(
    ("function", "spec", "message"),
    [
        ("adam_step", CaseSpec("c", ((3,),), hparams={"momentum": 0.9}), "unknown hyperparameter"),
        ("adafactor_step", CaseSpec("c", ((3,),)), "shape (3,) has fewer than 2 dims"),
        ("adam_step", CaseSpec("c", ((3,),), dtypes=("bfloat16",)), "unknown dtype 'bfloat16'"),
    ],
)
def test_bad_cases_are_config_errors(function, spec, message):
    """Are impossible cases reported as errors naming the case and the problem?"""
    with pytest.raises(AlrError, match=re.escape(message)):
        _expand(function, spec)


def test_a_dict_argument_changed_in_place_is_a_mutation():
    """Is a function that replaces or adds an entry of a dict argument reported as mutating
    that input, while a pure one is not?"""
    (case,) = [
        c
        for c in _expand("lamb_model_step", CaseSpec("c", ((2, 3), (3,)), names=("w", "b")))
        if c.dtype == "float64"
    ]
    inputs = {k: torch.from_numpy(v) for k, v in case.inputs.items()}

    def impure(params, grads, ms, vs, t, **kw):
        out = solutions.lamb_model_step(params, grads, ms, vs, t, **kw)
        params["w"] = out[0]["w"]  # replaces an entry of the caller's dict
        return out

    pure = {"lamb_model_step": with_contract_defaults("lamb_model_step", solutions.lamb_model_step)}
    assert execute(case.program, inputs, pure)[0].mutated == []
    impure_fns = {"lamb_model_step": with_contract_defaults("lamb_model_step", impure)}
    assert execute(case.program, inputs, impure_fns)[0].mutated == ["params_0"]
