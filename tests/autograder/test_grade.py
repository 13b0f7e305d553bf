"""End to end: `grade_batch` over the fixture submissions, through the real sandbox.

One batch (module fixture) grades: the correct submission, the equivalent forms, the mistake
fixtures (grouped so that each group changes distinct functions of the correct submission), the
module notebook, the nbformat 3 notebook, the broken files and a huge file. The expected verdicts
of each mistake come from its registered wrong variant (trusted code run here on the same cases):
the sandboxed fixture must fail exactly the cases its variant fails, with the variant's id.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from alr.contract import FUNCTION_MODULE, MODULE_FUNCTIONS
from autograder.diagnosis.variants import VARIANTS
from autograder.grade import grade_batch
from autograder.plan import build_plan
from autograder.stages.compare import compare_outputs
from course.cases.expand import CaseKind
from course.secret import Inputs
from tests.autograder.grading_helpers import SUBMISSIONS, course_exercises, student_records

pytestmark = pytest.mark.slow
SEED = 1234
MISTAKES = SUBMISSIONS / "mistakes"
STRUCTURAL = {"mutates_input", "wrong_dtype", "wrong_device"}


def _function_of(path: Path) -> str:
    """The graded function a mistake fixture redefines (its only top-level def)."""
    (name,) = re.findall(r"^def (\w+)\(", path.read_text(), flags=re.M)
    return name


def _groups() -> list[dict[str, str]]:
    """Mistake ids grouped so that no group changes the same function twice."""
    groups: list[dict[str, str]] = []
    for path in sorted(MISTAKES.glob("*.py")):
        function = _function_of(path)
        group = next((g for g in groups if function not in g.values()), None)
        if group is None:
            group = {}
            groups.append(group)
        group[path.stem] = function
    return groups


@pytest.fixture(scope="module")
def plan():
    return build_plan(course_exercises(), seed=SEED, devices=("cpu",))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade every fixture once; returns (summary, results by student, submission folder)."""
    src = tmp_path_factory.mktemp("submissions")
    correct = (SUBMISSIONS / "correct.py").read_text()
    (src / "correct.py").write_text(correct)
    (src / "equivalent.py").write_text(correct + (SUBMISSIONS / "equivalent_forms.py").read_text())
    for i, group in enumerate(_groups()):
        text = correct + "".join((MISTAKES / f"{m}.py").read_text() for m in group)
        (src / f"mistakes{i}.py").write_text(text)
    for path in [
        *(SUBMISSIONS / "notebooks").iterdir(),
        *(SUBMISSIONS / "broken").iterdir(),
        SUBMISSIONS / "html_in_errors.py",
    ]:
        (src / path.name).write_bytes(path.read_bytes())
    (src / "two_functions.py").write_text(
        "def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n\n"
        "def adam_first_moment(m, grad, beta1=0.9):\n    return ema(m, grad, beta1)\n"
    )
    with (src / "huge.py").open("wb") as fh:
        fh.truncate(9 * 2**20)
    out = tmp_path_factory.mktemp("results")
    summary = grade_batch(sorted(src.iterdir()), out=out, workers=2, seed=SEED, device="cpu")
    results = {o.student: _merged(o.results) for o in summary.outcomes}
    return summary, results, out


def _merged(results) -> dict:
    """A student's results (one per module) as one document: the scores summed, every test."""
    docs = [r.to_dict() for r in results]
    return {
        "score": sum(d["score"] for d in docs),
        "max_score": sum(d["max_score"] for d in docs),
        "output": "\n".join(d["output"] for d in docs),
        "extra_data": docs[0]["extra_data"],
        "modules": [d["extra_data"]["module"] for d in docs],
        "tests": [t for d in docs for t in d["tests"]],
    }


def _points(plan, functions) -> float:
    return sum(plan.points[f] for f in functions)


def _by_function(result) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for t in result["tests"]:
        out.setdefault(t["extra_data"]["function"], []).append(t)
    return out


def test_the_correct_submission_gets_full_marks_in_float32_and_float64(batch, plan):
    """Does the correct submission pass every case of all 24 functions, both dtypes?"""
    _, results, _ = batch
    r = results["correct"]
    assert r["score"] == r["max_score"] == pytest.approx(_points(plan, FUNCTION_MODULE))
    assert {t["extra_data"]["dtype"] for t in r["tests"]} == {"float32", "float64"}
    assert all(t["status"] == "passed" for t in r["tests"])
    assert len({t["extra_data"]["function"] for t in r["tests"]}) == 24


def test_equivalent_forms_get_full_marks_and_no_diagnosis(batch):
    """Are lerp EMAs, mean(C) normalisers, HF eps1, lr folded into LARS's buffer accepted?"""
    _, results, _ = batch
    r = results["equivalent"]
    assert r["score"] == r["max_score"]
    assert not any(t["extra_data"]["diagnosis"] for t in r["tests"])


def _expected_failures(plan, function: str, mistake: str) -> set[str]:
    """CPU case ids the trusted variant of `mistake` fails."""
    variant = next(v for v in VARIANTS[function] if v.misconception == mistake)
    return {
        case.case_id
        for case in plan.cases[function]
        if case.device == "cpu"
        and not compare_outputs(
            case, student_records(case, variant.function), plan.expected[case.case_id]
        ).passed
    }


@pytest.mark.parametrize("group", range(len(_groups())))
def test_each_mistake_loses_points_on_its_function_only_and_gets_its_id(batch, plan, group):
    """Does every mistake fixture fail its function's cases (exactly those its variant fails),
    get its misconception id on them, and leave every other function at full marks?"""
    _, results, _ = batch
    mistakes = _groups()[group]
    tests = _by_function(results[f"mistakes{group}"])
    for mistake, function in mistakes.items():
        failed = {t["name"] for t in tests[function] if t["status"] == "failed"}
        assert failed, f"{mistake}: no failing case"
        ids = {t["extra_data"]["diagnosis"] for t in tests[function] if t["status"] == "failed"}
        assert mistake in ids
        cpu_named = [
            t
            for t in tests[function]
            if t["extra_data"]["diagnosis"] and t["extra_data"]["device"] == "cpu"
        ]
        assert all(mistake in t["tags"] for t in cpu_named), mistake
        if mistake not in STRUCTURAL:  # CPU cases: the score the variant predicts, exactly
            expected = _expected_failures(plan, function, mistake)
            cases = {c.case_id: c for c in plan.cases[function]}
            if any(cases[c].kind is CaseKind.CORE for c in expected):  # edge cases then count 0
                expected |= {c for c, case in cases.items() if case.kind is not CaseKind.CORE}
            cpu = [c for c in plan.cases[function] if c.device == "cpu"]
            share = plan.points[function] / len(tests[function])
            got = sum(t["score"] for t in tests[function] if t["extra_data"]["device"] == "cpu")
            want = share * sum(c.case_id not in expected for c in cpu)
            assert got == pytest.approx(want, abs=1e-5), mistake
    for function, cases in tests.items():
        if function not in mistakes.values():
            assert all(t["status"] == "passed" for t in cases), function


def test_structural_mistakes_fail_where_they_show(batch):
    """In place -> every non-meta ema case; float32 buffer -> float64 cases; .cpu() -> meta."""
    _, results, _ = batch
    by_student = {
        _groups()[i][m]: _by_function(results[f"mistakes{i}"])
        for i in range(len(_groups()))
        for m in ("mutates_input", "wrong_dtype", "wrong_device")
        if m in _groups()[i]
    }
    ema = by_student["ema"]["ema"]
    failed = [t for t in ema if t["status"] == "failed" and t["extra_data"]["failure"] != "gated"]
    assert {t["extra_data"]["device"] for t in failed} == {"cpu"}
    fmt = by_student["first_moment_trajectory"]["first_moment_trajectory"]
    cpu_failed = {t["extra_data"]["dtype"] for t in fmt if t["status"] == "failed"} - {"meta"}
    assert "float64" in cpu_failed
    assert all(
        t["status"] == "passed"
        for t in fmt
        if t["extra_data"]["dtype"] == "float32" and t["extra_data"]["device"] == "cpu"
    )
    lr = by_student["effective_lr"]["effective_lr"]
    assert [t["extra_data"]["device"] for t in lr if t["status"] == "failed"] == ["meta"]


def test_a_module_notebook_grades_its_module_only(batch, plan):
    """Is module-3-1.ipynb graded on 3.1's functions only, in full despite magics, !pip,
    input(), an endless loop and a broken cell, with notes on what was removed?"""
    _, results, _ = batch
    r = results["module-3-1"]
    assert r["modules"] == ["3.1"]
    assert r["score"] == r["max_score"] == pytest.approx(_points(plan, MODULE_FUNCTIONS["3.1"]))
    assert "`import solutions` (cell 2) was removed" in r["output"]
    assert "cell 8 was skipped" in r["output"]


def test_an_old_notebook_without_a_module_is_an_error_that_scores_nothing(batch):
    """Is the nbformat 3 notebook, which names no module, one unscoped error result saying how
    to give it one, with no tests (blank in every module, never 0)?"""
    _, results, _ = batch
    r = results["nbformat3"]
    assert r["modules"] == [None] and r["tests"] == [] and r["max_score"] == 0
    assert "--module" in r["extra_data"]["error"]


def test_a_py_file_grades_the_modules_whose_functions_it_defines(batch, plan):
    """Does a .py defining ema and adam_first_moment grade modules 3.1 and 3.2 only, with each
    missing function of those modules scoring 0 and saying it is not defined?"""
    _, results, _ = batch
    r = results["two_functions"]
    assert r["modules"] == ["3.1", "3.2"]
    assert r["max_score"] == pytest.approx(
        _points(plan, MODULE_FUNCTIONS["3.1"] + MODULE_FUNCTIONS["3.2"])
    )
    assert r["score"] == pytest.approx(_points(plan, ["ema", "adam_first_moment"]))
    rms = [t for t in r["tests"] if t["extra_data"]["function"] == "rmsprop_step"]
    assert rms and all(t["output"] == "rmsprop_step is not defined in your submission" for t in rms)
    assert "Not defined in your submission: coupled_l2_grad, rmsprop_step" in r["output"]


@pytest.mark.parametrize(
    ("student", "message"),
    [
        ("empty", "the file is empty"),
        ("non_utf8", "not UTF-8"),
        ("bad_json", "not valid JSON"),
        ("not_a_notebook", "not a Jupyter notebook"),
        ("syntax_error", "does not parse (SyntaxError"),
        ("huge", "over the 8 MiB limit"),
    ],
)
def test_a_broken_file_becomes_an_error_result_and_the_batch_goes_on(batch, plan, student, message):
    """Does each broken file (of no known module) get one error result with its message and no
    points at stake, an error row in the summary, while the batch completes?"""
    summary, results, out = batch
    r = results[student]
    assert r["score"] == 0 and r["max_score"] == 0 and r["modules"] == [None]
    assert message in r["extra_data"]["error"] and message in r["output"]
    rows = {row["student"]: row for row in csv.DictReader((out / "summary.csv").open())}
    assert rows[student]["status"] == "error" and message in rows[student]["error"]
    assert {o.status for o in summary.outcomes if o.student == student} == {"error"}


def test_result_files_are_gradescope_results_with_the_project_fields(batch):
    """Does every result have Gradescope's fields, status passed iff score == max_score, tags
    [module, function, diagnosis?], and the project's extra_data keys?"""
    summary, results, out = batch
    files = sorted(out.glob("*/*.json"))
    assert len(results) == len(summary.outcomes) == len({p.parent for p in files})
    assert len(files) == sum(len(o.results) for o in summary.outcomes)
    fingerprint = Inputs(SEED, "").fingerprint
    for path in files:
        r = json.loads(path.read_text())
        assert set(r) == {"score", "max_score", "execution_time", "output", "extra_data", "tests"}
        extra = r["extra_data"]
        assert extra["student"] == path.parent.name and extra["inputs"] == fingerprint
        assert path.stem == (extra["module"] or path.stem)
        assert extra["devices"] == ["cpu"] and len(extra["submission_sha256"]) in (0, 64)
        assert sum(t["score"] for t in r["tests"]) == pytest.approx(r["score"], abs=1e-9)
        for t in r["tests"]:
            assert (t["status"] == "passed") == (t["score"] == t["max_score"])
            e = t["extra_data"]
            assert e["module"] == extra["module"]
            assert set(e) == {
                "module", "function", "device", "dtype", "diagnosis", "case", "failure",
                "errors", "tolerance",
            }  # fmt: skip
            assert t["tags"] == [e["module"], e["function"]] + (
                [e["diagnosis"]] * bool(e["diagnosis"])
            )


def test_feedback_escapes_student_text_and_shows_no_expected_values(batch, plan):
    """Is HTML from a student's error message escaped, and do no reference values of the
    cases appear in any feedback page or result?"""
    _, results, out = batch
    page = "".join(p.read_text() for p in (out / "html_in_errors").glob("*.html"))
    assert "<script>" not in page and "&lt;script&gt;alert(" in page
    pages = "".join(p.read_text() for p in out.glob("*/*.html"))
    outputs = "".join(json.dumps(r) for r in results.values())
    for case in plan.cases["adam_step"][:4]:
        for outcome in plan.expected[case.case_id]:
            theta = next(iter(outcome.values.values())).flatten()[:3]
            for x in theta.tolist():
                for text in (f"{x:.6f}", f"{x:.5g}"):
                    assert text not in pages and text not in outputs


def test_a_failing_trajectory_is_plotted_in_the_feedback(batch):
    """Does a student with a wrong multi-step rule get an inline SVG plot and the hint?"""
    _, _, out = batch
    page = (out / "mistakes0" / "4.1.html").read_text()
    assert "<svg" in page and "relative error of the" in page
    assert "Look at `adam_step` (line" in page


def test_a_hanging_function_spends_the_submissions_time_budget(tmp_path):
    """When one function never returns, do the functions before it keep their points, and do
    it and the functions after it get time-limit verdicts (one time budget per submission)?"""
    exercises = [e for e in course_exercises() if FUNCTION_MODULE[e.function] in ("3.1", "3.2")]
    path = tmp_path / "hang.py"
    path.write_text(
        (SUBMISSIONS / "correct.py").read_text()
        + (SUBMISSIONS / "hangs_in_one_function.py").read_text()
    )
    summary = grade_batch(
        [path],
        out=tmp_path / "out",
        workers=1,
        timeout=4,
        seed=SEED,
        exercises=exercises,
        device="cpu",
    )
    r = _merged(summary.outcomes[0].results)
    tests = _by_function(r)
    order = MODULE_FUNCTIONS["3.1"] + MODULE_FUNCTIONS["3.2"]
    assert set(tests) == set(order)
    hung = order.index("first_moment_trajectory")
    for function, cases in tests.items():
        passed = {t["status"] for t in cases}
        assert passed == ({"failed"} if order.index(function) >= hung else {"passed"})
    assert "for all your functions together was used up" in r["output"]
