"""`alr grade` through click: results per student and module, input errors, resume, the table."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from click.testing import CliRunner

from alr.results import read_results
from cli import main
from tests.autograder.grading_helpers import SUBMISSIONS

pytestmark = pytest.mark.slow


@pytest.fixture
def subs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "notebooks" / "module-3-1.ipynb", folder / "alice.ipynb")
    shutil.copy(SUBMISSIONS / "broken" / "empty.py", folder / "bob.py")
    return folder


def _grade(*args):
    result = CliRunner().invoke(main, ["grade", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.output


def test_grading_writes_results_and_reruns_skip_unchanged_submissions(subs, tmp_path):
    """Does `alr grade` exit 0 and write OUT/<student>/<module>.json, the summary and a table; does
    a re-run skip unchanged files, regrade a changed one, and --redo regrade all?"""
    out = tmp_path / "out"
    files = [subs / "alice.ipynb", subs / "bob.py"]
    code, output = _grade(*files, "--out", out, "--workers", "2", "--seed", "77")
    assert code == 0, output
    assert "students from filename" in output and "inputs from --seed 77" in output
    assert "graded 1, unreadable 1, unchanged 0" in output
    assert "alice       10/10" in output
    matrix = read_results(out)
    alice = matrix.get("alice", "3.1")
    assert alice is not None and alice.score == alice.max_score == 10
    assert [(r.student, r.module) for r in matrix.unscoped] == [("bob", None)]
    assert not (out / "alice" / "3.1.html").exists()  # full marks: no feedback page needed
    before = (out / "alice" / "3.1.json").read_bytes()

    code, output = _grade(*files, "--out", out, "--seed", "77")
    assert code == 0 and "graded 0, unreadable 0, unchanged 2" in output
    assert (out / "alice" / "3.1.json").read_bytes() == before

    (subs / "bob.py").write_text("def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n")
    code, output = _grade(*files, "--out", out, "--workers", "1", "--seed", "77")
    assert "graded 1, unreadable 0, unchanged 1" in output
    bob = read_results(out).get("bob", "3.1")
    assert bob is not None and bob.score == 2 and bob.error is None
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [(r["student"], r["module"], r["status"]) for r in rows] == [
        ("alice", "3.1", "unchanged"),
        ("bob", "3.1", "graded"),
    ]
    assert (out / "summary.csv").read_text().startswith('"student","module","score"')

    code, output = _grade(*files, "--out", out, "--redo", "--workers", "1", "--seed", "77")
    assert "graded 2, unreadable 0, unchanged 0" in output

    # a result graded from other inputs is graded again
    code, output = _grade(*files, "--out", out, "--workers", "1", "--seed", "78")
    assert "graded 2, unreadable 0, unchanged 0" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.ipynb"], "missing.ipynb: no such file or folder"),
        (["empty/*"], "a pattern that matched nothing"),
        (["notes"], "no submissions (.ipynb or .py files) found"),
    ],
)
def test_input_errors_stop_before_anything_is_written(tmp_path, monkeypatch, args, message):
    """Is a missing path, an empty glob or a folder without submissions a one-line error with a
    non-zero exit, and is nothing written?"""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("x")
    code, output = _grade(*args, "--out", "out")
    assert code == 1 and message in output and output.count("\n") == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "build").exists()


def test_a_module_for_unlabelled_notebooks_and_the_course_secret(subs, tmp_path, monkeypatch):
    """Does --module give a notebook without metadata its module, and without --seed do the
    inputs come from the course secret, created once and reused (stable scores)?"""
    monkeypatch.chdir(tmp_path)
    nb = json.loads((subs / "alice.ipynb").read_text())
    nb["metadata"].pop("alr")
    (subs / "carol.ipynb").write_text(json.dumps(nb))
    code, output = _grade(subs / "carol.ipynb", "--out", "o1")
    assert code == 0 and "unreadable 1" in output and "could not be graded" in output
    assert "created the course secret build/course-secret.txt" in output
    (unscoped,) = read_results(tmp_path / "o1").unscoped
    assert unscoped.module is None and "--module" in (unscoped.error or "")
    code, output = _grade(subs / "carol.ipynb", "--out", "o2", "--module", "3.1")
    assert code == 0 and "created the course secret" not in output
    first = read_results(tmp_path / "o2").get("carol", "3.1")
    code, output = _grade(subs / "carol.ipynb", "--out", "o3", "--module", "3.1")
    assert "created the course secret" not in output
    again = read_results(tmp_path / "o3").get("carol", "3.1")
    assert first is not None and again is not None and first.score == again.score == 10
    assert first.inputs == again.inputs and (tmp_path / "build" / "course-secret.txt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a CPU-only machine")
def test_asking_for_cuda_without_a_gpu_is_an_error(subs, tmp_path):
    """Does --device cuda on a CPU-only machine say so and exit 1?"""
    code, output = _grade(subs / "bob.py", "--out", tmp_path / "o", "--device", "cuda", "--seed=1")
    assert code == 1 and "no CUDA device is available" in output
