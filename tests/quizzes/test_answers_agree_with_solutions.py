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


def _vec(xs: Any) -> torch.Tensor:
    return t([float(x) for x in xs])


def _run(update: Callable[..., torch.Tensor], grads: Any, beta: float) -> torch.Tensor:
    acc = t(0.0)
    for g in grads:
        acc = update(acc, t(g), beta)
    return acc


def _rmsprop(s: dict[str, Any]) -> float:
    theta, v, before = t([0.0]), t([0.0]), t([0.0])
    for g in s["grads"]:
        before = theta
        theta, v = ref.rmsprop_step(theta, t([g]), v, lr=s["lr"], alpha=s["alpha"], eps=s["eps"])
    return abs(float(theta[0] - before[0]))


def _coupled(s: dict[str, Any]) -> float:
    theta, v = t([s["theta0"]]), t([0.0])
    for g in s["grads"]:
        theta, v = ref.rmsprop_step(
            theta, t([g]), v, lr=s["lr"], alpha=s["alpha"], eps=1e-8, weight_decay=s["wd"]
        )
    return float(theta[0])


def _adamw(s: dict[str, Any]) -> float:
    theta, _, _ = ref.adamw_step(
        t([s["theta"]]),
        t([s["g"]]),
        t([0.0]),
        t([0.0]),
        1,
        lr=s["lr"],
        eps=s["eps"],
        weight_decay=s["weight_decay"],
    )
    return float(theta[0])


def _first_step_accumulators(grad: Any) -> tuple[torch.Tensor, torch.Tensor]:
    g = t(grad)
    n, m = g.shape
    beta2_1 = ref.adafactor_beta2(1)
    return ref.adafactor_accumulators(
        torch.zeros(n, 1, dtype=D), torch.zeros(1, m, dtype=D), g, beta2_1
    )


def _alpha(s: dict[str, Any]) -> float:
    """alpha_t read off adafactor_step: a constant gradient from zero factors makes every entry
    of the clipped update exactly 1, so each coordinate moves by alpha_t."""
    theta = _vec(s["theta"]).reshape(2, 2)
    zeros_r, zeros_c = torch.zeros(2, 1, dtype=D), torch.zeros(1, 2, dtype=D)
    new, _, _ = ref.adafactor_step(
        theta, torch.ones(2, 2, dtype=D), zeros_r, zeros_c, s["t"], lr=s["lr"], eps2=1e-3
    )
    return float(theta[0, 0] - new[0, 0])


def _no_correction_ratio(s: dict[str, Any]) -> float:
    """First step without correction / with it, from the reference moments (eps = 0)."""
    g = t([s["g"]])
    m = ref.adam_first_moment(t([0.0]), g, s["beta1"])
    v = ref.adam_second_moment(t([0.0]), g, s["beta2"])
    raw = ref.adam_direction(m, v, eps=0.0)
    m_hat, v_hat = ref.bias_correction(m, v, 1, s["beta1"], s["beta2"])
    return float(raw[0] / ref.adam_direction(m_hat, v_hat, eps=0.0)[0])


def _m_hat(s: dict[str, Any]) -> float:
    m = _run(ref.adam_first_moment, s["grads"], s["beta1"])
    return float(ref.bias_correction(m, t(0.0), len(s["grads"]), beta1=s["beta1"])[0])


def _effective_lr(s: dict[str, Any]) -> float:
    v = _run(ref.adam_second_moment, s["grads"], s["beta2"])
    _, v_hat = ref.bias_correction(t(0.0), v, len(s["grads"]), beta2=s["beta2"])
    return float(ref.effective_lr(s["lr"], v_hat, s["eps"]))


def _eps_inflation(s: dict[str, Any]) -> float:
    """eps_hat / sqrt(1 - beta2^t): the factor sqrt(v_hat / v) of the reference correction."""
    _, v_hat = ref.bias_correction(t(0.0), t(1.0), s["t"], beta2=s["beta2"])
    return math.sqrt(float(v_hat))


def _vmax(s: dict[str, Any]) -> float:
    theta, m, v, v_max = t([1.0]), t([0.0]), t([0.0]), t([0.0])
    for i, g in enumerate(s["grads"], 1):
        theta, m, v, v_max = ref.amsgrad_step(theta, t([g]), m, v, v_max, i, beta2=s["beta2"])
    return float(v_max[0])


def _lamb_norm(s: dict[str, Any]) -> float:
    theta, grad = _vec(s["theta"]), _vec(s["grad"])
    zeros = torch.zeros_like(theta)
    new, _, _ = ref.lamb_step(
        theta, grad, zeros, zeros, 1, lr=s["lr"], weight_decay=s["weight_decay"]
    )
    return float((new - theta).norm())


def _global_trust(s: dict[str, Any]) -> float:
    params = {"l1.weight": _vec(s["theta1"]), "l2.weight": _vec(s["theta2"])}
    updates = {"l1.weight": _vec(s["u1"]), "l2.weight": _vec(s["u2"])}
    return ref.layerwise_trust_ratios(params, updates)["l1.weight"]


def _excluded(s: dict[str, Any]) -> float:
    theta, grad = _vec(s["theta"]), _vec(s["grad"])
    zeros = {"encoder.bias": torch.zeros_like(theta)}
    new, _, _ = ref.lamb_model_step(
        {"encoder.bias": theta},
        {"encoder.bias": grad},
        zeros,
        zeros,
        1,
        lr=s["lr"],
        eps=0.0,
        weight_decay=s["weight_decay"],
    )
    return float((new["encoder.bias"] - theta).norm())


def _ema(s: dict[str, Any]) -> float:
    avg = t(s["avg0"])
    for x in s["xs"]:
        avg = ref.ema(avg, t(x), s["beta"])
    return float(avg)


REFERENCES: dict[str, Callable[[dict[str, Any]], float]] = {
    "ema_final": _ema,
    "rmsprop_step_size": _rmsprop,
    "coupled_l2_steps": _coupled,
    "first_moment": lambda s: float(
        ref.first_moment_trajectory(t(s["grads"]).reshape(-1, 1), s["beta1"])[-1, 0]
    ),
    "adamw_theta": _adamw,
    "second_moment": lambda s: float(_run(ref.adam_second_moment, s["grads"], s["beta2"])),
    "adafactor_row_stat": lambda s: float(_first_step_accumulators(s["grad"])[0][s["i"], 0]),
    "factored_vhat": lambda s: float(
        ref.factored_second_moment(*_first_step_accumulators(s["grad"]))[s["i"], s["j"]]
    ),
    "adafactor_alpha": _alpha,
    "lars_trust": lambda s: float(
        ref.lars_trust_ratio(
            _vec(s["theta"]),
            _vec(s["grad"]),
            trust_coefficient=s["tc"],
            weight_decay=s["wd"],
            eps=0.0,
        )
    ),
    "lars_update_norm": lambda s: float(
        (
            ref.lars_step(
                _vec(s["theta"]),
                _vec(s["grad"]),
                torch.zeros(len(s["theta"]), dtype=D),
                lr=s["lr"],
                weight_decay=s["wd"],
                trust_coefficient=s["tc"],
                eps=0.0,
            )[0]
            - _vec(s["theta"])
        ).norm()
    ),
    "m_hat": _m_hat,
    "adafactor_beta2": lambda s: ref.adafactor_beta2(s["t"], s["beta2_decay"]),
    "adam_no_correction_ratio": _no_correction_ratio,
    "effective_lr": _effective_lr,
    "eps_hat_inflation": _eps_inflation,
    "amsgrad_vmax": _vmax,
    "lamb_update_norm": _lamb_norm,
    "update_ratio": lambda s: ref.update_diagnostics(
        _vec(s["theta_before"]), _vec(s["theta_after"]), torch.zeros(len(s["theta_before"]))
    )["update_ratio"],
    "layer_trust": lambda s: float(ref.trust_ratio(_vec(s["theta"]), _vec(s["update"]))),
    "global_trust": _global_trust,
    "excluded_update": _excluded,
}


def test_every_generator_has_a_reference_check() -> None:
    assert set(REFERENCES) == set(GENERATORS)


def test_generated_answers_match_the_reference_solutions(catalog: QuizCatalog) -> None:
    """Every key is recomputed from the drawn state by the reference solutions (float64 torch):
    200 seeds of every generated question, so every parameter combination is covered."""
    checked = 0
    for q in catalog.questions:
        if q.kind is not QuestionKind.GENERATED_NUMERIC:
            continue
        for seed in range(200):
            inst = q.instantiate(seed)
            expected = REFERENCES[q.generator](dict(inst.state))
            assert math.isclose(inst.answer, expected, rel_tol=1e-9, abs_tol=1e-12), (q.id, seed)
            assert q.tolerance.accepts(expected, inst.answer)
            checked += 1
    assert checked >= 20 * 200


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
    "3.4.bank.rank-one-value": lambda: float(
        ref.factored_second_moment(*_first_step_accumulators([[1.0, 2.0], [2.0, 4.0]]))[1, 1]
    ),
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
