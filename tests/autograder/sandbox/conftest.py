"""A shared two-worker sandbox with short limits, and probes that report from inside the child.

A probe is a student function `ema` whose body computes a string `result`; the child returns it
as a uint8 tensor, so a test can read what the sandboxed code could see or do.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import CaseRun, Job, JobResult, Limits, RunStatus, Sandbox, layers, procs
from course.cases.program import Call, Program, Ref

SECRET_ENV = "ALR_SANDBOX_TEST_SECRET"
LIMITS = Limits(timeout_s=4, cpu_s=3, output_mb=1, file_mb=1, tmpfs_mb=16, slot_memory_mb=3072)
EMA = Program((Call("ema", (Ref("avg"), Ref("x"), 0.9), outputs=("out",)),))


def ema_case(seed: int = 0, device: str = "cpu", case_id: str = "c1") -> CaseRun:
    rng = np.random.default_rng(seed)
    inputs = {
        "avg": rng.standard_normal((3, 4)).astype(np.float32),
        "x": rng.standard_normal((3, 4)).astype(np.float32),
    }
    return CaseRun(case_id, EMA, inputs, device)  # type: ignore[arg-type]


def probe_source(body: str) -> str:
    return (
        "import torch\n\ndef ema(avg, x, beta):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\n    return torch.tensor(list(result.encode()), dtype=torch.uint8)\n"
    )


def probe(sandbox: Sandbox, body: str) -> str:
    """Run `body` inside the sandbox; return its `result` string."""
    res = sandbox.run(Job(probe_source(body), (ema_case(),)))
    assert res.status is RunStatus.OK, (res.status, res.message)
    rec = res.cases["c1"][0]
    assert rec.error is None, rec.error
    value = rec.outputs["out"].value
    assert value is not None
    return bytes(value.astype(np.uint8)).decode()


def shown_in_tmp() -> set[str]:
    """The names a child's new /tmp shows besides its own files: the top folder of each read-only
    view the sandbox keeps under /tmp (a checkout and its .venv cloned there, as CI may do)."""
    tmp = Path("/tmp").resolve()
    names = set()
    for d in layers.python_dirs():
        path = Path(d).resolve()
        if path != tmp and path.is_relative_to(tmp):
            names.add(path.relative_to(tmp).parts[0])
    return names


def tree(pid: int) -> list[int]:
    """Every live descendant of `pid` (zombies excluded)."""
    out = []
    for p in procs.descendants(pid):
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(p)
    return out


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    os.environ[SECRET_ENV] = "hunter2"
    try:
        with Sandbox(workers=2, limits=LIMITS) as sb:
            yield sb
    finally:
        del os.environ[SECRET_ENV]


def run(sandbox: Sandbox, source: str, *cases: CaseRun) -> JobResult:
    return sandbox.run(Job(source, cases or (ema_case(),)))
