"""The build evaluates every experiment's expectations on the reference solutions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from course import lab, lab_checks, lab_problems
from course.expect import (
    ExpectationError,
    check_course,
    claim,
    claim_source,
    evaluate_experiment,
    experiment_logs,
    reference_rule,
)
from course.load import MODULES_DIR, load_course
from course.notebooks import build_course


def test_every_expectation_holds_on_the_references() -> None:
    """Does every declared expectation of every module hold (what `alr build` checks)?"""
    course = load_course()
    failing = [
        (m.id, e.id, v.line())
        for m in course.modules
        for e in m.experiments
        for v in evaluate_experiment(e)
        if not v.holds
    ]
    assert not failing, failing
    assert sum(len(e.expectations) for m in course.modules for e in m.experiments) >= 100


@pytest.fixture
def modules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "modules"
    shutil.copytree(MODULES_DIR, target)
    return target


def _break_first_claim(modules: Path) -> None:
    path = modules / "3.1.yaml"
    text = path.read_text()
    assert "        below: 1.0e-6\n" in text
    path.write_text(text.replace("        below: 1.0e-6\n", "        below: 1.0e-12\n", 1))


def test_a_claim_that_does_not_hold_fails_the_build(modules_copy: Path, tmp_path: Path) -> None:
    """Does a claim the references do not show stop the build, naming the file, the key path,
    the module, the experiment and the measured numbers, and write nothing?"""
    _break_first_claim(modules_copy)
    course = load_course(modules_copy)
    with pytest.raises(ExpectationError) as caught:
        check_course(course)
    error = caught.value
    assert error.path.endswith("3.1.yaml") and error.where == "experiments[0].expect[2]"
    assert "module 3.1, experiment 'quadratic'" in error.problem
    assert (
        "measured: loss of 'RMSProp' (last) = 9.1" in error.problem and "< 1e-12" in error.problem
    )
    out = tmp_path / "out"
    with pytest.raises(ExpectationError):
        build_course(out=out, modules_dir=modules_copy)
    assert not out.exists()


def test_alr_build_reports_a_failing_claim(modules_copy: Path, tmp_path: Path) -> None:
    """Does `alr build` exit 1 with the failing claim in one message?"""
    _break_first_claim(modules_copy)
    result = CliRunner().invoke(
        main, ["build", "--modules", str(modules_copy), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "experiments[0].expect[2]" in result.output and "Without L2" in result.output


def test_claim_source_is_the_claim() -> None:
    """Does the notebook's Claim(...) source evaluate to the claim the build judges?"""
    names = {"Claim": lab_checks.Claim, "Quantity": lab_checks.Quantity}
    for module in load_course().modules:
        for experiment in module.experiments:
            for expectation in experiment.expectations:
                assert eval(claim_source(expectation), names) == claim(expectation)  # noqa: S307


def test_torch_runs_of_the_course_match_their_reference_twins() -> None:
    """Do the course's torch.optim runs log, with torch.optim itself, what the build measures
    with their reference twins (on the first steps)?"""
    checked = 0
    for module in load_course().modules:
        for experiment in module.experiments:
            for run in experiment.runs:
                if run.torch is None or experiment.problem is None:
                    continue
                problem = lab_problems.PROBLEMS[experiment.problem.value]()
                optimizer = getattr(__import__("torch").optim, run.torch.value)
                batch = run.batch_size or experiment.batch_size
                a = lab.train(problem, optimizer, dict(run.hparams), 5, batch_size=batch)
                twin, hparams = reference_rule(run)
                b = lab.train(problem, twin, hparams, 5, batch_size=batch)
                for key in ("loss", "update_norm", "update_ratio", "v_hat"):
                    assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-14), (run.label, key)
                checked += 1
    assert checked >= 8


def test_identical_runs_train_once() -> None:
    """Are runs that share problem, rule, hyperparameters (defaults filled in), steps and batches
    trained once per build and shared, torch.optim runs with their twins included?"""
    course = load_course()
    trained: dict = {}
    total = 0
    for module in course.modules:
        for experiment in module.experiments:
            experiment_logs(experiment, trained)
            total += len(experiment.runs)
    assert 0 < len(trained) < total
    adam = next(
        e for e in course.module("3.3").experiments if e.id == "transformer"
    )  # torch Adam lr 1e-2
    eps = next(e for e in course.module("4.2").experiments if e.id == "transformer")
    assert (
        experiment_logs(adam, trained)["Adam lr 1e-2"]
        is experiment_logs(eps, trained)["Adam eps 1e-8"]
    )
