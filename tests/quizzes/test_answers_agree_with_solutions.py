"""Are the quiz answers right? Each generator and hand-computed numeric answer is checked against
the course's reference implementations (float64 torch), so a question can never teach a wrong
number."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

import solutions as ref
from quizzes.generators import GENERATORS
from quizzes.model import QuestionKind, QuizCatalog

D = torch.float64


def t(x: Any) -> torch.Tensor:
    return torch.tensor(x, dtype=D)


def _moments(p: dict[str, Any], key: str, update: Callable[..., torch.Tensor]) -> torch.Tensor:
    beta = p["beta1"] if key == "m" else p["beta2"]
    acc = t(0.0)
    for g in p["grads"]:
        acc = update(acc, t(g), beta)
    return acc


def _m_hat(p: dict[str, Any]) -> float:
    m = _moments(p, "m", ref.adam_first_moment)
    m_hat, _ = ref.bias_correction(m, t(0.0), len(p["grads"]), beta1=p["beta1"])
    return float(m_hat)


def _v_hat(p: dict[str, Any]) -> float:
    v = _moments(p, "v", ref.adam_second_moment)
    _, v_hat = ref.bias_correction(t(0.0), v, len(p["grads"]), beta2=p["beta2"])
    return float(v_hat)


def _rmsprop(p: dict[str, Any]) -> float:
    theta, _ = ref.rmsprop_step(
        t([1.0]), t([p["g"]]), t([0.0]), lr=p["lr"], alpha=p["alpha"], eps=p["eps"]
    )
    return abs(float(theta[0]) - 1.0)


def _adamw(p: dict[str, Any]) -> float:
    theta, _, _ = ref.adamw_step(
        t([p["theta"]]),
        t([p["g"]]),
        t([0.0]),
        t([0.0]),
        1,
        lr=p["lr"],
        eps=p["eps"],
        weight_decay=p["weight_decay"],
    )
    return float(theta[0])


def _no_correction_ratio(p: dict[str, Any]) -> float:
    """First step without correction / with it, from the reference moments (eps = 0)."""
    g = t([0.7])
    m = ref.adam_first_moment(t([0.0]), g, p["beta1"])
    v = ref.adam_second_moment(t([0.0]), g, p["beta2"])
    raw = ref.adam_direction(m, v, eps=0.0)
    m_hat, v_hat = ref.bias_correction(m, v, 1, p["beta1"], p["beta2"])
    return float(raw[0] / ref.adam_direction(m_hat, v_hat, eps=0.0)[0])


def _vhat(p: dict[str, Any]) -> float:
    r, c = t(p["row_var"]).reshape(-1, 1), t(p["col_var"]).reshape(1, -1)
    return float(ref.factored_second_moment(r, c)[p["i"] - 1, p["j"] - 1])


def _lars(p: dict[str, Any]) -> float:
    theta, grad = t([p["theta_norm"], 0.0]), t([0.0, p["grad_norm"]])
    return float(
        ref.lars_trust_ratio(
            theta,
            grad,
            trust_coefficient=p["trust_coefficient"],
            weight_decay=p["weight_decay"],
            eps=0.0,
        )
    )


def _vmax(p: dict[str, Any]) -> float:
    theta, m, v, v_max = t([1.0]), t([0.0]), t([0.0]), t([0.0])
    for i, g in enumerate(p["grads"], 1):
        theta, m, v, v_max = ref.amsgrad_step(theta, t([g]), m, v, v_max, i, beta2=p["beta2"])
    return float(v_max[0])


def _ema(p: dict[str, Any]) -> float:
    avg = t(p["avg0"])
    for x in p["xs"]:
        avg = ref.ema(avg, t(x), p["beta"])
    return float(avg)


REFERENCES: dict[str, Callable[[dict[str, Any]], float]] = {
    "ema_final": _ema,
    "m_hat": _m_hat,
    "v_hat": _v_hat,
    "rmsprop_first_step": _rmsprop,
    "adamw_theta": _adamw,
    "adam_no_correction_ratio": _no_correction_ratio,
    "adafactor_beta2": lambda p: ref.adafactor_beta2(p["t"], p["beta2_decay"]),
    "factored_vhat": _vhat,
    "lars_trust": _lars,
    "effective_lr": lambda p: float(ref.effective_lr(p["lr"], t(p["v_hat"]), p["eps"])),
    "amsgrad_vmax": _vmax,
    "lamb_update_norm": lambda p: p["lr"] * p["theta_norm"],  # checked as an invariant below
    "update_ratio": lambda p: ref.update_diagnostics(
        t([p["theta_norm"], 0.0]), t([p["theta_norm"], p["update_norm"]]), t([0.0, 0.0])
    )["update_ratio"],
    "eps_hat_inflation": lambda p: 1 / math.sqrt(1 - p["beta2"] ** p["t"]),
    "layer_trust": lambda p: float(ref.trust_ratio(t(list(p["theta"])), t(list(p["update"])))),
}


def test_every_generator_has_a_reference_check() -> None:
    assert set(REFERENCES) == set(GENERATORS)


def test_generated_answers_match_the_reference_solutions(catalog: QuizCatalog) -> None:
    checked = 0
    for q in catalog.questions:
        if q.kind is not QuestionKind.GENERATED_NUMERIC:
            continue
        for seed in range(24):
            inst = q.instantiate(seed)
            expected = REFERENCES[q.generator](dict(inst.params))
            assert math.isclose(inst.answer, expected, rel_tol=1e-12, abs_tol=1e-15), (q.id, seed)
            assert q.tolerance.accepts(expected, inst.answer)
            checked += 1
    assert checked >= 10 * 24


def test_lamb_update_norm_invariant_holds_for_the_reference_lamb_step() -> None:
    """||Delta theta|| = lr ||theta|| for an adapted LAMB tensor (the generator's claim)."""
    gen = torch.Generator().manual_seed(0)
    theta, grad = (
        torch.randn(4, 5, generator=gen, dtype=D),
        torch.randn(4, 5, generator=gen, dtype=D),
    )
    new, _, _ = ref.lamb_step(
        theta, grad, torch.zeros_like(theta), torch.zeros_like(theta), 1, lr=0.05
    )
    assert math.isclose(float((new - theta).norm()), 0.05 * float(theta.norm()), rel_tol=1e-12)


FIXED: dict[str, Callable[[], float]] = {
    "3.1.bank.coupled-l2-grad": lambda: float(ref.coupled_l2_grad(t(2.0), t(0.5), 0.1)),
    "3.1.bank.ema-weight-mass": lambda: 1 - 0.9**10,
    "3.2.bank.m-constant-gradient": lambda: float(
        ref.first_moment_trajectory(torch.ones(5, 1, dtype=D), 0.9)[-1, 0]
    ),
    "3.2.bank.decay-value": lambda: float(ref.decoupled_weight_decay(t(2.0), 0.1, 0.1)),
    "3.3.bank.second-moment-value": lambda: float(ref.adam_second_moment(t(0.5), t(2.0), 0.9)),
    "3.3.bank.memory-ratio": lambda: 4096 * 4096 / (4096 + 4096),
    "3.4.bank.state-size": lambda: 1024 + 512,
    "3.4.bank.alpha-first-step": lambda: max(1e-3, 0.5) * min(0.01, 1 / math.sqrt(1)),
    "3.5.bank.ratio-value": lambda: float(
        ref.lars_trust_ratio(t([3.0, 0.0]), t([0.0, 4.0]), trust_coefficient=1e-3, eps=0.0)
    ),
    "3.5.bank.ratio-bound": lambda: 0.5 * 0.02,
    "4.1.bank.slow-correction": lambda: 1 - 0.999**1000,
    "4.2.bank.cap": lambda: float(ref.effective_lr(1e-3, t(0.0), 1e-8)),
    "4.2.bank.direction-value": lambda: float(ref.adam_direction(t(0.2), t(0.04), 0.01)),
    "4.3.bank.reddi-schedule": lambda: 0.1 / math.sqrt(100),
    "4.3.bank.lamb-tau": lambda: float(ref.trust_ratio(t([2.0, 0.0]), t([0.0, 0.5]))),
    "4.4.bank.adam-first-norm": lambda: 1e-3 * math.sqrt(10_000),
    "4.4.bank.zero-update": lambda: float(ref.trust_ratio(t([3.0, 4.0]), t([0.0, 0.0]))),
    "4.5.bank.ratio-of-layers": lambda: (0.01 * 4) / (0.01 * 0.5),
}


def test_every_numeric_question_is_checked(catalog: QuizCatalog) -> None:
    numeric = {q.id for q in catalog.questions if q.kind is QuestionKind.NUMERIC}
    assert numeric == set(FIXED)


@pytest.mark.parametrize("qid", sorted(FIXED))
def test_numeric_answer_is_accepted_for_the_reference_value(catalog: QuizCatalog, qid: str) -> None:
    q = catalog.question(qid)
    assert q is not None and q.answer is not None
    assert q.tolerance.accepts(FIXED[qid](), q.answer)


def test_concept_tables_cover_the_graded_function_contract() -> None:
    """Does every graded function of the contract have concepts, and every misconception the
    grader names (not a structural one) a concept?"""
    from alr.contract import MODULE_FUNCTIONS
    from alr.misconceptions import STRUCTURAL, Misconception
    from quizzes.concepts import DIAGNOSIS_CONCEPTS, FUNCTION_CONCEPTS, PREREQUISITES

    assert list(FUNCTION_CONCEPTS) == [f for fns in MODULE_FUNCTIONS.values() for f in fns]
    assert set(DIAGNOSIS_CONCEPTS) == {str(m) for m in Misconception if m not in STRUCTURAL}
    used = {c for cs in FUNCTION_CONCEPTS.values() for c in cs} | set(DIAGNOSIS_CONCEPTS.values())
    assert used <= set(PREREQUISITES)
