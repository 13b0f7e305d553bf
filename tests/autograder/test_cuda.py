"""The GPU path: with CUDA present, every case also runs on CUDA (skipped without a GPU)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from autograder.grade import grade_batch
from tests.autograder.grading_helpers import SUBMISSIONS, course_exercises

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.slow,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="CUDA is not available on this machine"
    ),
]


def test_auto_grades_on_cpu_and_cuda_and_the_correct_submission_passes_both(tmp_path):
    """With --device auto on a GPU machine, does the correct submission pass every case on CPU
    and on CUDA (TF32 off), and does a result moved to the CPU fail only its CUDA cases?"""
    src = tmp_path / "in"
    src.mkdir()
    correct = (SUBMISSIONS / "correct.py").read_text()
    (src / "correct.py").write_text(correct)
    moved = correct + "\n\ndef ema(avg, x, beta):\n    return (beta * avg + (1 - beta) * x).cpu()\n"
    (src / "moved.py").write_text(moved)
    shutil.copy(SUBMISSIONS / "notebooks" / "module-3-1.ipynb", src / "nb.ipynb")
    summary = grade_batch(
        sorted(src.iterdir()), out=tmp_path / "out", workers=2, seed=3, exercises=course_exercises()
    )
    assert summary.devices == ("cpu", "cuda")
    r = json.loads((tmp_path / "out" / "correct.json").read_text())
    assert r["extra_data"]["devices"] == ["cpu", "cuda"]
    assert {t["extra_data"]["device"] for t in r["tests"]} == {"cpu", "cuda"}
    assert r["score"] == r["max_score"]
    m = json.loads((tmp_path / "out" / "moved.json").read_text())
    failed = [t for t in m["tests"] if t["status"] == "failed"]
    assert failed and {t["extra_data"]["function"] for t in failed} == {"ema"}
    assert {t["extra_data"]["device"] for t in failed} == {"cuda"}
    assert {t["extra_data"]["diagnosis"] for t in failed} == {"wrong_device"}
