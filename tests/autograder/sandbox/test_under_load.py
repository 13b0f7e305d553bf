"""Verdicts that hold under load: the sandbox's memory, time and process limits give the same
verdict while a CPU hog runs on every core, as they do on an idle machine (a grading server is
rarely idle, and a verdict that depends on the machine's load would grade by luck)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from autograder.sandbox import Job, RunStatus, Sandbox
from tests.autograder.sandbox.conftest import LIMITS, ema_case

pytestmark = pytest.mark.slow

CORRECT = "def ema(avg, x, beta):\n    return beta * avg + (1 - beta) * x\n"
VERDICTS = [
    ("correct", CORRECT, RunStatus.OK),
    ("memory", "def ema(a, x, b):\n    return bytearray(3 << 30)\n", RunStatus.MEMORY),
    ("busy loop", "def ema(a, x, b):\n    while True:\n        pass\n", RunStatus.TIMEOUT),
    ("sleep", "import time\ndef ema(a, x, b):\n    time.sleep(60)\n", RunStatus.TIMEOUT),
    (
        "fork bomb",
        "import os\ndef ema(a, x, b):\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n",
        RunStatus.TIMEOUT,
    ),
]


@pytest.fixture(scope="module")
def hogs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """A busy process on every core for the whole module."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    yield procs
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture(scope="module")
def loaded_sandbox(hogs: list[subprocess.Popen[bytes]]) -> Iterator[Sandbox]:
    with Sandbox(workers=1, limits=LIMITS) as sandbox:
        yield sandbox


@pytest.mark.parametrize(("what", "source", "status"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_limits_give_the_same_verdict_beside_a_cpu_hog_on_every_core(
    hogs: list[subprocess.Popen[bytes]],
    loaded_sandbox: Sandbox,
    what: str,
    source: str,
    status: RunStatus,
) -> None:
    """With every core busy, is each submission still stopped by its own limit (memory, wall
    clock, processes) and is a correct one still graded in full?"""
    assert all(p.poll() is None for p in hogs)  # the load is really there
    res = loaded_sandbox.run(Job(source, (ema_case(),)))
    assert res.status is status, (what, res.status, res.message)
    assert loaded_sandbox.run(Job(CORRECT, (ema_case(),))).status is RunStatus.OK
