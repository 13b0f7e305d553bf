"""The batch plan: checked at once, drawn and run only for the functions used, and the same
whatever is used first (the same code gets the same score)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alr.errors import AlrError
from autograder import grade
from autograder.plan import build_plan
from tests.autograder.grading_helpers import SEED, course_exercises

ROOT = Path(__file__).resolve().parents[2]


def test_a_plan_computes_nothing_until_a_function_is_used() -> None:
    """Is nothing computed when the plan is built, are a function's cases drawn without its
    references, and are its references computed on first use for that function only?"""
    plan = build_plan(course_exercises(), seed=SEED, devices=("cpu",))
    assert set(plan.cases) == {e.function for e in course_exercises()}
    assert not plan.is_warm(["adam_step"]) and not plan.is_warm(["ema"])
    first = plan.cases["adam_step"][0]
    assert not plan.is_warm(["adam_step"])
    assert len(plan.expected[first.case_id]) == first.steps
    assert plan.is_warm(["adam_step"]) and not plan.is_warm(["ema"])
    plan.warm(["bias_correction", "adafactor_beta2"])
    assert plan.is_warm(["adam_step", "bias_correction", "adafactor_beta2"])
    assert not plan.is_warm(["ema", "lamb_model_step"])


def test_the_plan_is_the_same_whatever_is_used_first() -> None:
    """Do two plans of one seed, used in opposite orders, give the same inputs and the same
    expected values bit for bit?"""
    one = build_plan(course_exercises(), seed=SEED, devices=("cpu",))
    two = build_plan(course_exercises(), seed=SEED, devices=("cpu",))
    names = list(one.cases)
    one.warm(names)
    two.warm(reversed(names))
    for name in names:
        for a, b in zip(one.cases[name], two.cases[name], strict=True):
            assert a.case_id == b.case_id and a.program == b.program
            assert all(np.array_equal(a.inputs[k], b.inputs[k]) for k in a.inputs)
            for x, y in zip(one.expected[a.case_id], two.expected[b.case_id], strict=True):
                assert x.values.keys() == y.values.keys()
                for k, v in x.values.items():
                    if isinstance(v, np.ndarray):
                        assert v.tobytes() == y.values[k].tobytes()


def test_a_bad_case_is_refused_when_the_plan_is_built() -> None:
    """Is a case that could never be expanded (a hyperparameter the function does not take)
    refused before any grading, as expanding it would?"""
    ema = next(e for e in course_exercises() if e.function == "ema")
    bad = replace(ema, cases=(replace(ema.cases[0], hparams={"momentum": 0.9}),))
    with pytest.raises(AlrError, match="unknown hyperparameter"):
        build_plan([bad], seed=SEED, devices=("cpu",))


def test_grading_one_notebook_computes_only_its_module(tmp_path: Path, monkeypatch) -> None:
    """Does grading a module 4.1 notebook compute the references of 4.1's functions and of no
    other module's?"""
    from autograder import plan as plan_module

    built = []
    original = plan_module.build_plan

    def keep(*args, **kwargs):
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(plan_module, "build_plan", keep)
    notebook = ROOT / "tests" / "fixtures" / "submissions" / "notebooks" / "module-3-1.ipynb"
    summary = grade.grade_batch([notebook], out=tmp_path / "out", seed=SEED, device="cpu")
    assert [r.module for o in summary.outcomes for r in o.results] == ["3.1"]
    (plan,) = built
    warm = {f for f in plan.cases if plan.is_warm([f])}
    assert warm and warm <= {"ema", "coupled_l2_grad", "rmsprop_step"}


def test_reading_submissions_and_starting_the_sandbox_import_no_torch() -> None:
    """Can the grader start its sandbox before importing torch: do the modules on the way there
    (grade_batch's own, the Gradescope run, the sandbox, the course's settings) import none?"""
    code = (
        "import sys\n"
        "import autograder.grade, autograder.export.gradescope_run, autograder.sandbox\n"
        "import course.settings\n"
        "course.settings.load_settings()\n"
        "assert autograder.grade.resolve_devices('cpu') == ('cpu',)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"
