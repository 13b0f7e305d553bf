"""The red-team corpus graded as one batch next to correct submissions, with two workers.

For every hostile or broken submission in tests/fixtures/redteam (manifest.yaml gives its
threat class and verdict): the verdict holds; the correct submissions keep full marks with test
results identical to grading one alone; no process is left over; no file appears outside the
grader's output; services listening on the host's loopback receive nothing; a grader secret in
the environment is not found.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from alr.contract import MODULE_IDS
from autograder.grade import grade_batch
from autograder.sandbox import detect_level
from tests.autograder.sandbox.conftest import tree

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "redteam"
CORRECT = Path(__file__).resolve().parents[2] / "fixtures" / "submissions" / "correct.py"
MANIFEST: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text())
CLASSES = {
    "score_forgery",
    "information_theft",
    "denial_of_service",
    "robustness",
    "network",
    "concurrency",
}
SEED = 20260501
PORTS = range(47310, 47330)  # net_loopback.py scans exactly these
# Paths hostile fixtures try to create on the host; none may exist after the batch.
PLANTED = (
    "/tmp/pwned",
    "/tmp/pwned2",
    "/tmp/results.json",
    "/tmp/numpy.py",
    "/tmp/torch.py",
    "/tmp/sitecustomize.py",
    "/tmp/submission.py",
    "/tmp/fill.bin",
    "/dev/shm/answers",
    "/dev/shm/fill.bin",
    "/dev/shm/numpy.py",
    "/tmp/alr-locked",
    "/tmp/alr-note",
    "/dev/shm/alr-note",
)
#: System V keys cc_plant_state.py creates its objects under
IPC_KEYS = {"shm": 0x414C5211, "msg": 0x414C5212, "sem": 0x414C5213}
#: a .py of one 200,000-term expression (generated: 400 kB)
DEEP = "x = " + "+".join(["1"] * 200_000) + "\n\n\ndef ema(avg, x, beta):\n    return avg\n"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        detect_level().startswith("L0"),
        reason=f"the red-team batch needs bubblewrap (L1); this machine gives {detect_level()}",
    ),
]


@dataclass
class Listeners:
    tcp: list[socket.socket]
    udp: socket.socket
    unix: socket.socket

    def received(self) -> list[str]:
        got = []
        for s in [*self.tcp, self.unix]:
            s.setblocking(False)
            try:
                conn, _ = s.accept()
                conn.close()
                got.append(str(s.getsockname()))
            except BlockingIOError:
                pass
        self.udp.setblocking(False)
        try:
            self.udp.recv(100)
            got.append("udp")
        except BlockingIOError:
            pass
        return got

    def close(self) -> None:
        for s in [*self.tcp, self.udp, self.unix]:
            s.close()


def _listen() -> Listeners:
    tcp = []
    for port in PORTS:
        try:
            tcp.append(socket.create_server(("127.0.0.1", port)))
        except OSError:
            continue  # taken by something else; the others still catch a scan
    assert tcp, "no free port to listen on in the scanned range"
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for server in tcp:  # another run of this suite on the machine may hold some UDP ports
        try:
            udp.bind(("127.0.0.1", server.getsockname()[1]))
            break
        except OSError:
            continue
    else:
        raise AssertionError("no free UDP port to listen on in the scanned range")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(f"\0alr-redteam-{os.getpid()}")
    unix.listen()
    return Listeners(tcp, udp, unix)


@dataclass
class Batch:
    out: Path
    solo: Path
    results: dict[str, dict[str, Any]]
    leftovers: list[int]
    received: list[str]
    out_files: list[str]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    tmp = tmp_path_factory.mktemp("redteam")
    subs = tmp / "submissions"
    subs.mkdir()
    for name in MANIFEST:
        shutil.copy(CORPUS / name, subs / name)
    for name in ("correct_a.py", "correct_b.py"):
        shutil.copy(CORRECT, subs / name)
    huge = subs / "rb_huge.ipynb"  # over the grader's size cap: refused before parsing
    huge.write_text('{"cells": [], "x": "' + "A" * (9 << 20) + '"}')
    (subs / "rb_deep_expression.py").write_text(DEEP)
    shutil.copy(CORRECT, tmp / "correct_a.py")
    before = set(tree(os.getpid()))
    listeners = _listen()
    os.environ["ALR_REDTEAM_SECRET"] = "hunter2"
    try:
        grade_batch([tmp / "correct_a.py"], out=tmp / "solo", workers=1, seed=SEED, timeout=5)
        grade_batch(
            sorted(subs.iterdir()),
            out=tmp / "out",
            workers=2,
            seed=SEED,
            timeout=5,
            min_sandbox="L1",
        )
        received = listeners.received()
    finally:
        del os.environ["ALR_REDTEAM_SECRET"]
        listeners.close()
    out = tmp / "out"
    results = {s: _merged(out / s) for s in {p.parent.name for p in out.glob("*/*.json")}}
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    leftovers = sorted(set(tree(os.getpid())) - before)
    yield Batch(out, tmp / "solo", results, leftovers, received, files)


def _merged(folder: Path) -> dict[str, Any]:
    """A student's results (one per module, or one unscoped error) as one document."""
    docs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    return {
        "score": sum(d["score"] for d in docs),
        "max_score": sum(d["max_score"] for d in docs),
        "output": "\n".join(d["output"] for d in docs),
        "extra_data": docs[0]["extra_data"],
        "tests": [t for d in docs for t in d["tests"]],
    }


def test_the_corpus_covers_every_threat_class() -> None:
    """Are there at least 40 hostile or broken submissions, every class of the threat model
    represented, and exactly the files the manifest describes?"""
    assert len(MANIFEST) >= 40
    assert {spec["threat"] for spec in MANIFEST.values()} == CLASSES
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb")}
    assert on_disk == set(MANIFEST)


def _value_tests(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in result["tests"] if t["extra_data"]["device"] != "meta"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_hostile_submission_gets_its_verdict(batch: Batch, name: str) -> None:
    """Does each corpus submission get exactly its expected verdict (no credit, or full marks
    on the functions it answers honestly), with the expected message?"""
    spec = MANIFEST[name]
    result = batch.results[Path(name).stem]
    assert result["extra_data"]["sandbox"] == detect_level()
    # points are at stake, or the file could not be given a module (an error, blank everywhere)
    assert result["max_score"] > 0 or result["extra_data"].get("error"), result["output"]
    expect = spec["expect"]
    if not detect_level().endswith("+seccomp"):
        expect = spec.get("without_seccomp", expect)
    if expect == "zero":
        about = set(spec.get("devices", result["extra_data"]["devices"]))
        tests = _value_tests(result)
        scored = [t["name"] for t in tests if t["extra_data"]["device"] in about and t["score"]]
        assert scored == [], scored
        others = [t for t in tests if t["extra_data"]["device"] not in about]
        right = [t for t in others if t["tags"][1] in spec.get("elsewhere", [])]
        assert all(t["status"] == "passed" for t in right), [t["name"] for t in right]
    else:
        functions = set(expect)
        mine = [t for t in result["tests"] if t["tags"][1] in functions]
        assert mine and all(t["status"] == "passed" for t in mine), [
            (t["name"], t["output"]) for t in mine if t["status"] != "passed"
        ][:3]
        assert all(t["score"] == 0 for t in _value_tests(result) if t["tags"][1] not in functions)
    if "message" in spec:
        assert spec["message"] in result["output"], result["output"]
    if "test_message" in spec:
        assert any(spec["test_message"] in t["output"] for t in result["tests"])


def test_a_200000_term_expression_is_refused_in_one_line(batch: Batch) -> None:
    """Is a .py whose one expression the parser cannot nest (RecursionError) scored zero with a
    one-line reason, as its own result, the batch going on?"""
    result = batch.results["rb_deep_expression"]
    assert result["score"] == 0 and "could not be graded" in result["output"]
    assert "RecursionError" in result["extra_data"]["error"]
    assert "\n" not in result["extra_data"]["error"]


def test_no_ipc_object_planted_in_a_slot_reaches_the_host(batch: Batch) -> None:
    """Do the System V objects planted in the sandbox appear nowhere on the host?"""
    for kind, key in IPC_KEYS.items():
        rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        assert all(int(row.split()[0]) != key for row in rows), kind


def test_oversize_notebook_is_refused_without_breaking_the_batch(batch: Batch) -> None:
    """Is a notebook over the size cap scored zero with a reason, as its own result?"""
    result = batch.results["rb_huge"]
    assert result["score"] == 0 and "could not be graded" in result["output"]


def test_correct_submissions_keep_full_marks_bit_for_bit(batch: Batch) -> None:
    """Do both correct submissions get full marks, with every test (name, score, status,
    output, diagnosis) identical to grading the same file alone with the same seed?"""
    solo = _merged(batch.solo / "correct_a")
    keys = ("name", "score", "max_score", "status", "output", "tags", "extra_data")
    for student in ("correct_a", "correct_b"):
        result = batch.results[student]
        assert result["score"] == result["max_score"] == solo["score"]
        assert [[t[k] for k in keys] for t in result["tests"]] == [
            [t[k] for k in keys] for t in solo["tests"]
        ]


def test_no_process_is_left_behind(batch: Batch) -> None:
    """After the batch, is no process left below the test process (workers, children,
    daemonised grandchildren, fork-bomb offspring)?"""
    assert batch.leftovers == []


def test_no_file_appears_outside_the_grader_output(batch: Batch) -> None:
    """Is the output folder only each submission's results (with feedback pages beside them)
    plus the summary, and did none of the files the corpus plants appear on the host?"""
    students = {Path(n).stem for n in MANIFEST} | {"correct_a", "correct_b", "rb_huge"}
    students |= {"rb_deep_expression"}
    outside = [f for f in batch.out_files if "/" not in f]
    assert outside == ["summary.csv"]
    assert {f.split("/")[0] for f in batch.out_files if "/" in f} == students
    for f in batch.out_files:
        if "/" in f:
            student, name = f.split("/")
            module = name.rsplit(".", 1)[0]
            assert name.endswith((".json", ".html")) and (
                module in MODULE_IDS or module.startswith("unscoped-")
            ), f
    assert [p for p in PLANTED if os.path.exists(p)] == []
    assert not (Path.home() / "fill.bin").exists()


def test_loopback_services_were_not_reached(batch: Batch) -> None:
    """Did the TCP, UDP and abstract unix services on the host's loopback get no connection or
    datagram from the corpus?"""
    assert batch.received == []
