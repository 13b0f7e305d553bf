"""`alr demo`: one real run (the console script, in a fresh folder) shared by every check.

The sample class is read from the bundled class.csv, so each check follows from the data: the
correct student gets full marks, each mistake student loses points on exactly the replaced
function and has the misconception named, hostile students gain nothing and harm nobody, broken
submissions get a clear error, and every later step (quizzes, queues, exports, report) has a file
per student.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from alr.contract import FUNCTION_MODULE
from alr.results import read_results, result_files
from cli.demo_class import SampleStudent, SubmissionKind, read_class, replace_functions

pytestmark = pytest.mark.slow

CLASS = read_class()
BY_KIND = {k: [s for s in CLASS if s.kind is k] for k in SubmissionKind}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, float]:
    """Run `alr demo --out alr-demo` from an empty working directory (as the README says)."""
    cwd = tmp_path_factory.mktemp("demo")
    alr = Path(sys.executable).with_name("alr")
    env = {**os.environ, "PATH": f"{alr.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    proc = subprocess.run(
        [str(alr), "demo"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"alr demo took {elapsed:.0f} s")  # shown with -s; the budget is checked by hand
    return cwd / "alr-demo", proc.stdout, elapsed


def result(demo: tuple[Path, str, float], student: str) -> dict:
    """A student's results (one per module, or one unscoped error) as one document."""
    matrix = read_results(demo[0] / "results")
    docs = [r.to_dict() for r in matrix.of(student)]
    docs += [r.to_dict() for r in matrix.unscoped if r.student == student]
    return {
        "score": sum(d["score"] for d in docs),
        "max_score": sum(d["max_score"] for d in docs),
        "output": "\n".join(d["output"] for d in docs),
        "modules": [d["extra_data"]["module"] for d in docs],
        "extra_data": docs[0]["extra_data"],
        "tests": [t for d in docs for t in d["tests"]],
    }


def replaced(s: SampleStudent) -> set[str]:
    """The graded functions a sample's snippet replaces."""
    folder = "mistakes" if s.kind is SubmissionKind.MISTAKE else "hostile"
    from cli.demo_class import DATA, function_sources

    snippet = (DATA / folder / f"{s.detail}.py.txt").read_text()
    return set(function_sources(snippet)) & set(FUNCTION_MODULE)


def by_function(doc: dict) -> dict[str, tuple[float, float, set]]:
    out: dict[str, tuple[float, float, set]] = {}
    for t in doc["tests"]:
        fn = t["extra_data"]["function"]
        score, top, named = out.get(fn, (0.0, 0.0, set()))
        named = named | ({t["extra_data"]["diagnosis"]} - {None})
        out[fn] = (score + t["score"], top + t["max_score"], named)
    return out


def test_prints_where_everything_is_and_every_listed_path_exists(demo) -> None:
    out, stdout, _ = demo
    listing = stdout.split("Where everything is:")[1].strip().splitlines()
    assert len(listing) >= 10
    for line in listing:
        path = line.split("  ")[-1].strip().replace("<student>", "*").replace("<module>", "*")
        assert list(out.parent.glob(path)), line


def test_correct_student_gets_full_marks(demo) -> None:
    (alice,) = BY_KIND[SubmissionKind.CORRECT]
    doc = result(demo, alice.student)
    assert doc["score"] == doc["max_score"] > 0
    assert len(doc["modules"]) == 10


@pytest.mark.parametrize("s", BY_KIND[SubmissionKind.MISTAKE], ids=lambda s: s.detail)
def test_each_mistake_loses_points_only_on_its_function_and_is_named(demo, s) -> None:
    functions = by_function(result(demo, s.student))
    (wrong,) = replaced(s)
    score, top, named = functions[wrong]
    assert score < top and s.detail in named, (wrong, score, top, named)
    for fn, (score, top, _) in functions.items():
        if fn != wrong:
            assert score == top, f"{fn} lost points although only {wrong} was replaced"


def test_score_forgery_gains_nothing(demo) -> None:
    """mallory patches np/torch.allclose and submits adam_step without bias correction."""
    functions = by_function(result(demo, "mallory"))
    score, top, named = functions["adam_step"]
    assert score < top and "no_bias_correction" in named


def test_snooping_finds_nothing_and_leaves_other_functions_alone(demo) -> None:
    """oscar's ema reads files, env and heap; it falls back to a wrong formula, so every value
    case of ema fails (only the shape-and-dtype check on meta tensors can pass)."""
    doc = result(demo, "oscar")
    ema = [t for t in doc["tests"] if t["extra_data"]["function"] == "ema"]
    values = [t for t in ema if t["extra_data"]["device"] != "meta"]
    assert values and all(t["score"] == 0 for t in values)
    functions = by_function(doc)
    assert all(s == t for fn, (s, t, _) in functions.items() if fn != "ema")


def test_endless_loop_is_stopped_and_reported(demo) -> None:
    doc = result(demo, "trudy")
    assert doc["score"] < doc["max_score"]
    text = json.dumps(doc).lower()
    assert "time" in text and ("limit" in text or "timed out" in text)


@pytest.mark.parametrize("s", BY_KIND[SubmissionKind.BROKEN], ids=lambda s: s.detail)
def test_broken_submissions_get_a_clear_error_and_zero(demo, s) -> None:
    """A syntax error is reported with its line (no module known: one error result, blank in
    every module); an empty notebook as functions not defined, zero in its own module."""
    doc = result(demo, s.student)
    assert doc["score"] == 0 and len(doc["modules"]) == 1
    said = doc["extra_data"].get("error") or doc["output"]
    assert "does not parse" in said or "Not defined in your submission" in said, said


def test_notebook_submission_is_graded_for_its_module_only(demo) -> None:
    (judy,) = BY_KIND[SubmissionKind.NOTEBOOK]
    doc = result(demo, judy.student)
    assert {t["extra_data"]["module"] for t in doc["tests"]} == {judy.detail}
    assert doc["score"] == doc["max_score"] > 0


def test_summary_rows_and_feedback_pages_where_a_case_failed(demo) -> None:
    """Is there a summary row per result, and a feedback page beside exactly the results with a
    failed case or an error?"""
    out = demo[0] / "results"
    rows = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text())))
    assert sorted({r["student"] for r in rows}) == sorted(s.student for s in CLASS)
    for path in result_files(out):
        doc = json.loads(path.read_text())
        failed = doc["extra_data"].get("error") or any(
            t["status"] == "failed" for t in doc["tests"]
        )
        page = path.with_suffix(".html")
        assert page.exists() == bool(failed), path
        if failed:
            assert page.stat().st_size > 200


def test_the_class_graded_again_gets_byte_identical_scores(demo, tmp_path) -> None:
    """Graded again into a fresh folder with the course secret, does every (student, module)
    cell get exactly the same score, and every test the same status?"""
    out = demo[0]
    alr = Path(sys.executable).with_name("alr")
    again = tmp_path / "again"
    secret = out / "course" / "build" / "course-secret.txt"
    cmd = [
        str(alr),
        "grade",
        str(out / "submissions"),
        "--out",
        str(again),
        "--secret",
        str(secret),
    ]
    subprocess.run(cmd + ["--timeout", "10"], check=True, capture_output=True, timeout=600)
    first, second = read_results(out / "results"), read_results(again)
    assert first.cells.keys() == second.cells.keys()
    for key, r in first.cells.items():
        other = second.cells[key]
        assert repr(r.score) == repr(other.score), key
        assert [t.passed for t in r.tests] == [t.passed for t in other.tests], key


def test_quiz_scores_for_students_who_answered_and_a_queue_for_everyone(demo) -> None:
    out = demo[0]
    answered = {s.student for s in CLASS if s.quiz_accuracy is not None}
    assert {p.stem for p in (out / "results" / "quizzes").glob("*.json")} == answered
    assert {p.stem for p in (out / "results" / "queues").glob("*.json")} == {
        s.student for s in CLASS
    }


def test_exports_hold_the_class(demo) -> None:
    x = demo[0] / "exports"
    canvas = list(csv.reader(io.StringIO((x / "canvas-grades.csv").read_text())))
    assert canvas[1][0] == "Points Possible"
    assert {r[3] for r in canvas[2:]} == {s.student for s in CLASS}  # not 'eve': no result
    moodle = (x / "moodle-grades.csv").read_text()
    assert all(s.email in moodle for s in CLASS)
    assert {p.stem for p in (x / "lti-scores").glob("*.json")} >= {s.student for s in CLASS}
    gradebook = demo[0] / "course" / "build" / "nbgrader" / "gradebook.db"
    with sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True) as db:
        ids = {r[0] for r in db.execute("select id from student")}
    assert ids == {s.student for s in CLASS}
    names = zipfile.ZipFile(x / "gradescope-autograder.zip").namelist()
    assert "setup.sh" in names and "run_autograder" in names


def test_class_report_shows_the_class(demo) -> None:
    html = (demo[0] / "report.html").read_text()
    assert f"{len(CLASS)} students" in html
    for s in BY_KIND[SubmissionKind.MISTAKE]:
        assert f"<code>{s.detail}</code>" in html, s.detail
    attention = html.split('id="attention"')[1].split("</section>")[0]
    for s in BY_KIND[SubmissionKind.BROKEN]:
        assert f">{s.student}<" in attention


def test_replace_functions_swaps_exactly_the_named_function() -> None:
    """The sample builder replaces the snippet's function in place and keeps the others."""
    source = "import torch\n\n\ndef a(x):\n    return x\n\n\ndef b(x):\n    return 2 * x\n"
    out = replace_functions(source, "# wrong b\ndef b(x):\n    return 3 * x\n")
    expected = "import torch\n\n\ndef a(x):\n    return x\n\n\n# wrong b\ndef b(x):\n"
    assert out == expected + "    return 3 * x\n"
    with pytest.raises(ValueError, match="lacks"):
        replace_functions(source, "def c(x):\n    return x\n")


def test_demo_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    """`--out` must be new, empty or an earlier demo's: other files are never overwritten."""
    from alr.errors import AlrError
    from cli.demo import MARKER, prepare

    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(AlrError, match="not written by `alr demo`; pass another --out"):
        prepare(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]
    fresh = prepare(tmp_path / "new")
    assert (fresh.out / MARKER).exists() and (fresh.out / "rosters" / "canvas-roster.csv").exists()
    prepare(tmp_path / "new")  # an earlier demo's folder is reused
