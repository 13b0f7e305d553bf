"""The corrections of the teaching text: the false statements are gone from the module YAML, and
every numeric claim the corrected text makes is computed here."""

from __future__ import annotations

import math
from functools import cache

import pytest
import torch

import solutions
from course import lab, lab_problems
from course.load import load_course

F64 = torch.float64


@cache
def _text(module_id: str) -> str:
    """Everything a learner reads in a module: reading, answers, exercises, experiments."""
    m = load_course().module(module_id)
    r = m.reading
    parts = [r.definition, r.non_examples, r.formulas, r.proof_sketch, r.implementation]
    parts += [r.ai_connection, *[q.question + q.answer for q in r.diagnostic_questions]]
    parts += [t.text for t in m.tasks]
    parts += [e.text + " ".join(x.says for x in e.expectations) for e in m.experiments]
    return " ".join(" ".join(parts).split())


@pytest.mark.parametrize(
    ("module_id", "gone", "present"),
    [
        ("4.3", "so that the effective learning rate never increases", "learning rate *rises*"),
        ("4.2", "would otherwise take steps near", "is at most $C\\eta$ anyway"),
        ("4.2", "with the same role: no division by zero", "Division by zero is not its job"),
        ("3.1", "regardless of its gradient", "only when the *current* gradient dominates"),
        ("3.3", "fails with a shape error", "does not raise"),
        ("3.4", "be far too large", "barely acts there"),
        (
            "3.4",
            "whatever $\\hat V$ is.",
            "$\\|\\Delta\\theta_t\\| \\le \\eta\\lambda\\|\\theta_{t-1}\\|",
        ),
        (
            "3.2",
            "the numerator can only grow as fast as the largest gradient",
            "also needs the second moment",
        ),
        ("4.5", "a relative change $\\delta$ in each layer changes the output", "operator norms"),
        ("3.3", "introduced to train large transformers (T5)", "Shazeer and Stern, 2018"),
        (
            "3.4",
            "Adafactor trained T5 and PaLM-scale models",
            "PaLM used Adafactor *without* factorisation",
        ),
    ],
)
def test_false_statements_are_corrected(module_id: str, gone: str, present: str) -> None:
    """Is each listed false or imprecise statement gone, and its correction there?"""
    text = _text(module_id)
    assert gone not in text
    assert present in text


def test_torch_amsgrad_effective_rate_rises() -> None:
    """4.3: with bias correction the effective rate of torch-style AMSGrad rises 2.28-fold from
    t = 1 to 7 on gradients 0.3**t (beta2 = 0.9) while v_max stays put."""
    theta = torch.ones(1, dtype=F64)
    m, v, v_max = (torch.zeros(1, dtype=F64) for _ in range(3))
    rates, maxima = [], []
    for t in range(1, 8):
        g = torch.full((1,), 0.3**t, dtype=F64)
        new, m, v, v_max = solutions.amsgrad_step(
            theta, g, m, v, v_max, t, lr=1.0, beta1=0.0, beta2=0.9
        )
        rates.append(float((theta - new).abs()) / 0.3**t)
        maxima.append(float(v_max))
        theta = new
    assert rates[-1] / rates[0] == pytest.approx(2.2841, rel=1e-4)
    assert math.sqrt((1 - 0.9**7) / (1 - 0.9)) == pytest.approx(2.2841, rel=1e-4)
    assert maxima == sorted(maxima) and len(set(maxima)) == 1


def _adam_constant(beta1: float, beta2: float) -> float:
    return (1 - beta1) / math.sqrt((1 - beta2) * (1 - beta1**2 / beta2))


def test_adam_step_is_bounded_by_c_eta_not_by_eta_over_eps() -> None:
    """4.2: |m_hat| / sqrt(v_hat) <= C = 7.27 for the default betas on any gradient sequence
    (random, spiky, and the sequence that makes Cauchy-Schwarz tight), so a step never comes
    near lr / eps; with a history of zero gradients the step is 0."""
    assert _adam_constant(0.9, 0.999) == pytest.approx(7.2703, abs=1e-4)
    gen = torch.Generator().manual_seed(0)
    t = 8000  # the bound is approached once 1 - beta2**t is close to 1
    tight = torch.tensor(
        [(0.9 / 0.999) ** (t - s) if t - s < 2000 else 0.0 for s in range(1, t + 1)], dtype=F64
    )  # g_s proportional to (beta1 / beta2)**(t - s): equality in Cauchy-Schwarz at step t
    spiky = torch.where(torch.rand(400, generator=gen, dtype=F64) < 0.01, 1e3, 1e-6)
    ratios = []
    for seq in (torch.randn(400, generator=gen, dtype=F64), spiky, tight):
        m = v = torch.zeros((), dtype=F64)
        worst = 0.0
        for step, g in enumerate(seq, 1):
            m, v = solutions.adam_first_moment(m, g), solutions.adam_second_moment(v, g)
            m_hat, v_hat = solutions.bias_correction(m, v, step)
            if v_hat > 0:
                worst = max(worst, float(m_hat.abs() / v_hat.sqrt()))
        ratios.append(worst)
    assert max(ratios) <= _adam_constant(0.9, 0.999) + 1e-9
    assert ratios[-1] > 7.2  # the Cauchy-Schwarz sequence attains it
    zero = torch.zeros(3, dtype=F64)
    theta, *_ = solutions.adam_step(torch.ones(3, dtype=F64), zero, zero, zero, 1, lr=1e-3)
    assert torch.equal(theta, torch.ones(3, dtype=F64))


def test_lars_eps_caps_the_ratio_and_the_fallback_handles_zero() -> None:
    """4.2: a zero gradient gives tau = 1 (the fallback); a gradient of norm 1e-12 gives
    c ||theta|| / eps (capped by eps), not the c ||theta|| / ||g|| = 2e9 it would be without."""
    theta = torch.ones(4, dtype=F64)
    assert float(solutions.lars_trust_ratio(theta, torch.zeros(4, dtype=F64))) == 1.0
    tiny = torch.full((4,), 0.5e-12, dtype=F64)
    capped = float(solutions.lars_trust_ratio(theta, tiny))
    assert capped == pytest.approx(1e-3 * 2.0 / 1e-8, rel=1e-3)
    assert float(solutions.lars_trust_ratio(theta, tiny, eps=0.0)) == pytest.approx(2e9)


def test_rmsprop_bound_is_reached_only_when_the_gradient_dominates_v() -> None:
    """3.1: the step is eta / sqrt(1 - alpha) at t = 1, but a small gradient after large ones
    (a small v alone is not enough) moves by far less."""
    theta, zero = torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64)
    g = torch.tensor([1e-3, 1.0, 1e3], dtype=F64)
    first, _ = solutions.rmsprop_step(theta, g, zero, lr=0.1, alpha=0.99)
    assert (first.abs() / (0.1 / math.sqrt(0.01))).tolist() == pytest.approx([1, 1, 1], rel=1e-4)
    quiet = torch.full((3,), 1e-6, dtype=F64)  # a tiny v, from a history of gradients 1e-3
    later, _ = solutions.rmsprop_step(
        theta, torch.full((3,), 1e-3, dtype=F64), quiet, lr=0.1, alpha=0.99
    )
    assert float(later.abs().max()) == pytest.approx(0.1, rel=1e-4)  # eta, not eta / sqrt(0.01)
    burst, _ = solutions.rmsprop_step(
        theta, torch.full((3,), 1.0, dtype=F64), quiet, lr=0.1, alpha=0.99
    )
    assert float(burst.abs().min()) == pytest.approx(1.0, rel=1e-3)  # the gradient dominates v
    assert 0.5 ** (1 / 69) == pytest.approx(0.99, abs=1e-4)  # half the weight after 69 steps


def test_swapped_reductions_broadcast_silently() -> None:
    """3.3: swapping dim=-1 and dim=-2 raises nothing; the state silently becomes n x m."""
    g2 = torch.randn(4, 5, dtype=F64) ** 2
    row, col = torch.zeros(4, 1, dtype=F64), torch.zeros(1, 5, dtype=F64)
    row = solutions.ema(row, g2.mean(dim=-2, keepdim=True), 0.5)
    col = solutions.ema(col, g2.mean(dim=-1, keepdim=True), 0.5)
    assert row.shape == (4, 5) and col.shape == (4, 5)
    assert 4096**2 == 16_777_216 and (4096 + 4096) / 4096**2 == pytest.approx(0.0005, rel=0.03)


def test_first_adafactor_update_has_rms_about_one() -> None:
    """3.4: for a Gaussian 64x32 gradient, RMS(U_1) = RMS(G / sqrt(V_1)) is within 5% of 1
    (about 1.001), so the clip barely acts at t = 1; after a quiet phase a gradient burst makes
    RMS(U) far above 1, which is what the clip guards against."""
    gen = torch.Generator().manual_seed(3)
    g = torch.randn(64, 32, generator=gen, dtype=F64)
    row, col = (torch.zeros(64, 1, dtype=F64), torch.zeros(1, 32, dtype=F64))
    row, col = solutions.adafactor_accumulators(row, col, g, solutions.adafactor_beta2(1))
    u = g / solutions.factored_second_moment(row, col).sqrt()
    assert float(u.norm() / math.sqrt(u.numel())) == pytest.approx(1.0, abs=0.05)
    for t in range(2, 50):
        small = 1e-3 * torch.randn(64, 32, generator=gen, dtype=F64)
        row, col = solutions.adafactor_accumulators(row, col, small, solutions.adafactor_beta2(t))
    burst = torch.randn(64, 32, generator=gen, dtype=F64)
    row, col = solutions.adafactor_accumulators(row, col, burst, solutions.adafactor_beta2(50))
    u = burst / solutions.factored_second_moment(row, col).sqrt()
    assert float(u.norm() / math.sqrt(u.numel())) > 3.0


def test_adafactor_step_bound_needs_the_decay_term() -> None:
    """3.4: ||delta theta|| <= eta lambda ||theta|| + alpha_t d sqrt(n) always; without the
    decay term the bound fails when the decay is large."""
    gen = torch.Generator().manual_seed(4)
    theta = torch.randn(4, 5, generator=gen, dtype=F64)
    row, col = torch.zeros(4, 1, dtype=F64), torch.zeros(1, 5, dtype=F64)
    lr, wd = 0.05, 5.0
    g = torch.randn(4, 5, generator=gen, dtype=F64)
    new, *_ = solutions.adafactor_step(theta, g, row, col, 1, lr=lr, weight_decay=wd)
    step = float((new - theta).norm())
    alpha = max(1e-3, float(theta.norm()) / math.sqrt(20)) * min(lr, 1.0)
    assert step <= lr * wd * float(theta.norm()) + alpha * math.sqrt(20) + 1e-12
    assert step > alpha * math.sqrt(20)


def test_layer_product_bound_holds_in_operator_norm_not_frobenius() -> None:
    """4.5: operator-relative changes delta give ||f' - f|| <= ((1+delta)^L - 1) prod||W||op ||x||;
    a Frobenius-relative change delta can be an operator-relative change delta sqrt(r)."""
    gen = torch.Generator().manual_seed(5)
    delta, layers = 0.01, 4
    for _ in range(20):
        ws = [torch.randn(6, 6, generator=gen, dtype=F64) for _ in range(layers)]
        dws = []
        for w in ws:
            d = torch.randn(6, 6, generator=gen, dtype=F64)
            dws.append(delta * torch.linalg.matrix_norm(w, 2) * d / torch.linalg.matrix_norm(d, 2))
        x = torch.randn(6, generator=gen, dtype=F64)
        f, f2 = x, x
        for w, d in zip(ws, dws, strict=True):
            f, f2 = w @ f, (w + d) @ f2
        bound = ((1 + delta) ** layers - 1) * math.prod(
            float(torch.linalg.matrix_norm(w, 2)) for w in ws
        )
        assert float((f2 - f).norm()) <= bound * float(x.norm()) + 1e-12
    n = 16
    w = torch.eye(n, dtype=F64)
    dw = torch.zeros(n, n, dtype=F64)
    dw[0, 0] = delta * math.sqrt(n)  # ||dW||_F = delta ||W||_F
    assert float(dw.norm()) == pytest.approx(delta * float(w.norm()))
    x = torch.zeros(n, dtype=F64)
    x[0] = 1.0
    assert float((dw @ x).norm()) == pytest.approx(delta * math.sqrt(n))  # > delta ||W||op ||x||


def test_reddi_counterexample() -> None:
    """4.3: with C = 3, beta1 = 0, beta2 = 1/(1 + C^2) = 0.1 and step 0.5/sqrt(t), Adam drifts to
    +1 and AMSGrad ends near -1, torch-style (bias-corrected) or in Reddi's uncorrected form."""
    assert 1 / (1 + 3.0**2) == pytest.approx(0.1)
    problem = lab_problems.counterexample_problem(3.0)
    hp = {"lr": 0.5, "beta1": 0.0, "beta2": 0.1}
    adam = lab.train(problem, solutions.adam_step, hp, 300, lr_decay="sqrt")
    ams = lab.train(problem, solutions.amsgrad_step, hp, 300, lr_decay="sqrt")
    assert adam["x"][-1] > 0.99 and ams["x"][-1] < -0.95
    # Reddi's form (no bias correction, no eps) with a running max of v, written out.
    x, v, v_max = 0.0, 0.0, 0.0
    for t in range(1, 301):
        g = 3.0 if t % 3 == 1 else -1.0
        v = 0.1 * v + 0.9 * g * g
        v_max = max(v_max, v)
        x = min(1.0, max(-1.0, x - 0.5 / math.sqrt(t) * g / math.sqrt(v_max)))
    assert x < -0.95


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1 - 1e-3 * 1e-2, 1 - 1e-5),  # 3.2: AdamW's decay factor per step
        (math.log(2) / 1e-5, 69_315),  # 3.2: steps to halve by decay alone
        (0.1 / math.sqrt(1e-3), 3.1623),  # 4.1: uncorrected first step, in lr
        (max((1 - 0.9**t) / math.sqrt(1 - 0.999**t) for t in range(1, 200)), 6.56),  # 4.1
        (1 - 0.999**1000, 0.632),  # 4.1
        (1000**0.8, 251.19),  # 4.1: Adafactor's memory at t = 1000
        (50**0.8, 23),  # 4.1 experiment: Adafactor's memory after 50 steps
        (3.1623 * 0.03, 0.09487),  # 4.1 transformer: uncorrected first-step RMS at lr 0.03
        (1e-3 / 1e-8, 1e5),  # 4.2: lr / eps
        (math.sqrt(1e-6 + 1e-3) / 2e-3, 15.8),  # 4.2: eps outside vs inside at v_hat = eps^2
    ],
)
def test_numbers_in_the_text(value: float, expected: float) -> None:
    assert value == pytest.approx(expected, rel=0.01)


def test_numbers_about_the_experiments() -> None:
    """3.1's regularised gap 0.05376, 4.1's argmax near t = 12, float16 and 1e-8, LARS's
    denominator forms at the probe and default weight decay."""
    gen = torch.Generator().manual_seed(0)
    condition = 100.0
    torch.rand(6, 4, generator=gen, dtype=F64)  # h_W, drawn first by the quadratic problem
    h_b = condition ** torch.rand(4, generator=gen, dtype=F64)
    gap = float(0.5 * (h_b * (0.5 / (h_b + 0.5)) ** 2).sum())
    assert gap == pytest.approx(0.05376, rel=1e-3)
    ratios = [(1 - 0.9**t) / math.sqrt(1 - 0.999**t) for t in range(1, 200)]
    assert ratios.index(max(ratios)) + 1 == 12
    assert float(torch.tensor(1e-8, dtype=torch.float16)) == 0.0
    assert float(torch.finfo(torch.float16).smallest_normal) > 1e-8
    theta = torch.randn(4, 5, generator=gen, dtype=F64)
    g = torch.randn(4, 5, generator=gen, dtype=F64)
    for wd, lo, hi in ((0.1, 0.05, 1.0), (1e-4, 0.0, 1e-3)):
        a = solutions.lars_trust_ratio(theta, g, weight_decay=wd)
        b = 1e-3 * theta.norm() / ((g + wd * theta).norm() + 1e-8)
        assert lo <= float((a - b).abs() / a) <= hi
