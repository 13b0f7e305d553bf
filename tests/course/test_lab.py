"""The experiment lab: problems with known minima, a training loop for every kind of step rule
(graded functions, lab helpers, torch.optim), and metrics that mean what their names say."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

import solutions
from course import lab, lab_checks, lab_problems


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread (as in the notebooks' lab cell)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _start_loss(problem: lab_problems.Problem) -> float:
    return float(problem.loss(problem.params, None)) - problem.optimum


TRAINING = sorted(set(lab_problems.PROBLEMS) - {"counterexample"})


@pytest.mark.parametrize("problem", TRAINING)
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
    p = lab_problems.PROBLEMS[problem]()
    logs = lab.train(p, getattr(solutions, rule), hparams, steps=8)
    assert len(logs["loss"]) == 8
    assert logs["loss"][-1] < _start_loss(p)
    assert all(math.isfinite(v) for v in logs["grad_norm"] + logs["update_norm"])


@pytest.mark.parametrize("problem", sorted(lab_problems.PROBLEMS))
def test_logged_loss_is_the_gap_to_the_known_minimum(problem: str) -> None:
    """Where a problem knows its minimum, is the loss there exactly `optimum` (gap 0), and is
    the gap positive at the start?"""
    p = lab_problems.PROBLEMS[problem]()
    assert _start_loss(p) > 0
    minimum = {
        "quadratic": {"W": torch.zeros(6, 4), "b": torch.ones(4)},
        "valley": {"xy": torch.tensor([2.0, 1.0])},
        "counterexample": {"x": torch.tensor([-1.0])},
    }.get(problem)
    if minimum is not None:
        gap = float(p.loss({k: v.double() for k, v in minimum.items()}, None)) - p.optimum
        assert gap == pytest.approx(0.0, abs=1e-12)


def test_layers_minimum_is_the_least_squares_solution() -> None:
    """Is the layers problem's optimum the loss at the least-squares solution (zero gradient)?"""
    p = lab_problems.layers_problem()
    logs = lab.train(p, lab_checks.sgd_step, {"lr": 2e-3, "momentum": 0.9}, steps=400)
    assert 0 <= logs["loss"][-1] < 1e-3 * _start_loss(p)


def test_counterexample_is_cyclic_and_projected() -> None:
    """Does step t see the loss C x when t % 3 == 1 and -x otherwise, with x kept in [-1, 1],
    and is the logged loss (C - 2)(x + 1) / 3?"""
    p = lab_problems.counterexample_problem(c=3.0)
    logs = lab.train(p, lab_checks.sgd_step, {"lr": 0.4}, steps=6)
    grads = [round(g, 12) for g in logs["grad_norm"]]
    assert grads == [3.0, 1.0, 1.0, 3.0, 1.0, 1.0]
    assert all(-1.0 <= x <= 1.0 for x in logs["x"])
    assert logs["x"][0] == -1.0  # 0 - 0.4 * 3, projected
    for x, loss in zip(logs["x"], logs["loss"], strict=True):
        assert loss == pytest.approx((3.0 - 2.0) * (x + 1.0) / 3.0, abs=1e-12)


def test_lamb_moves_every_tensor_by_the_learning_rate() -> None:
    """Under LAMB every tensor moves by exactly lr * ||theta||: median, smallest and largest
    update ratio equal lr and their spread is 1."""
    logs = lab.train(lab_problems.quadratic_problem(), solutions.lamb_step, {"lr": 0.05}, steps=10)
    for key in ("update_ratio", "update_ratio_lo", "update_ratio_hi"):
        assert logs[key] == pytest.approx([0.05] * 10, rel=1e-9)
    assert logs["ratio_spread"] == pytest.approx([1.0] * 10, rel=1e-9)


def test_update_ratio_band_and_per_tensor_logs() -> None:
    """Is the median between the band's ends, per-tensor ratios logged under the tensor's name,
    and a zero-initialised tensor's first ratio infinite (left out of the median)?"""
    logs = lab.train(lab_problems.softmax_problem(), solutions.adamw_step, {"lr": 0.02}, steps=5)
    bands = zip(logs["update_ratio_lo"], logs["update_ratio"], logs["update_ratio_hi"], strict=True)
    for lo, mid, hi in bands:
        assert lo <= mid <= hi
    assert logs["update_ratio[bias]"][0] == math.inf
    assert logs["update_ratio"][0] == pytest.approx(logs["update_ratio[W]"][0])
    assert logs["param_norm[bias]"][0] > 0


def test_first_adam_step_moves_every_coordinate_by_lr() -> None:
    """At t=1 Adam's step is lr * g/(|g| + eps): every coordinate moves by lr (to eps)."""
    logs = lab.train(lab_problems.quadratic_problem(), solutions.adam_step, {"lr": 0.01}, steps=1)
    assert logs["update_max"][0] == pytest.approx(0.01, rel=1e-6)
    assert logs["update_min"][0] == pytest.approx(0.01, rel=1e-6)
    assert logs["update_rms"][0] == pytest.approx(0.01, rel=1e-6)


def _numel(problem: lab_problems.Problem) -> int:
    return sum(p.numel() for p in problem.params.values())


@pytest.mark.parametrize(
    ("rule", "hparams", "factor"),
    [
        (solutions.adam_step, {}, 1.0),  # bias-corrected: v_hat_1 = g_1**2
        (solutions.amsgrad_step, {}, 1.0),
        (solutions.adafactor_step, {}, 1.0),  # factored: mean of R C / mean(R) = mean(g**2)
        (solutions.rmsprop_step, {"alpha": 0.9}, 0.1),  # no correction: v_1 = (1 - alpha) g**2
    ],
)
def test_v_hat_is_the_bias_corrected_second_moment(rule, hparams: dict, factor: float) -> None:  # noqa: ANN001
    """Is the logged v_hat at t=1 the mean of the estimate each rule divides by: g**2 for the
    bias-corrected Adam family and Adafactor's factored estimate, (1 - alpha) g**2 for RMSProp?"""
    problem = lab_problems.softmax_problem()
    logs = lab.train(problem, rule, hparams, steps=1)
    expected = factor * logs["grad_norm"][0] ** 2 / _numel(problem)
    assert logs["v_hat"][0] == pytest.approx(expected, rel=1e-9)


def test_v_hat_of_adafactor_is_the_mean_of_its_factored_estimate() -> None:
    """After several steps, is Adafactor's logged v_hat the mean of R C / mean(R), computed
    here from its state?"""
    problem = lab_problems.quadratic_problem()
    rule = lab._FunctionRule(solutions.adafactor_step, {"lr": 0.05}, problem.params)
    params = problem.params
    for t in range(1, 4):
        leaves = {k: v.detach().requires_grad_() for k, v in params.items()}
        grads = dict(
            zip(
                leaves,
                torch.autograd.grad(problem.loss(leaves, None), list(leaves.values())),
                strict=True,
            )
        )
        params = rule.step(params, grads, t, 0.05)
    row, col = rule.state[0], rule.state[1]
    estimates = [row[k] * col[k] / row[k].mean(dim=-2, keepdim=True) for k in row]
    expected = float(torch.cat([e.flatten() for e in estimates]).mean())
    total = sum(float(s) for s, _ in rule.v_hat(3)) / sum(n for _, n in rule.v_hat(3))
    assert total == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("optimizer", "hparams", "twin", "twin_hparams"),
    [
        (
            torch.optim.Adam,
            {"lr": 0.05, "weight_decay": 0.1},
            solutions.adam_step,
            {"lr": 0.05, "weight_decay": 0.1},
        ),
        (torch.optim.Adam, {"lr": 0.05, "amsgrad": True}, solutions.amsgrad_step, {"lr": 0.05}),
        (
            torch.optim.AdamW,
            {"lr": 0.05, "betas": (0.9, 0.99)},
            solutions.adamw_step,
            {"lr": 0.05, "beta2": 0.99},
        ),
        (
            torch.optim.RMSprop,
            {"lr": 0.01, "alpha": 0.9},
            solutions.rmsprop_step,
            {"lr": 0.01, "alpha": 0.9},
        ),
        (torch.optim.Adafactor, {"lr": 0.05}, solutions.adafactor_step, {"lr": 0.05}),
    ],
)
def test_torch_optimizer_logs_equal_its_reference_twin(
    optimizer, hparams, twin, twin_hparams
) -> None:  # noqa: ANN001
    """Does training with a torch.optim class log what its reference twin logs (the build
    evaluates torch runs with the twin), v_hat included, on minibatches of the transformer?"""
    problem = lab_problems.transformer_problem()
    a = lab.train(problem, optimizer, hparams, steps=4, batch_size=8)
    b = lab.train(problem, twin, twin_hparams, steps=4, batch_size=8)
    for key in (
        "loss",
        "val_loss",
        "update_norm",
        "update_ratio",
        "v_hat",
        "param_norm[norm.bias]",
    ):
        assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-15), key


def test_minibatches_are_reproducible_and_noisy() -> None:
    """Same seed, same minibatches (identical logs); a batch as large as the data is the full
    batch; a small batch gives different gradients."""
    problem = lab_problems.quadratic_problem()
    a = lab.train(problem, solutions.adam_step, {"lr": 0.05}, steps=5, batch_size=4)
    b = lab.train(problem, solutions.adam_step, {"lr": 0.05}, steps=5, batch_size=4)
    full = lab.train(problem, solutions.adam_step, {"lr": 0.05}, steps=5)
    everything = lab.train(problem, solutions.adam_step, {"lr": 0.05}, steps=5, batch_size=64)
    assert a == b
    assert everything == full
    assert a["grad_norm"] != full["grad_norm"]


def test_sqrt_decay_divides_the_learning_rate() -> None:
    """With lr_decay="sqrt", LARS without momentum moves every tensor by lr * c / sqrt(t)."""
    hp = {"lr": 1.0, "momentum": 0.0, "trust_coefficient": 0.02, "weight_decay": 0.0}
    logs = lab.train(
        lab_problems.quadratic_problem(), solutions.lars_step, hp, steps=4, lr_decay="sqrt"
    )
    assert logs["update_ratio_hi"] == pytest.approx(
        [0.02 / math.sqrt(t) for t in range(1, 5)], rel=1e-6
    )


def test_valley_logs_its_path() -> None:
    """Does the two-parameter valley log the iterate for its contour plot?"""
    logs = lab.train(lab_problems.valley_problem(), lab_checks.sgd_step, {"lr": 0.01}, steps=3)
    assert len(logs["path_x"]) == 3 and all(math.isfinite(v) for v in logs["path_y"])
    quadratic = lab.train(
        lab_problems.quadratic_problem(), lab_checks.sgd_step, {"lr": 0.01}, steps=2
    )
    assert all(math.isnan(v) for v in quadratic["path_x"] + quadratic["x"])


def test_autograde_runs_experiments_for_two_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under nbgrader autograde, does an experiment train only 2 steps and draw nothing?"""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    logs = lab.train(lab_problems.quadratic_problem(), solutions.adam_step, {}, steps=50)
    assert len(logs["loss"]) == 2
    lab.plot_logs({"adam": logs}, ["loss"], title="not drawn")


def test_transformer_logs_a_held_out_loss() -> None:
    """Is the transformer's validation loss logged (held-out data, computed with the training
    loss in one pass), and absent elsewhere?"""
    problem = lab_problems.transformer_problem()
    both = problem.both_losses
    assert both is not None and problem.val_loss is not None
    loss, val = both(problem.params)
    assert float(loss) == pytest.approx(float(problem.loss(problem.params, None)), rel=1e-12)
    assert float(val) == pytest.approx(float(problem.val_loss(problem.params)), rel=1e-12)
    logs = lab.train(problem, solutions.adamw_step, {"lr": 0.01}, steps=5)
    assert logs["val_loss"][-1] < logs["val_loss"][0]
    assert logs["val_loss"] != logs["loss"]
    quadratic = lab.train(lab_problems.quadratic_problem(), solutions.adamw_step, {}, steps=2)
    assert all(math.isnan(v) for v in quadratic["val_loss"])


def test_plots_draw_every_panel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Does plot_logs draw one panel per metric, the band of the update ratio and the contours,
    with a title saying what each panel is?"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: None)
    logs = {
        "SGD": lab.train(lab_problems.valley_problem(), lab_checks.sgd_step, {"lr": 0.05}, steps=5),
        "RMSProp": lab.train(
            lab_problems.valley_problem(), solutions.rmsprop_step, {"lr": 0.1}, steps=5
        ),
    }
    lab.plot_logs(logs, ["trajectory", "loss", "update_ratio"], title="valley")
    fig = plt.gcf()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [lab.TITLES["trajectory"], lab.TITLES["loss"], lab.TITLES["update_ratio"]]
    assert fig.axes[2].collections, "the min..max band is drawn"
    plt.close(fig)
