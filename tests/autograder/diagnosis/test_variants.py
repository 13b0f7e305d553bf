"""Diagnosis over the course's own cases, with each wrong variant standing in for a student.

The variants are trusted code, run here to produce the records a child would send: no student code
runs in these tests."""

from __future__ import annotations

import pytest
import torch

import solutions
from alr.misconceptions import HINTS, QUIZ_ONLY, Misconception
from autograder.diagnosis.compose import with_pieces
from autograder.diagnosis.variants import EQUIVALENT, VARIANTS
from autograder.stages.compare import CaseCheck, Failure, compare_outputs
from autograder.stages.diagnose import diagnose_case
from solutions import reference
from tests.autograder.grading_helpers import course_plan, student_records

#: every misconception id of the contract table (spec/exercises.md)
CONTRACT_IDS = {
    "no_bias_correction", "bias_correction_m_only", "bias_correction_off_by_one",
    "eps_inside_sqrt", "eps_hat_form", "ema_weights_swapped", "second_moment_not_squared",
    "coupled_instead_of_decoupled", "decoupled_instead_of_coupled", "decay_not_scaled_by_lr",
    "decay_after_step", "amsgrad_max_of_corrected", "amsgrad_max_not_kept",
    "adafactor_rows_cols_swapped", "adafactor_no_normaliser", "adafactor_no_clipping",
    "lamb_trust_before_decay", "trust_ratio_zero_on_zero_norm", "trust_ratio_global_norm",
    "lars_denominator_decayed_norm", "mutates_input", "wrong_dtype", "wrong_device",
}  # fmt: skip
#: ids the grader adds to the contract's: returning an input, a step counter off by one
ADDED_IDS = {"aliases_input", "step_off_by_one"}
STRUCTURAL = {"mutates_input", "wrong_dtype", "wrong_device"}

VARIANT_PARAMS = [
    pytest.param(name, i, id=f"{name}-{v.misconception}-{i}")
    for name, variants in VARIANTS.items()
    for i, v in enumerate(variants)
]


def test_every_contract_id_has_a_variant_or_structural_check_and_a_hint():
    """Is every misconception id of the contract either a variant or a structural check?"""
    ids = {v.misconception for vs in VARIANTS.values() for v in vs}
    assert CONTRACT_IDS - STRUCTURAL <= ids
    assert ids | STRUCTURAL <= set(HINTS)


@pytest.mark.parametrize(("name", "index"), VARIANT_PARAMS)
def test_variant_is_caught_and_named_by_the_course_cases(name, index):
    """Does each wrong variant fail at least one course case and get its own id there, and is
    it never diagnosed as something on a case it passes?"""
    variant = VARIANTS[name][index]
    named = set()
    failed = 0
    for case in course_plan().cases[name]:
        if case.device == "meta":
            continue
        records = student_records(case, variant.function)
        check = compare_outputs(case, records, course_plan().expected[case.case_id])
        if check.passed:
            continue
        failed += 1
        diagnosis = diagnose_case(case, records, check)
        if diagnosis is not None:
            named.add(diagnosis)
    assert failed > 0, f"no course case of {name} catches {variant.misconception}"
    assert variant.misconception in named


@pytest.mark.parametrize("name", sorted(course_plan().cases))
def test_reference_passes_every_case_and_is_never_diagnosed(name):
    """Does the reference itself, run like a student in float32 and float64, pass every case?"""
    for case in course_plan().cases[name]:
        records = student_records(case, reference(name))
        check = compare_outputs(case, records, course_plan().expected[case.case_id])
        assert check.passed, (case.case_id, check.message)
        assert diagnose_case(case, records, check) is None


def test_lr_folded_into_the_lars_buffer_is_an_equivalent_form_not_the_reference():
    """Is lr folded into LARS's momentum buffer registered as equivalent, and does it differ
    from the reference (so the registration matters)?"""
    (form,) = EQUIVALENT["lars_step"]
    cases = [c for c in course_plan().cases["lars_step"] if c.device == "cpu"]
    differs = 0
    for case in cases:
        records = student_records(case, form)
        check = compare_outputs(case, records, course_plan().expected[case.case_id])
        differs += not check.passed
    assert differs > 0


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (Failure.MUTATED, "mutates_input"),
        (Failure.DTYPE, "wrong_dtype"),
        (Failure.DEVICE, "wrong_device"),
        (Failure.ALIASED, "aliases_input"),
        (Failure.MISSING, None),
        (Failure.NOT_RUN, None),
    ],
)
def test_structural_failures_name_themselves(failure, expected):
    """Do structural failures map to their ids without running variants?"""
    case = course_plan().cases["adam_step"][0]
    check = CaseCheck(case.case_id, False, failure, "x")
    assert diagnose_case(case, (), check) == expected


def test_the_grader_names_exactly_the_ids_of_the_misconception_enum():
    """Are the ids the grader can name the contract's ids plus the ones it adds, each a member
    of the one enum (which course and quiz files name), with a hint?"""
    named = {v.misconception for vs in VARIANTS.values() for v in vs} | STRUCTURAL
    assert named | {"aliases_input"} == set(Misconception) - QUIZ_ONLY == CONTRACT_IDS | ADDED_IDS
    assert set(HINTS) == set(Misconception)
    assert all(isinstance(v.misconception, Misconception) for vs in VARIANTS.values() for v in vs)


def test_a_variant_is_its_reference_with_one_piece_replaced_and_the_reference_is_untouched():
    """Does with_pieces replace a piece deep in the call tree (bias_correction, called through
    _adam_update) without changing the reference itself?"""
    theta, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
    zeros = torch.zeros(2)
    plain = with_pieces(solutions.adam_step)
    assert torch.equal(
        plain(theta, grad, zeros, zeros, 1)[0], solutions.adam_step(theta, grad, zeros, zeros, 1)[0]
    )
    calls = []

    def spy(m, v, t, beta1=0.9, beta2=0.999):
        calls.append(t)
        return m, v

    uncorrected = with_pieces(solutions.adam_step, bias_correction=spy)
    theta1 = uncorrected(theta, grad, zeros, zeros, 3, lr=0.1)[0]
    assert calls == [3]
    # uncorrected, m = 0.1 g and v = 0.001 g**2: a step of lr * 0.1 / sqrt(0.001)
    expected = theta - 0.1 * (0.1 * grad) / (torch.sqrt(0.001 * grad**2) + 1e-8)
    assert torch.allclose(theta1, expected)
    assert torch.allclose(
        solutions.adam_step(theta, grad, zeros, zeros, 1, lr=0.1)[0],
        theta - 0.1 * torch.sign(grad),
        atol=1e-6,
    )
