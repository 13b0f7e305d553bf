"""The experiment lab: the training loop drives every kind of step rule and logs true metrics."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

import solutions
from course import lab


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread (as in the notebooks' lab cell)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("problem", sorted(lab.PROBLEMS))
@pytest.mark.parametrize(
    ("rule", "hparams"),
    [
        ("rmsprop_step", {"lr": 0.01}),
        ("adamw_step", {"lr": 0.01}),
        ("adafactor_step", {"lr": 0.05}),
        ("lars_step", {"lr": 1.0, "trust_coefficient": 0.02}),
        ("amsgrad_step", {"lr": 0.01}),
        ("lamb_model_step", {"lr": 0.02}),
    ],
)
def test_every_rule_trains_every_problem(problem: str, rule: str, hparams: dict) -> None:
    """Does each kind of step rule (plain, with t, factored, dict) lower each problem's loss?"""
    logs = lab.train(lab.PROBLEMS[problem](), getattr(solutions, rule), hparams, steps=8)
    assert len(logs["loss"]) == 8
    assert logs["final_loss"][0] < logs["loss"][0]
    assert all(math.isfinite(v) for v in logs["grad_norm"] + logs["update_norm"])


def test_lamb_update_ratio_is_the_learning_rate() -> None:
    """Under LAMB every layer moves by exactly lr * ||theta|| (theory), so the logged max update
    ratio equals lr and the implied trust ratio is 1."""
    logs = lab.train(lab.quadratic_problem(), solutions.lamb_step, {"lr": 0.05}, steps=10)
    assert logs["update_ratio"] == pytest.approx([0.05] * 10, rel=1e-9)
    assert logs["trust_ratio"] == pytest.approx([1.0] * 10, rel=1e-9)


def test_first_adam_step_moves_every_coordinate_by_lr() -> None:
    """At t=1 Adam's step is lr * g/(|g| + eps), so its norm is lr * sqrt(n) (to eps)."""
    problem = lab.quadratic_problem()
    n = sum(p.numel() for p in problem.params.values())
    logs = lab.train(problem, solutions.adam_step, {"lr": 0.01}, steps=1)
    assert logs["update_norm"][0] == pytest.approx(0.01 * math.sqrt(n), rel=1e-6)


def test_second_moment_log_is_the_mean_of_v() -> None:
    """With RMSProp at t=1, v = (1 - alpha) g**2, so the logged mean is (1-alpha) mean(g**2)."""
    problem = lab.softmax_problem()
    logs = lab.train(problem, solutions.rmsprop_step, {"alpha": 0.9}, steps=1)
    expected = 0.1 * logs["grad_norm"][0] ** 2 / sum(p.numel() for p in problem.params.values())
    assert logs["second_moment"][0] == pytest.approx(expected, rel=1e-9)


def test_autograde_runs_experiments_for_two_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under nbgrader autograde, does an experiment train only 2 steps and draw nothing?"""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    logs = lab.train(lab.quadratic_problem(), solutions.adam_step, {}, steps=50)
    assert len(logs["loss"]) == 2
    lab.plot_logs({"adam": logs}, ["loss"], title="not drawn")


def test_transformer_logs_a_held_out_loss() -> None:
    """Is the transformer's validation loss logged (held-out data), and absent elsewhere?"""
    logs = lab.train(lab.transformer_problem(), solutions.adamw_step, {"lr": 0.01}, steps=5)
    assert all(math.isfinite(v) for v in logs["val_loss"])
    assert logs["val_loss"][-1] < logs["val_loss"][0]
    assert logs["val_loss"] != logs["loss"]
    quadratic = lab.train(lab.quadratic_problem(), solutions.adamw_step, {}, steps=2)
    assert all(math.isnan(v) for v in quadratic["val_loss"])
