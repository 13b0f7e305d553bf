"""Loading and validating the course YAML: typed objects, and errors naming file, key and fix."""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from alr.contract import FUNCTIONS, MODULE_FUNCTIONS, MODULE_IDS
from alr.errors import CourseFileError
from cli import main
from course.cases.expand import hparam_names
from course.load import MODULES_DIR, load_course, validate_course
from course.spec import CaseSpec, ExerciseSpec, Init, ProblemKind
from solutions import reference


def test_packaged_course_is_valid_and_ordered() -> None:
    """Does the packaged course load, with every module in id order and its graded functions?"""
    course = load_course()
    assert [m.id for m in course.modules] == list(MODULE_IDS)
    for module in course.modules:
        assert module.functions == MODULE_FUNCTIONS[module.id]
        assert all(isinstance(e, ExerciseSpec) for e in module.exercises)
        assert all(isinstance(c, CaseSpec) for e in module.exercises for c in e.cases)
        assert course.module(module.id) is module
    assert course.module("4.1").exercises[1].function == "adam_step"


def test_every_case_uses_only_parameters_of_the_reference() -> None:
    """Are all case hparams real parameters of the function, so the grader can pass them?"""
    for module in load_course().modules:
        for exercise in module.exercises:
            params = inspect.signature(reference(exercise.function)).parameters
            for case in exercise.cases:
                assert set(case.hparams) <= set(params) - {"t"}
                assert set(case.hparams) <= set(hparam_names(exercise.function))


def test_grading_cases_cover_the_probes_and_edge_cases() -> None:
    """Do the cases include probe hparams, non-square shapes, t=1, zero parameters and limits?"""
    course = load_course()
    adamw = course.exercise("adamw_step")
    assert any(c.hparams.get("eps") == 1e-3 and c.steps >= 5 for c in adamw.cases)
    assert any(c.steps == 1 for c in adamw.cases)
    assert any(c.grads.value == "decaying" for c in course.exercise("amsgrad_step").cases)
    for fn in ("lamb_step", "lars_step", "lars_trust_ratio", "lamb_model_step"):
        assert any(c.init is Init.ZEROS for c in course.exercise(fn).cases), fn
    adafactor = {s for c in course.exercise("adafactor_step").cases for s in c.shapes}
    assert {(4, 5), (5, 5), (2, 3, 4)} <= adafactor
    names = course.exercise("lamb_model_step").cases[0].names
    assert any("bias" in n for n in names) and any("norm" in n for n in names)
    for module in course.modules:
        for exercise in module.exercises:
            expanded = sum(
                (1 if FUNCTIONS[exercise.function].named else len(c.shapes)) * len(c.dtypes)
                for c in exercise.cases
            )
            assert expanded <= 12, (exercise.function, expanded)


def test_every_module_has_the_three_kinds_of_example() -> None:
    """Does each module run a synthetic problem, a logistic/softmax and a transformer experiment,
    every experiment declaring what it shows, and every diagnostic question a worked answer?"""
    synthetic = {
        ProblemKind.QUADRATIC,
        ProblemKind.VALLEY,
        ProblemKind.COUNTEREXAMPLE,
        ProblemKind.LAYERS,
    }
    for module in load_course().modules:
        kinds = {e.problem for e in module.experiments}
        assert kinds & synthetic and ProblemKind.TRANSFORMER in kinds
        assert kinds & {ProblemKind.LOGISTIC, ProblemKind.SOFTMAX}
        assert all(e.expectations for e in module.experiments)
        assert len(module.reading.diagnostic_questions) >= 3
        assert all(q.answer.strip() for q in module.reading.diagnostic_questions)


def test_the_problems_of_the_issue_are_in_the_course() -> None:
    """Stochastic minibatches, the counterexample in 4.3, a large-batch layers problem in 3.5,
    Adam + L2 against AdamW on one base optimizer in 3.2, uncorrected first steps in 4.1 and the
    contour paths of SGD, RMSProp, Adam and AdamW."""
    course = load_course()

    def experiments(module_id: str) -> list:
        return list(course.module(module_id).experiments)

    assert any(
        e.batch_size or any(r.batch_size for r in e.runs)
        for m in course.modules
        for e in m.experiments
    )
    assert any(e.problem is ProblemKind.COUNTEREXAMPLE for e in experiments("4.3"))
    layers = [e for e in experiments("3.5") if e.problem is ProblemKind.LAYERS]
    assert layers and (layers[0].batch_size or 0) >= 128
    logistic = next(e for e in experiments("3.2") if e.problem is ProblemKind.LOGISTIC)
    assert {(r.torch and r.torch.value, r.rule) for r in logistic.runs} == {
        ("Adam", ""),
        (None, "adamw_step"),
    }
    assert any(r.rule == "adam_without_correction" for e in experiments("4.1") for r in e.runs)
    valley = next(e for e in experiments("3.2") if e.problem is ProblemKind.VALLEY)
    assert "trajectory" in {p.value for p in valley.plot} and len(valley.runs) == 4


Edit = Callable[[str], str]


def _replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, f"fixture drift: {old!r} not in the module file"
        return text.replace(old, new, 1)

    return edit


MUTATIONS: list[tuple[str, Edit, str, str]] = [
    (
        "3.2",
        _replace("    points: 2\n", "    points: two\n"),
        "exercises[1].points",
        "expected a number, got 'two'",
    ),
    (
        "3.1",
        _replace("hparams: {beta: 0.9}\n", "hparams: {beta: 0.9, lr: 3}\n"),
        "exercises[0].cases[0].hparams.lr",
        "not a hyperparameter of ema",
    ),
    (
        "3.1",
        _replace("  - function: coupled_l2_grad\n", "  - function: coupled_l3_grad\n"),
        "exercises[1].function",
        "expected a graded function of module 3.1",
    ),
    (
        "3.2",
        _replace("probes: [decay_not_scaled_by_lr]", "probes: [decay_not_scaled]"),
        "exercises[2].cases[0].probes[0]",
        "unknown misconception id 'decay_not_scaled'",
    ),
    (
        "3.1",
        _replace('skill_check: "3.1"\n', 'skill_check: "3.1"\ncolour: blue\n'),
        "colour",
        "unknown key",
    ),
    (
        "3.1",
        _replace(
            "        steps: 5\n        hparams: {beta: 0.8}",
            "        stepz: 5\n        hparams: {beta: 0.8}",
        ),
        "exercises[0].cases[1].stepz",
        "unknown key",
    ),
    (
        "3.2",
        _replace(
            "$m_t = \\beta_1 m_{t-1} + (1-\\beta_1)\\,g_t$.", "$m_t = \\beta_1 m_{t-1 + g_t$."
        ),
        "exercises[0].text",
        "'{' never closed",
    ),
    (
        "3.2",
        _replace("$m_t = \\beta_1 m_{t-1} + (1-\\beta_1)\\,g_t$.", "$m_t = \\betta_1 g_t$."),
        "exercises[0].text",
        "unknown TeX command \\betta",
    ),
    (
        "3.2",
        _replace("$m_t = \\beta_1 m_{t-1} + (1-\\beta_1)\\,g_t$.", "costs $5 per step."),
        "exercises[0].text",
        "unbalanced $",
    ),
    (
        "3.2",
        _replace("$m_t = \\beta_1 m_{t-1} + (1-\\beta_1)\\,g_t$.", "see [the notes](notes.md)."),
        "exercises[0].text",
        "link target 'notes.md'",
    ),
    (
        "3.1",
        _replace(
            "hparams: {weight_decay: 0.1}\n        probes: [decoupled_instead_of_coupled]",
            "hparams: {}\n        probes: [decoupled_instead_of_coupled]",
        ),
        "exercises[1].cases[0].hparams",
        "needs 'weight_decay'",
    ),
    (
        "3.1",
        _replace(
            '{label: "RMSProp", rule: rmsprop_step, hparams: {lr: 0.2, alpha: 0.99}}',
            '{label: "RMSProp", rule: amsgrad_step, hparams: {lr: 0.2}}',
        ),
        "experiments[0].runs[0].rule",
        "amsgrad_step is graded in a later module",
    ),
    (
        "3.4",
        _replace(
            '{label: "AdamW lr 0.05", torch: AdamW, hparams: {lr: 0.05, weight_decay: 0.0}}',
            '{label: "AdamW lr 0.05", rule: adamw_step, hparams: {lr: 0.05, weight_decay: 0.0}}',
        ),
        "experiments[0].runs[1].rule",
        "adamw_step calls adam_direction, bias_correction, graded in a later module",
    ),
    (
        "3.2",
        _replace(
            "torch: Adam, hparams: {lr: 0.1}}", "torch: Adam, hparams: {lr: 0.1, alpha: 0.9}}"
        ),
        "experiments[0].runs[2].hparams.alpha",
        "not a hyperparameter of Adam",
    ),
    (
        "3.2",
        _replace("rule: sgd_step, hparams: {lr: 0.09}}", "rule: sgd_step, torch: Adam}"),
        "experiments[0].runs[0]",
        "expected exactly one of rule",
    ),
    (
        "3.2",
        _replace("rule: sgd_step, hparams: {lr: 0.09}}", "rule: adam_without_correction}"),
        "experiments[0].runs[0].rule",
        "built from adam_step, graded in a later module",
    ),
    (
        "3.1",
        _replace(
            "measure: {run: RMSProp, metric: update_max, at: 1}",
            "measure: {run: RMSprop, metric: update_max, at: 1}",
        ),
        "experiments[0].expect[0].measure.run",
        "expected a run label",
    ),
    (
        "3.1",
        _replace(
            "measure: {run: RMSProp, metric: update_max, at: 1}",
            "measure: {run: RMSProp, metric: update_maximum, at: 1}",
        ),
        "experiments[0].expect[0].measure.metric",
        "expected one of loss",
    ),
    (
        "3.1",
        _replace(
            "measure: {run: RMSProp, metric: update_max, at: 1}",
            "measure: {run: RMSProp, metric: update_max, at: 61}",
        ),
        "experiments[0].expect[0].measure.at",
        "after the last step (60)",
    ),
    (
        "3.1",
        _replace("        below: 2.000001\n", "        beyond: 2.000001\n"),
        "experiments[0].expect[0]",
        "expected exactly one of below, above or near",
    ),
    (
        "3.1",
        _replace("        below: 2.000001\n", "        below: 2.000001\n        rtol: 0.1\n"),
        "experiments[0].expect[0].rtol",
        "rtol goes with near only",
    ),
    (
        "3.4",
        _replace(
            "metric: param_norm, tensor: bias, at: 1}", "metric: param_norm, tensor: biases, at: 1}"
        ),
        "experiments[2].expect[0].measure.tensor",
        "expected a tensor of the problem (W, bias)",
    ),
    (
        "3.2",
        _replace("    probe: key_inequality\n", "    probe: key_inequality\n    steps: 5\n"),
        "experiments[1].steps",
        "a probe experiment trains nothing",
    ),
    (
        "3.2",
        _replace("measure: {metric: worst_ratio}", "measure: {metric: worst}"),
        "experiments[1].expect[0].measure.metric",
        "expected one of worst_ratio, constant_ratio",
    ),
    (
        "3.1",
        _replace("plot: [loss, update_max, v_hat]", "plot: [loss, trajectory]"),
        "experiments[0].plot",
        "trajectory (contours) is drawn for the valley problem only",
    ),
    (
        "4.3",
        _replace("    steps: 90\n", "    steps: 90\n    batch_size: 2\n"),
        "experiments[0].batch_size",
        "the counterexample problem has no minibatches",
    ),
    (
        "3.1",
        _replace(
            "      answer: |\n        The last $t$ values",
            "      reply: |\n        The last $t$ values",
        ),
        "reading.diagnostic_questions[0].reply",
        "unknown key",
    ),
    (
        "3.4",
        _replace("        shapes: [[3, 6]]", "        shapes: [[6]]"),
        "exercises[0].cases[1].shapes[0]",
        "expected at least 2 dims",
    ),
    (
        "4.5",
        _replace(
            "names: [encoder.weight, encoder.bias, head.weight]\n        init: zeros\n",
            "names: [encoder.weight]\n        init: zeros\n",
        ),
        "exercises[0].cases[2].names",
        "expected one name per shape (3), got 1",
    ),
    ("3.1", _replace('id: "3.1"', 'id: "3.9"'), "id", "expected one of 3.1"),
    (
        "3.1",
        _replace("plot: [loss, update_max, v_hat]", "plot: [loss, val_loss]"),
        "experiments[0].plot",
        "val_loss is logged for the transformer problem only",
    ),
    ("3.1", _replace('skill_check: "3.1"', 'skill_check: "3.6"'), "skill_check", "got '3.6'"),
]


@pytest.fixture
def modules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "modules"
    shutil.copytree(MODULES_DIR, target)
    return target


@pytest.mark.parametrize(
    ("module", "edit", "where", "problem"), MUTATIONS, ids=[f"{m[0]}:{m[2]}" for m in MUTATIONS]
)
def test_bad_module_file_is_reported_with_file_key_and_reason(
    modules_copy: Path, module: str, edit: Edit, where: str, problem: str
) -> None:
    """Does one broken key give an error naming the file, the key path and what was expected?"""
    path = modules_copy / f"{module}.yaml"
    path.write_text(edit(path.read_text()))
    errors = validate_course(modules_copy)
    assert errors, "the broken file was accepted"
    matching = [e for e in errors if e.where == where and problem in e.problem]
    assert matching, "\n".join(str(e) for e in errors)
    assert all(Path(e.path).name == f"{module}.yaml" for e in errors)
    assert str(matching[0]).startswith(f"{matching[0].path}: {where}: ")
    with pytest.raises(CourseFileError):
        load_course(modules_copy)


def test_several_problems_are_all_reported(modules_copy: Path) -> None:
    """Are problems in two files both reported, not only the first?"""
    for module, edit, *_ in (MUTATIONS[0], MUTATIONS[1]):
        path = modules_copy / f"{module}.yaml"
        path.write_text(edit(path.read_text()))
    paths = {Path(e.path).name for e in validate_course(modules_copy)}
    assert paths == {"3.1.yaml", "3.2.yaml"}


def test_missing_module_and_invalid_yaml(modules_copy: Path) -> None:
    """Are a missing module file and a YAML syntax error (with its line) reported?"""
    (modules_copy / "4.5.yaml").unlink()
    (modules_copy / "4.4.yaml").write_text("id: [unclosed\n")
    messages = [str(e) for e in validate_course(modules_copy)]
    assert any(m.endswith("4.5.yaml: missing module file") for m in messages)
    assert any("4.4.yaml: line 2" in m and "invalid YAML" in m for m in messages)


def test_alr_validate_exit_codes(modules_copy: Path) -> None:
    """Does `alr validate` exit 0 on the packaged course, and 1 with the errors on a bad one?"""
    runner = CliRunner()
    ok = runner.invoke(main, ["validate"])
    assert ok.exit_code == 0, ok.output
    path = modules_copy / "3.2.yaml"
    path.write_text(MUTATIONS[0][1](path.read_text()))
    bad = runner.invoke(main, ["validate", "--modules", str(modules_copy)])
    assert bad.exit_code == 1
    assert "exercises[1].points: expected a number, got 'two'" in bad.output


def test_course_settings_switch_the_torch_optim_policy(tmp_path: Path) -> None:
    """Does course.yaml decide whether graded functions may use torch.optim (off by default),
    and is a wrong value an error naming the file and key?"""
    assert load_course().allow_torch_optim is False
    copy = tmp_path / "modules"
    shutil.copytree(MODULES_DIR, copy)
    (copy / "course.yaml").write_text("grading:\n  allow_torch_optim: true\n")
    assert load_course(copy).allow_torch_optim is True
    (copy / "course.yaml").write_text("grading:\n  allow_torch_optim: sometimes\n")
    errors = validate_course(copy)
    assert [str(e) for e in errors] == [
        f"{copy / 'course.yaml'}: grading.allow_torch_optim: expected true or false, "
        "got 'sometimes'"
    ]
