"""What a learner sees: claims judged on logs, probes of a module's functions, property checks
of a step rule, and the two step rules the lab adds (SGD, Adam without bias correction)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

import solutions
from course import lab_checks as L
from course import lab_probes as P

LOGS = {
    "a": {"loss": [4.0, 3.0, 2.0, 1.0, 0.5], "update_ratio[W]": [0.1, 0.2, 0.3, 0.4, 0.5]},
    "b": {"loss": [8.0, 6.0, 4.0, 2.0, 1.0]},
}


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        (L.Quantity("a", "loss", 2), 3.0),
        (L.Quantity("a", "loss", "first"), 4.0),
        (L.Quantity("a", "loss", "last"), 0.5),
        (L.Quantity("a", "loss", "min"), 0.5),
        (L.Quantity("a", "loss", "max"), 4.0),
        (L.Quantity("a", "loss", "mean"), 2.1),
        (L.Quantity("a", "loss", "tail"), 0.5),  # the last fifth of 5 steps: 1 step
        (L.Quantity("b", "loss", "last", times=0.5), 0.5),
        (L.Quantity("a", "update_ratio", 3, tensor="W"), 0.3),
    ],
)
def test_quantities_read_the_logs(quantity: L.Quantity, value: float) -> None:
    """Does each way of naming a logged value (step, statistic, factor, tensor) read it?"""
    assert quantity.of(LOGS) == pytest.approx(value)


def test_claims_hold_or_not_and_say_so_with_the_numbers() -> None:
    """Are below / above / near judged strictly, and does the printed line carry ✓ or ✗, the
    measured value and the target?"""
    ok = L.judge(
        LOGS, L.Claim("a ends below b", L.Quantity("a", "loss"), "below", L.Quantity("b", "loss"))
    )
    assert ok.holds and ok.measured == 0.5 and ok.target == 1.0
    assert L.judge(LOGS, L.Claim("x", L.Quantity("a", "loss"), "below", 0.5)).holds is False
    assert L.judge(LOGS, L.Claim("x", L.Quantity("a", "loss"), "above", 0.4)).holds is True
    near = L.judge(LOGS, L.Claim("x", L.Quantity("a", "loss"), "near", 0.52, rtol=0.05))
    far = L.judge(LOGS, L.Claim("x", L.Quantity("a", "loss"), "near", 0.6, rtol=0.05))
    assert near.holds and not far.holds
    assert "✓" in near.line() and "0.5" in near.line() and "0.52" in near.line()
    assert far.line().startswith("✗ x")


def test_claims_print_as_plain_text() -> None:
    """Is a claim's TeX printed readably (Greek letters, hats, norms, no $ or braces)?"""
    says = r"Step $\eta\,\hat m/(\sqrt{\hat v}+\epsilon)$, at most $\|\theta\|$, $\le 10^{-3}$"
    assert L.plain(says) == "Step η m̂/(√v̂+ε), at most ‖θ‖, ≤ 10^-3"


def test_what_you_should_see_prints_every_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    claims = [
        L.Claim("falls", L.Quantity("a", "loss"), "below", L.Quantity("a", "loss", 1, times=0.5)),
        L.Claim("rises", L.Quantity("a", "loss"), "above", 1.0),
    ]
    assert L.what_you_should_see(LOGS, claims) == [True, False]
    out = capsys.readouterr().out
    assert out.count("✓") == 1 and out.count("✗") == 1 and "Not everything holds" in out


def test_claims_are_not_judged_on_a_shortened_grading_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under nbgrader autograde (experiments cut to 2 steps) no ✓/✗ is printed."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    claim = L.Claim("rises", L.Quantity("a", "loss"), "above", 1.0)
    assert L.what_you_should_see(LOGS, [claim]) == []
    out = capsys.readouterr().out
    assert "✓" not in out and "✗" not in out and "not checked" in out


def test_sgd_step_is_torch_sgd() -> None:
    """Is the lab's SGD torch.optim.SGD with momentum, no dampening, coupled L2?"""
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    grads = [torch.randn(4, 5, generator=gen, dtype=torch.float64) for _ in range(4)]
    mine, buf = theta, torch.zeros_like(theta)
    for g in grads:
        mine, buf = L.sgd_step(mine, g, buf, lr=0.1, momentum=0.9, weight_decay=0.1)
    leaf = theta.clone().requires_grad_()
    opt = torch.optim.SGD([leaf], lr=0.1, momentum=0.9, weight_decay=0.1)
    for g in grads:
        leaf.grad = g.clone()
        opt.step()
    assert torch.allclose(mine, leaf.detach(), rtol=1e-12, atol=1e-14)


def test_without_correction_is_adam_without_bias_correction() -> None:
    """Does the wrapper of a correct adam_step compute theta - lr m / (sqrt(v) + eps) with the
    raw moments (written out here), state and all?"""
    rule = L.without_correction(solutions.adam_step)
    gen = torch.Generator().manual_seed(1)
    theta = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    mine, mm, vv = theta, m, v
    for t in range(1, 6):
        g = torch.randn(3, 4, generator=gen, dtype=torch.float64)
        mine, mm, vv = rule(mine, g, mm, vv, t, lr=0.1, beta1=0.8, beta2=0.9, eps=1e-3)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        theta = theta - 0.1 * m / (v.sqrt() + 1e-3)
    assert torch.allclose(mine, theta, rtol=1e-12, atol=1e-14)
    assert torch.allclose(mm, m) and torch.allclose(vv, v)


def _reference_args(name: str) -> dict[str, Callable[..., Any]]:
    return {n: getattr(solutions, n) for n in inspect.signature(P.PROBES[name]).parameters}


def test_probes_report_what_theory_says_on_the_references() -> None:
    """Do the probes measure, on the reference solutions, what the course states?"""
    out = {name: P.PROBES[name](**_reference_args(name)) for name in P.PROBES}
    assert {k: tuple(v) for k, v in out.items()} == P.PROBE_OUTPUTS
    assert out["key_inequality"]["worst_ratio"] <= 1 + 1e-12
    assert out["key_inequality"]["constant_ratio"] == pytest.approx(1.0, abs=1e-12)
    assert out["factored_estimate"]["row_error"] < 1e-12
    assert out["factored_estimate"]["numbers_kept"] == pytest.approx(10 / 24)
    assert out["rank_one"]["error_rank_one"] < 1e-12 < 0.1 < out["rank_one"]["error_other"]
    assert out["decay_schedule"]["beta2_at_1"] == 0.0
    assert out["decay_schedule"]["memory_at_1000"] == pytest.approx(1000**0.8)
    assert out["epsilon"]["ceiling_ratio"] == pytest.approx(1.0)
    assert out["epsilon"]["zero_history_step"] == 0.0
    assert out["epsilon"]["outside_over_inside"] == pytest.approx(math.sqrt(1e-6 + 1e-3) / 2e-3)
    assert out["amsgrad_rate"]["rate_rise"] == pytest.approx(
        math.sqrt((1 - 0.9**7) / (1 - 0.9)), rel=1e-6
    )
    assert out["amsgrad_rate"]["smallest_vmax_change"] >= 0
    assert out["diagnostics"]["zero_param_ratio"] == math.inf
    assert out["layerwise"]["excluded_off_one"] == 0.0


def _no_normaliser(row_var, col_var, eps1=None):  # noqa: ANN001, ANN202
    return row_var * col_var


def _global_ratios(params, updates, *, exclude=("bias", "norm")):  # noqa: ANN001, ANN202
    ratio = (
        torch.cat([p.flatten() for p in params.values()]).norm()
        / torch.cat([u.flatten() for u in updates.values()]).norm()
    )
    return {k: 1.0 if any(e in k for e in exclude) else float(ratio) for k in params}


def _max_not_kept(
    theta, grad, m, v, v_max, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0
):  # noqa: ANN001, ANN202, E501
    return solutions.amsgrad_step(
        theta,
        grad,
        m,
        v,
        torch.zeros_like(v),
        t,
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
    )  # noqa: E501


@pytest.mark.parametrize(
    ("name", "function", "wrong", "output", "moved"),
    [
        ("rank_one", "factored_second_moment", _no_normaliser, "error_rank_one", True),
        ("layerwise", "layerwise_trust_ratios", _global_ratios, "spread", True),
        ("amsgrad_rate", "amsgrad_step", _max_not_kept, "rate_rise", True),
    ],
)
def test_probes_expose_a_mistake(
    name: str, function: str, wrong: Callable[..., Any], output: str, moved: bool
) -> None:
    """Does a probe measure something else when one function is a known mistake?"""
    right = P.PROBES[name](**_reference_args(name))[output]
    mistaken = P.PROBES[name](**{**_reference_args(name), function: wrong})[output]
    assert (abs(mistaken - right) > 1e-3 * abs(right)) is moved


def test_probe_logs_look_like_a_run() -> None:
    logs = P.probe("key_inequality", first_moment_trajectory=solutions.first_moment_trajectory)
    assert set(logs) == {"worst_ratio", "constant_ratio"} and all(
        len(v) == 1 for v in logs.values()
    )


@pytest.mark.parametrize("name", sorted(L.TORCH_TWINS))
def test_reference_rules_pass_the_property_checks(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Does every reference step rule agree with its torch.optim twin, and every Adam-family one
    move each coordinate by lr at t=1 and ignore the gradient's scale?"""
    rule = getattr(solutions, name)
    assert L.agrees_with_torch(rule, {"lr": 0.05, "weight_decay": 0.1})
    if name in ("adam_step", "adamw_step", "amsgrad_step"):
        assert L.first_step_moves_by_lr(rule, weight_decay=0.0)
        assert L.step_ignores_gradient_scale(rule, weight_decay=0.0)
    assert "✗" not in capsys.readouterr().out


def test_property_checks_catch_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    """Do the checks print ✗ for Adam without bias correction (first step about 3.16 lr) and
    for AdamW done as coupled L2 (disagrees with torch.optim.AdamW)?"""
    uncorrected = L.without_correction(solutions.adam_step)
    uncorrected.__name__ = "adam_step"
    assert not L.first_step_moves_by_lr(uncorrected)
    assert not L.agrees_with_torch(uncorrected, {"lr": 0.1})

    def adamw_step(
        theta, grad, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2
    ):  # noqa: ANN001, ANN202, E501
        return solutions.adam_step(
            theta,
            grad,
            m,
            v,
            t,
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            weight_decay=weight_decay,
        )  # noqa: E501

    assert not L.agrees_with_torch(adamw_step, {"lr": 0.1, "weight_decay": 0.1})
    assert capsys.readouterr().out.count("✗") == 3
