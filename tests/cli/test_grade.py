"""`alr grade` through click: exit codes, files, the batch seed, skipping unchanged submissions."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from click.testing import CliRunner

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
    """Does `alr grade` exit 0 and write results, feedback, summary and the seed; does a re-run
    skip unchanged files (reusing the seed), regrade a changed one, and --redo regrade all?"""
    out = tmp_path / "out"
    files = [subs / "alice.ipynb", subs / "bob.py"]
    code, output = _grade(*files, "--out", out, "--workers", "2", "--seed", "77")
    assert code == 0, output
    assert "graded 1, unreadable 1, unchanged 0 (seed 77" in output
    alice = json.loads((out / "alice.json").read_text())
    assert alice["score"] == alice["max_score"] == 10 and alice["extra_data"]["seed"] == 77
    assert (out / "feedback" / "alice.html").exists() and (out / "summary.csv").exists()
    assert json.loads((out / ".batch.json").read_text()) == {"seed": 77}
    before = (out / "alice.json").read_bytes()

    code, output = _grade(*files, "--out", out)
    assert code == 0 and "graded 0, unreadable 0, unchanged 2 (seed 77" in output
    assert (out / "alice.json").read_bytes() == before

    (subs / "bob.py").write_text("def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n")
    code, output = _grade(*files, "--out", out, "--workers", "1")
    assert "graded 1, unreadable 0, unchanged 1" in output
    bob = json.loads((out / "bob.json").read_text())
    assert bob["score"] == 2 and "error" not in bob["extra_data"]
    rows = (out / "summary.csv").read_text().splitlines()
    assert rows[0].startswith("student,score,max_score,status") and len(rows) == 3
    assert rows[1].startswith("alice,10,10,skipped") and rows[2].startswith("bob,2,81,graded")

    code, output = _grade(*files, "--out", out, "--redo", "--workers", "1")
    assert "graded 2, unreadable 0, unchanged 0" in output

    # a result from other devices (say, a GPU run) is regraded on the devices of this run
    alice["extra_data"]["devices"] = ["cpu", "cuda"]
    (out / "alice.json").write_text(json.dumps(alice))
    code, output = _grade(*files, "--out", out, "--workers", "1")
    assert "graded 1, unreadable 0, unchanged 1" in output
    assert json.loads((out / "alice.json").read_text())["extra_data"]["devices"] == ["cpu"]


def test_two_files_for_one_student_are_refused(subs, tmp_path):
    """Do alice.ipynb and alice.py in one batch stop with a clear one-line error (exit 1)?"""
    shutil.copy(subs / "bob.py", subs / "alice.py")
    code, output = _grade(subs / "alice.ipynb", subs / "alice.py", "--out", tmp_path / "o")
    assert code == 1 and "two submissions for student 'alice'" in output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a CPU-only machine")
def test_asking_for_cuda_without_a_gpu_is_an_error(subs, tmp_path):
    """Does --device cuda on a CPU-only machine say so and exit 1?"""
    code, output = _grade(subs / "bob.py", "--out", tmp_path / "o", "--device", "cuda")
    assert code == 1 and "no CUDA device is available" in output
