"""Scoring, result files, summary CSV and feedback pages from hand-built contexts (no sandbox)."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest

from autograder.feedback.page import feedback_html
from autograder.sandbox.protocol import JobResult, RunStatus
from autograder.stages.compare import CaseCheck, Failure
from autograder.stages.extract import Extracted
from autograder.stages.pipeline import STAGES, grade_submission
from autograder.stages.score import score
from autograder.stages.write_result import report, summary_row, write_atomic, write_summary
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
                )
            else:
                checks[c.case_id] = CaseCheck(c.case_id, True)
    diagnoses = {k: d for k, (_, d) in failing.items() if d}
    ctx = replace(
        ctx,
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
    ctx = _scored(None, {adam[0].case_id: (Failure.VALUE, None)})
    tests = [t for t in ctx.tests if t.case.function == "adam_step"]
    share = plan.points["adam_step"] / len(adam)
    assert [t.max_score for t in tests] == [share] * len(adam)
    assert tests[0].score == 0 and all(t.score == share for t in tests[1:])
    assert sum(t.max_score for t in ctx.tests) == pytest.approx(sum(plan.points.values()))


def test_result_file_is_written_with_diagnosis_tags_and_project_fields(tmp_path):
    """Does report write DIR/<student>.json with the failed test's diagnosis in tags and
    extra_data, and a short output that names the mistake?"""
    case = course_plan().cases["adam_step"][2]
    ctx = report(_scored(tmp_path, {case.case_id: (Failure.VALUE, "no_bias_correction")}))
    data = json.loads((tmp_path / "alice.json").read_text())
    assert data == ctx.result
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert len(failed) == 1
    (t,) = failed
    assert t["tags"] == ["4.1", "adam_step", "no_bias_correction"]
    assert t["extra_data"] == {
        "module": "4.1", "function": "adam_step", "device": case.device, "dtype": case.dtype,
        "diagnosis": "no_bias_correction", "case": case.case_name,
    }  # fmt: skip
    assert t["output"].startswith("step 2: `theta` differs. This looks like no_bias_correction")
    assert data["extra_data"]["sandbox"] == "L1" and data["extra_data"]["student"] == "alice"
    assert data["score"] == pytest.approx(data["max_score"] - t["max_score"])


def test_feedback_has_a_plot_for_a_failing_trajectory_and_the_hint(tmp_path):
    """Does the page show the function's verdict, the hint with its location, and a plot of
    the per-step relative error (derived values only)?"""
    case = next(c for c in course_plan().cases["adam_step"] if c.steps > 1)
    errors = (1e-9, 3e-3, 4e-3, 5e-3, 6e-3)
    ctx = _scored(tmp_path, {case.case_id: (Failure.VALUE, "eps_hat_form")}, errors=errors)
    ctx = report(ctx)
    page = (tmp_path / "feedback" / "alice.html").read_text()
    assert "<svg" in page and "relative error" in page
    assert "Look at `adam_step` (line 3)." in page
    assert "epsilon hat" in page


def test_student_strings_are_escaped_in_the_page(tmp_path):
    """Are the student name, notes and messages escaped?"""
    ctx = _scored(tmp_path, {})
    ctx = replace(ctx, student="<b>x</b>", notes=("note <i>",), error="bad <script>")
    page = feedback_html(ctx, {"score": 0, "max_score": 1, "tests": []})
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<script>" not in page and "<i>" not in page


def test_summary_csv_neutralises_formulas(tmp_path):
    """Does a student name starting with '=' get quoted so spreadsheets show it as text?"""
    result = {"score": 1, "max_score": 2, "tests": [],
              "extra_data": {"student": "=HYPERLINK(1)", "error": "-x"}}  # fmt: skip
    write_summary(tmp_path / "s.csv", [summary_row(result, "graded")])
    (row,) = csv.DictReader((tmp_path / "s.csv").open())
    assert row["student"] == "'=HYPERLINK(1)" and row["error"] == "'-x"
    assert row["score"] == "1" and row["max_score"] == "2"


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
        "score", "report",
    ]  # fmt: skip

    def broken(ctx):
        raise RuntimeError("grader bug")

    with pytest.raises(RuntimeError, match="grader bug"):
        grade_submission(context(course_plan(), tmp_path), (STAGES[0], broken))


def test_an_unreadable_file_still_gets_a_full_result(tmp_path):
    """Does a submission that cannot be read go through every stage to a zero result?"""
    path = tmp_path / "bob.py"
    path.write_bytes(b"")
    ctx = replace(context(course_plan(), tmp_path), path=path, student="bob")
    ctx = grade_submission(ctx)
    data = json.loads((tmp_path / "bob.json").read_text())
    assert (
        data["score"] == 0
        and data["extra_data"]["error"]
        == "the file is empty; submit the file with your functions in it"
    )
    assert len(data["tests"]) == sum(len(v) for v in course_plan().cases.values())
    assert (tmp_path / "feedback" / "bob.html").exists() and ctx.run is None
