"""Scoring, result files and feedback pages from hand-built contexts (no sandbox)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from alr.fileio import write_atomic
from alr.results import read_result, read_results
from autograder.feedback.page import feedback_html
from autograder.sandbox.protocol import JobResult, RunStatus
from autograder.stages.compare import CaseCheck, Failure
from autograder.stages.extract import Extracted
from autograder.stages.pipeline import STAGES, grade_submission
from autograder.stages.score import score
from autograder.stages.write_result import module_results, write_results
from course.cases.expand import CaseKind
from tests.autograder.grading_helpers import context, course_plan


def _scored(tmp_path, failing: dict[str, tuple[Failure, str | None]], *, errors=()):
    """A context where every case passes except `failing` (case_id -> failure, diagnosis)."""
    plan = course_plan()
    ctx = context(plan, tmp_path)
    defined = tuple(plan.cases)
    checks = {}
    for cases in plan.cases.values():
        for c in cases:
            if c.case_id in failing:
                checks[c.case_id] = CaseCheck(
                    c.case_id,
                    False,
                    failing[c.case_id][0],
                    "step 2: `theta` differs",
                    1,
                    "theta_2",
                    errors,
                    c.tolerance.rtol if errors else None,
                )
            else:
                checks[c.case_id] = CaseCheck(c.case_id, True)
    diagnoses = {k: d for k, (_, d) in failing.items() if d}
    ctx = replace(
        ctx,
        modules=tuple(sorted({c.module for cs in plan.cases.values() for c in cs})),
        extracted=Extracted("", defined, {n: "line 3" for n in defined}),
        run=JobResult(RunStatus.OK, sandbox_level="L1"),
        checks=checks,
        diagnoses=diagnoses,
    )
    return score(ctx)


def test_points_are_split_evenly_over_a_functions_cases():
    """Is each case worth points/n, all or nothing, and the total the course's points?"""
    plan = course_plan()
    adam = plan.cases["adam_step"]
    edge = next(c for c in adam if c.kind is CaseKind.EDGE)
    ctx = _scored(None, {edge.case_id: (Failure.VALUE, None)})
    tests = [t for t in ctx.tests if t.case.function == "adam_step"]
    share = plan.points["adam_step"] / len(adam)
    assert [t.max_score for t in tests] == [share] * len(adam)
    assert [t.score for t in tests] == [0 if t.case is edge else share for t in tests]
    assert sum(t.max_score for t in ctx.tests) == pytest.approx(sum(plan.points.values()))


def test_edge_and_portability_cases_count_only_once_every_core_case_passes():
    """When one core case fails, do the edge and meta cases that passed score 0, saying why,
    while the other core cases keep their points?"""
    plan = course_plan()
    adam = plan.cases["adam_step"]
    core = next(c for c in adam if c.kind is CaseKind.CORE)
    ctx = _scored(None, {core.case_id: (Failure.VALUE, None)})
    tests = [t for t in ctx.tests if t.case.function == "adam_step"]
    kinds = {t.case.kind for t in tests}
    assert kinds == {CaseKind.CORE, CaseKind.EDGE, CaseKind.PORTABILITY}
    for t in tests:
        if t.case is core or t.case.kind is not CaseKind.CORE:
            assert t.score == 0 and not t.passed
        else:
            assert t.passed
        if t.case.kind is not CaseKind.CORE:
            assert t.output.startswith("counts once every core case of adam_step passes")


def test_one_result_per_module_with_diagnosis_tags_and_project_fields(tmp_path):
    """Does the stage write DIR/<student>/<module>.json for each module in scope, each with only
    its own tests, the failed test's diagnosis in tags and extra_data, and an output that names
    the mistake?"""
    case = course_plan().cases["adam_step"][2]
    ctx = write_results(_scored(tmp_path, {case.case_id: (Failure.VALUE, "no_bias_correction")}))
    matrix = read_results(tmp_path)
    assert matrix.students == ("alice",) and len(matrix.modules) == 10 and not matrix.blanks()
    data = json.loads((tmp_path / "alice" / "4.1.json").read_text())
    assert data == next(r for r in ctx.results if r.module == "4.1").to_dict()
    assert {t["extra_data"]["module"] for t in data["tests"]} == {"4.1"}
    failed = [t for t in data["tests"] if t["extra_data"]["failure"] == "value"]
    assert len(failed) == 1
    (t,) = failed
    assert t["tags"] == ["4.1", "adam_step", "no_bias_correction"]
    assert t["extra_data"] == {
        "module": "4.1", "function": "adam_step", "device": case.device, "dtype": case.dtype,
        "diagnosis": "no_bias_correction", "case": case.case_name, "failure": "value",
        "errors": [], "tolerance": None,
    }  # fmt: skip
    assert t["output"].startswith("step 2: `theta` differs. This looks like no_bias_correction")
    extra = data["extra_data"]
    assert extra["sandbox"] == "L1" and extra["student"] == "alice" and extra["module"] == "4.1"
    assert data["score"] == sum(t["score"] for t in data["tests"]) < data["max_score"]
    assert read_result(tmp_path / "alice" / "3.1.json").score == 10  # untouched by 4.1's miss


def test_feedback_has_a_plot_for_a_failing_trajectory_and_the_hint(tmp_path):
    """Does the page show the function's verdict, the hint with its location, and a plot of
    the per-step relative error (derived values only)?"""
    case = next(c for c in course_plan().cases["adam_step"] if c.steps > 1)
    errors = (1e-9, 3e-3, 4e-3, 5e-3, 6e-3)
    ctx = _scored(tmp_path, {case.case_id: (Failure.VALUE, "eps_hat_form")}, errors=errors)
    write_results(ctx)
    page = (tmp_path / "alice" / "4.1.html").read_text()
    assert "<svg" in page and "relative error of the values" in page and "tolerance 2e-05" in page
    assert "Look at `adam_step` (line 3)." in page
    assert "epsilon hat" in page
    assert not (tmp_path / "alice" / "3.1.html").exists()  # all passed: no page needed


def test_student_strings_are_escaped_in_the_page(tmp_path):
    """Are the student name, notes and messages escaped?"""
    ctx = _scored(tmp_path, {})
    ctx = replace(ctx, student="<b>x</b>", notes=("note <i>",), error="bad <script>")
    page = feedback_html(module_results(ctx)[0])
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<script>" not in page and "<i>" not in page


def test_atomic_write_leaves_no_temp_file_and_keeps_the_old_file_on_failure(tmp_path):
    """Is a result replaced whole, and left untouched when writing fails midway?"""
    path = tmp_path / "a.json"
    write_atomic(path, "old")
    with pytest.raises(TypeError):
        write_atomic(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_the_pipeline_runs_the_stages_in_order_and_a_grader_bug_raises(tmp_path):
    """Are the stages load..report in order, and does an exception in a stage propagate?"""
    assert [s.__name__ for s in STAGES] == [
        "load_submission", "extract_functions", "run_in_sandbox", "compare", "diagnose",
        "score", "write_results",
    ]  # fmt: skip

    def broken(ctx):
        raise RuntimeError("grader bug")

    with pytest.raises(RuntimeError, match="grader bug"):
        grade_submission(context(course_plan(), tmp_path), (STAGES[0], broken))


def test_an_unreadable_file_of_no_known_module_scores_nothing_and_names_no_module(tmp_path):
    """Does a submission that cannot be read, with no module known, go through every stage to
    one unscoped error result with no tests (blank in every module, never 0)?"""
    path = tmp_path / "bob.py"
    path.write_bytes(b"")
    ctx = replace(context(course_plan(), tmp_path), path=path, student="bob")
    ctx = grade_submission(ctx)
    (result,) = ctx.results
    assert result.module is None and result.tests == () and result.max_score == 0
    assert result.error == "the file is empty; submit the file with your functions in it"
    matrix = read_results(tmp_path)
    assert matrix.cells == {} and [r.student for r in matrix.unscoped] == ["bob"]
    assert (tmp_path / "bob" / "unscoped-bob.py.html").exists() and ctx.run is None


def test_an_unreadable_file_of_a_known_module_scores_zero_there_only(tmp_path):
    """With --module 3.2, is an unreadable file a zero in 3.2 (it was submitted) and blank
    elsewhere?"""
    path = tmp_path / "bob.ipynb"
    path.write_text('{"cells": [')
    ctx = context(course_plan(), tmp_path)
    ctx = replace(ctx, path=path, student="bob", settings=replace(ctx.settings, module="3.2"))
    (result,) = grade_submission(ctx).results
    assert result.module == "3.2" and result.score == 0 and result.max_score == 10
    assert "not valid JSON" in (result.error or "")
    assert {t.function for t in result.tests} == {
        "adam_first_moment",
        "first_moment_trajectory",
        "decoupled_weight_decay",
        "adamw_step",
    }
