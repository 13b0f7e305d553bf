"""Does the queue benchmark run end to end, does the model beat the always-average baseline in
the worlds it is meant for, and does its teaching simulation report every policy? (Tiny sizes:
a smoke test, not the benchmark's figures.)"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "queue_eval.py"


def test_queue_eval_runs_and_reports_every_world(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("queue_eval", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["queue_eval"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        report = module.main(
            ["--learners", "25", "--students", "5", "--seed", "1", "--teach-learners", "3"]
            + ["--cap", "600"]
        )
    finally:
        del sys.modules["queue_eval"]
    assert set(report["worlds"]) == {"bkt", "exponential", "power-law"}
    for r in report["worlds"].values():
        assert r["scored"] > 100 and math.isfinite(r["model_logloss"])
        assert r["avg_auc"] == 0.5  # a constant prediction cannot discriminate
        assert 0.0 <= r["model_auc"] <= 1.0
    assert report["worlds"]["bkt"]["model_logloss"] < report["worlds"]["bkt"]["avg_logloss"]
    teaching = report["teaching"]
    assert set(teaching) == {"none", "exponential", "power-law"}
    for by_policy in teaching.values():
        assert set(by_policy) == {"queue", "gate", "round-robin", "random"}
        assert by_policy["round-robin"]["fewer_than_round_robin"] == 0.0
        assert all(0 < r["mean_items"] <= 600 for r in by_policy.values())
    none = teaching["none"]
    assert none["queue"]["mean_items"] < none["round-robin"]["mean_items"]
    assert report["speed"]["students"] == 5 and report["speed"]["end_to_end_s"] > 0
    out = capsys.readouterr().out
    assert "queues for 5 students" in out and "fewer items than round-robin" in out
